/**
 * Quay's own x402 verify (@quay/x402) against contract-account payments on the devnet, now that the
 * devnet runs `__check_auth`: the path devnet-fidelity row 6 says never ran end to end. A paying
 * account's own events and delegated credentials are let through; a second transfer is refused.
 */
import { Asset, Keypair, xdr } from "@stellar/stellar-sdk";
import { Signers } from "@quay/x402-buyer";
import { X402, type VerifyOutcome } from "@quay/x402";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testMetrics, testNetwork, verifierContext, verifyBody, type Requirements } from "../x402/fixtures";
import { fundedKeypair, startTestDevnet, USDC, type TestDevnet } from "./helpers";
import { addressVal, buyerPayment, bytesN, deployAccount, ed25519Keys, fundContract, i128, newPasskey, UNIT } from "./smart-account-fixtures";

let t: TestDevnet;
beforeAll(async () => {
  t = await startTestDevnet();
});
afterAll(async () => {
  await t?.close();
});

async function quayVerify(transaction: string, payTo: string, amount: bigint): Promise<VerifyOutcome> {
  const metrics = testMetrics();
  const reqs: Requirements = {
    scheme: "exact",
    network: "stellar:testnet",
    asset: USDC.contractId(t.passphrase),
    amount: amount.toString(),
    payTo,
    // The payments' auth lasts 60 ledgers; Quay bounds it by maxTimeoutSeconds over the measured
    // ledger time, which on 100 ms ledgers stamped in whole seconds can read as long as a second:
    // 600 s keeps the bound above 60 ledgers whatever the measurement says.
    maxTimeoutSeconds: 600,
    extra: { areFeesSponsored: true },
  };
  return X402.verify(verifierContext(testNetwork(t.devnet.rpcUrl, metrics), metrics), verifyBody(transaction, reqs));
}

const answer = (o: VerifyOutcome): string => (o.isValid ? `valid:${o.payer}` : o.invalidReason);

describe("Quay's verify with contract-account payers", () => {
  it("accepts the multisig and passkey accounts' payments, naming the C address as payer", async () => {
    const keys = ed25519Keys(2);
    const multisig = await deployAccount(t, "ed25519Multisig", [xdr.ScVal.scvVec(keys.map((k) => bytesN(k.rawPublicKey()))), xdr.ScVal.scvU32(2)]);
    const passkey = newPasskey();
    const webauthn = await deployAccount(t, "passkey", [bytesN(passkey.credentialId), bytesN(passkey.publicKey)]);
    const payTo = (await fundedKeypair(t.devnet, { usdc: 1n })).publicKey();
    for (const [account, sign] of [
      [multisig, Signers.ed25519Multisig(keys)],
      [webauthn, Signers.webauthn(passkey.privateKey, { rpId: "pay.example", origin: "https://pay.example", credentialId: passkey.credentialId })],
    ] as const) {
      await fundContract(t, account, 10n * UNIT);
      const payment = await buyerPayment(t, { account, payTo, amount: UNIT, sign });
      expect(answer(await quayVerify(payment.transaction, payTo, UNIT))).toBe(`valid:${account}`);
    }
  });

  it("accepts the spending-policy account: its own spend event is the account's, not a second transfer", async () => {
    const key = Keypair.random();
    const account = await deployAccount(t, "spendingPolicy", [bytesN(key.rawPublicKey()), addressVal(USDC.contractId(t.passphrase)), i128(10n * UNIT), xdr.ScVal.scvU32(100)]);
    await fundContract(t, account, 10n * UNIT);
    const payTo = (await fundedKeypair(t.devnet, { usdc: 1n })).publicKey();
    const payment = await buyerPayment(t, { account, payTo, amount: UNIT, sign: Signers.ed25519(key) });
    expect(answer(await quayVerify(payment.transaction, payTo, UNIT))).toBe(`valid:${account}`);
  });

  it("accepts the delegating account's WITH_DELEGATES credentials, its delegate's signature checked by the network", async () => {
    const g = await fundedKeypair(t.devnet);
    const account = await deployAccount(t, "delegating", [xdr.ScVal.scvVec([addressVal(g.publicKey())])]);
    await fundContract(t, account, 10n * UNIT);
    const payTo = (await fundedKeypair(t.devnet, { usdc: 1n })).publicKey();
    const payment = await buyerPayment(t, { account, payTo, amount: UNIT, sign: Signers.delegates([Signers.accountDelegate(g)]) });
    expect(answer(await quayVerify(payment.transaction, payTo, UNIT))).toBe(`valid:${account}`);
  });

  it("refuses the skimming account: the second transfer shows in its enforcing simulation", async () => {
    const key = Keypair.random();
    const sink = await fundedKeypair(t.devnet);
    const account = await deployAccount(t, "skimming", [bytesN(key.rawPublicKey()), addressVal(Asset.native().contractId(t.passphrase)), xdr.ScVal.scvVoid(), addressVal(sink.publicKey()), i128(UNIT)]);
    await fundContract(t, account, 10n * UNIT);
    await fundContract(t, account, 10n * UNIT, Asset.native());
    const payTo = (await fundedKeypair(t.devnet, { usdc: 1n })).publicKey();
    const payment = await buyerPayment(t, { account, payTo, amount: UNIT, sign: Signers.ed25519(key) });
    expect(answer(await quayVerify(payment.transaction, payTo, UNIT))).toBe("invalid_exact_stellar_payload_event_wrong_asset");
  });
});
