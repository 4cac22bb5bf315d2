import { Address, Asset, Keypair, MuxedAccount, Account, StrKey, xdr } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { StrKeys } from "../../apps/devnet/src/strkeys";

const account = Keypair.random().publicKey();
const contract = StrKey.encodeContract(Buffer.alloc(32, 7));
const muxed = new MuxedAccount(new Account(account, "1"), "42").accountId();

/** A strkey with one character changed: the checksum no longer matches. */
function corrupt(strkey: string): string {
  const i = 10;
  return strkey.slice(0, i) + (strkey[i] === "A" ? "B" : "A") + strkey.slice(i + 1);
}

/** The error `fn` throws (its message), or undefined. */
function thrown(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe("StrKeys: memoized strkey conversions answer as the SDK calls they replace", () => {
  it("decodes and builds the same values as the SDK, first and again from the memo", () => {
    for (let round = 0; round < 2; round++) {
      expect(StrKeys.isAccount(account)).toBe(true);
      expect(StrKeys.isContract(account)).toBe(false);
      expect(StrKeys.isContract(contract)).toBe(true);
      expect(StrKeys.isAccount(contract)).toBe(false);
      expect(StrKeys.accountBytes(account).equals(StrKey.decodeEd25519PublicKey(account))).toBe(true);
      expect(StrKeys.contractBytes(contract).equals(StrKey.decodeContract(contract))).toBe(true);
      expect(StrKeys.accountId(account).toXDR("hex")).toBe(Keypair.fromPublicKey(account).xdrAccountId().toXDR("hex"));
      for (const s of [account, contract, muxed]) {
        expect(StrKeys.scAddress(s).toXDR("hex")).toBe(Address.fromString(s).toScAddress().toXDR("hex"));
        expect(StrKeys.scVal(s).toXDR("hex")).toBe(Address.fromString(s).toScVal().toXDR("hex"));
        const a = Address.fromString(s).toScAddress();
        expect(StrKeys.fromScAddress(a)).toBe(Address.fromScAddress(a).toString());
      }
      const raw = StrKey.decodeEd25519PublicKey(account);
      expect(StrKeys.encodeAccount(raw)).toBe(account);
      expect(StrKeys.encodeContract(StrKey.decodeContract(contract))).toBe(contract);
    }
  });

  it("encodes what is not a 32-byte key exactly as the SDK does", () => {
    const short = Buffer.alloc(31, 1);
    expect(StrKeys.encodeAccount(short)).toBe(StrKey.encodeEd25519PublicKey(short));
    expect(StrKeys.encodeContract(short)).toBe(StrKey.encodeContract(short));
  });

  it("still rejects invalid strkeys, with the SDK's own errors, after the valid one is memoized", () => {
    StrKeys.accountId(account);
    StrKeys.scAddress(contract);
    const bad = [corrupt(account), corrupt(contract), account.toLowerCase(), account.slice(0, 55), "", "not a strkey", Keypair.random().secret()];
    for (const s of bad) {
      for (let round = 0; round < 2; round++) {
        expect(StrKeys.isAccount(s)).toBe(false);
        expect(StrKeys.isContract(s)).toBe(false);
        expect(thrown(() => StrKeys.accountBytes(s))).toBe(thrown(() => StrKey.decodeEd25519PublicKey(s)));
        expect(thrown(() => StrKeys.contractBytes(s))).toBe(thrown(() => StrKey.decodeContract(s)));
        expect(thrown(() => StrKeys.accountId(s))).toBe(thrown(() => Keypair.fromPublicKey(s)));
        expect(thrown(() => StrKeys.scAddress(s))).toBe(thrown(() => Address.fromString(s)));
        expect(thrown(() => StrKeys.scAddress(s))).toBeDefined();
      }
    }
  });

  it("refuses a valid strkey of the other kind as the SDK does", () => {
    expect(thrown(() => StrKeys.accountBytes(contract))).toBe(thrown(() => StrKey.decodeEd25519PublicKey(contract)));
    expect(thrown(() => StrKeys.contractBytes(account))).toBe(thrown(() => StrKey.decodeContract(account)));
    expect(thrown(() => StrKeys.accountId(contract))).toBe(thrown(() => Keypair.fromPublicKey(contract)));
    expect(thrown(() => StrKeys.accountBytes(contract))).toBeDefined();
  });

  it("hands out copies: changing what one caller got changes nothing for the next", () => {
    const first = StrKeys.accountBytes(account);
    first.fill(0);
    expect(StrKeys.accountBytes(account).equals(StrKey.decodeEd25519PublicKey(account))).toBe(true);
    const id = StrKeys.accountId(account);
    id.ed25519().fill(0);
    expect(StrKeys.accountId(account).ed25519().equals(StrKey.decodeEd25519PublicKey(account))).toBe(true);
  });

  it("builds the trustline asset XDR the SDK builds", () => {
    const issuer = Keypair.random().publicKey();
    for (const asset of [new Asset("USDC", issuer), new Asset("X", issuer), new Asset("LONGERCODE12", issuer), new Asset("ABCDE", issuer), Asset.native()]) {
      expect(StrKeys.trustLineAsset(asset).toXDR("hex")).toBe(asset.toTrustLineXDRObject().toXDR("hex"));
    }
    expect(xdr.TrustLineAsset.fromXDR(StrKeys.trustLineAsset(new Asset("USDC", issuer)).toXDR()).switch()).toBe(
      xdr.AssetType.assetTypeCreditAlphanum4(),
    );
  });
});
