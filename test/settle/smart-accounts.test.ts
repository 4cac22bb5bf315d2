import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Asset, Keypair, rpc, xdr } from "@stellar/stellar-sdk";
import { x402Client } from "@x402/core/client";
import { wrapFetchWithPayment } from "@x402/fetch";
import { startSeller, type Seller } from "@quay/demo";
import { AuthEntry, ResultCodes } from "@quay/stellar";
import { SmartAccountExactScheme, SmartAccountPayment, Signers, WebAuthnAssertion, type AccountSigner } from "@quay/x402-buyer";
import { fundedKeypair } from "../devnet/helpers";
import {
  addressVal,
  buyerPayment,
  bytesN,
  deployAccount,
  ed25519Keys,
  fundContract,
  i128,
  newPasskey,
  sacBalance,
  UNIT,
  validUntil,
} from "../devnet/smart-account-fixtures";
import { startQuay, transfers, USDC_SAC, type QuayHarness } from "./harness";
import { bodyFor, newPayee, post, PRICE, requirementsFor, settle, type SettleAnswer } from "./payments";

/**
 * Payers whose account is a contract (C…): its `__check_auth` decides (ed25519 multisig with a
 * threshold, a passkey/WebAuthn signer, a spending policy, CAP-71-01 delegates). Quay settles
 * what the account's authorisation and Quay's own rules allow: the one transfer, the account's
 * own storage writes and events, nothing that moves value elsewhere.
 */
describe("contract-account payers", () => {
  let quay: QuayHarness;
  let payTo: string;
  let seller: Seller;
  const usdc = () => USDC_SAC;

  beforeAll(async () => {
    quay = await startQuay();
    payTo = await newPayee(quay);
    seller = await startSeller({ facilitatorUrl: quay.apiUrl, apiKey: quay.apiKey, network: "stellar:testnet", payTo, asset: USDC_SAC, amount: PRICE });
  });
  afterAll(async () => {
    await seller?.close();
    await quay?.stop();
  });

  /** The four account kinds, deployed and funded with 10 USDC each. */
  async function account(kind: "multisig" | "passkey" | "policy" | "delegating"): Promise<{ address: string; sign: AccountSigner }> {
    const t = quay.t;
    let address: string;
    let sign: AccountSigner;
    switch (kind) {
      case "multisig": {
        const keys = ed25519Keys(3);
        address = await deployAccount(t, "ed25519Multisig", [xdr.ScVal.scvVec(keys.map((k) => bytesN(k.rawPublicKey()))), xdr.ScVal.scvU32(2)]);
        sign = Signers.ed25519Multisig(keys.slice(0, 2));
        break;
      }
      case "passkey": {
        const passkey = newPasskey();
        address = await deployAccount(t, "passkey", [bytesN(passkey.credentialId), bytesN(passkey.publicKey)]);
        sign = Signers.webauthn(passkey.privateKey, { rpId: "pay.example", origin: "https://pay.example", credentialId: passkey.credentialId });
        break;
      }
      case "policy": {
        const key = Keypair.random();
        address = await deployAccount(t, "spendingPolicy", [bytesN(key.rawPublicKey()), addressVal(usdc()), i128(3n * PRICE), xdr.ScVal.scvU32(100)]);
        sign = Signers.ed25519(key);
        break;
      }
      case "delegating": {
        const delegate = await fundedKeypair(t.devnet);
        address = await deployAccount(t, "delegating", [xdr.ScVal.scvVec([addressVal(delegate.publicKey())])]);
        sign = Signers.delegates([Signers.accountDelegate(delegate)]);
        break;
      }
    }
    await fundContract(t, address, 10n * UNIT);
    return { address, sign };
  }

  /** The fee the ledger charged for a transaction, from its result. */
  async function ledgerFee(txHash: string): Promise<bigint> {
    const got = await quay.t.server.getTransaction(txHash);
    if (got.status !== rpc.Api.GetTransactionStatus.SUCCESS) throw new Error(`transaction ${txHash} is ${got.status}`);
    return ResultCodes.decode(got.resultXdr.toXDR("base64")).feeCharged;
  }

  for (const kind of ["multisig", "passkey", "policy", "delegating"] as const) {
    it(`pays a real @x402/express seller from a ${kind} account: exactly the price moves once, the fee recorded as the ledger charged it`, async () => {
      const { address, sign } = await account(kind);
      const client = new x402Client().register(
        "stellar:testnet",
        new SmartAccountExactScheme({ account: address, signer: sign, rpcUrls: { "stellar:testnet": quay.t.devnet.rpcUrl }, allowHttp: true, ledgerSeconds: 1 }),
      );
      client.setSpendControls(false);
      const before = await sacBalance(quay.t, address);
      const res = await wrapFetchWithPayment(globalThis.fetch, client)(seller.url);
      expect(res.status).toBe(200);
      expect(await sacBalance(quay.t, address)).toBe(before - PRICE);
      const moved = (await transfers(quay.t)).filter((t) => t.from === address);
      expect(moved).toHaveLength(1);
      expect(moved[0]).toMatchObject({ to: payTo, amount: PRICE });
      const { rows } = await quay.pool.query<{ fee: string; tx_hash: string }>("select fee_charged_stroops::text as fee, tx_hash from submissions where payer = $1", [address]);
      expect(rows).toHaveLength(1);
      expect(BigInt(rows[0]!.fee)).toBe(await ledgerFee(rows[0]!.tx_hash));
      // The figure the README gives for this kind of payer.
      console.info(`[fees] ${kind}: ${rows[0]!.fee} stroops`);
    });
  }

  describe("refusals, each with Quay's reason", () => {
    const reasonOf = async (envelope: string, amount = PRICE) => {
      const requirements = requirementsFor(payTo, amount);
      return (await post<Record<string, unknown>>(quay.apiUrl, "/verify", bodyFor(envelope, requirements), quay.apiKey)).body;
    };

    it("wrong signer and below threshold: simulation_failed (Error(Auth, InvalidAction))", async () => {
      const keys = ed25519Keys(3);
      const address = await deployAccount(quay.t, "ed25519Multisig", [xdr.ScVal.scvVec(keys.map((k) => bytesN(k.rawPublicKey()))), xdr.ScVal.scvU32(2)]);
      await fundContract(quay.t, address, 10n * UNIT);
      const good = await buyerPayment(quay.t, { account: address, payTo, amount: PRICE, sign: Signers.ed25519Multisig(keys.slice(0, 2)) });
      for (const signers of [ed25519Keys(2), keys.slice(0, 1)]) {
        const bad = await resign(good.transaction, good.authEntry, Signers.ed25519Multisig(signers));
        expect(await reasonOf(bad)).toMatchObject({ isValid: false, invalidReason: "invalid_exact_stellar_payload_simulation_failed", payer: address });
      }
    });

    it("a WebAuthn assertion over another challenge: simulation_failed", async () => {
      const passkey = newPasskey();
      const address = await deployAccount(quay.t, "passkey", [bytesN(passkey.credentialId), bytesN(passkey.publicKey)]);
      await fundContract(quay.t, address, 10n * UNIT);
      const good = await buyerPayment(quay.t, {
        account: address,
        payTo,
        amount: PRICE,
        sign: Signers.webauthn(passkey.privateKey, { rpId: "pay.example", origin: "https://pay.example", credentialId: passkey.credentialId }),
      });
      const other: AccountSigner = {
        credentials: "address",
        sign: async (payload) => {
          const a = WebAuthnAssertion.create(passkey.privateKey, Buffer.from(payload).reverse(), { rpId: "pay.example", origin: "https://pay.example" });
          return xdr.ScVal.scvMap(
            [
              ["authenticator_data", a.authenticatorData],
              ["client_data_json", a.clientDataJson],
              ["id", passkey.credentialId],
              ["signature", a.signature],
            ].map(([k, v]) => new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol(k as string), val: xdr.ScVal.scvBytes(v as Buffer) })),
          );
        },
      };
      expect(await reasonOf(await resign(good.transaction, good.authEntry, other))).toMatchObject({ isValid: false, invalidReason: "invalid_exact_stellar_payload_simulation_failed" });
    });

    it("an expired signature: auth_already_expired", async () => {
      const { address, sign } = await account("multisig");
      const payment = await buyerPayment(quay.t, { account: address, payTo, amount: PRICE, sign, validUntilLedger: (await validUntil(quay.t, 3)) });
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // 6 ledgers
      expect(await reasonOf(payment.transaction)).toMatchObject({ isValid: false, invalidReason: "invalid_exact_stellar_payload_auth_already_expired" });
    });

    it("a spending policy's limit: refused past it (simulation_failed), allowed again in the next period", async () => {
      const key = Keypair.random();
      const address = await deployAccount(quay.t, "spendingPolicy", [bytesN(key.rawPublicKey()), addressVal(usdc()), i128(PRICE + PRICE / 2n), xdr.ScVal.scvU32(12)]);
      await fundContract(quay.t, address, 10n * UNIT);
      const sign = Signers.ed25519(key);
      const first = await buyerPayment(quay.t, { account: address, payTo, amount: PRICE, sign });
      expect((await settle(quay, bodyFor(first.transaction, requirementsFor(payTo)))).body).toMatchObject({ success: true });
      // The second payment's own simulation would pass at signing time only before the first landed: build it, then judge it.
      const second = await buyerPayment(quay.t, { account: address, payTo, amount: PRICE, sign }).catch((e: Error) => e);
      expect(second).toBeInstanceOf(Error);
      expect(String((second as Error).message)).toMatch(/2221|InvalidAction/);
      // Twelve ledgers (3 s) later the period has rolled over.
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      const third = await buyerPayment(quay.t, { account: address, payTo, amount: PRICE, sign });
      expect((await settle(quay, bodyFor(third.transaction, requirementsFor(payTo)))).body).toMatchObject({ success: true });
    });

    it("a delegate missing: simulation_failed", async () => {
      const [a, b] = [await fundedKeypair(quay.t.devnet), await fundedKeypair(quay.t.devnet)];
      const address = await deployAccount(quay.t, "delegating", [xdr.ScVal.scvVec([addressVal(a.publicKey()), addressVal(b.publicKey())].sort(byAddress))]);
      await fundContract(quay.t, address, 10n * UNIT);
      const both = await buyerPayment(quay.t, { account: address, payTo, amount: PRICE, sign: Signers.delegates([Signers.accountDelegate(a), Signers.accountDelegate(b)]) });
      const one = await resign(both.transaction, both.authEntry, Signers.delegates([Signers.accountDelegate(a)]));
      expect(await reasonOf(one)).toMatchObject({ isValid: false, invalidReason: "invalid_exact_stellar_payload_simulation_failed" });
    });

    it("a replayed authorization: one settlement, then duplicate_settlement", async () => {
      const { address, sign } = await account("multisig");
      const payment = await buyerPayment(quay.t, { account: address, payTo, amount: PRICE, sign });
      const body = bodyFor(payment.transaction, requirementsFor(payTo));
      expect((await settle(quay, body)).body).toMatchObject({ success: true, payer: address });
      expect((await settle(quay, body)).body).toMatchObject({ success: false, errorReason: "duplicate_settlement" } satisfies Partial<SettleAnswer>);
      expect((await post<Record<string, unknown>>(quay.apiUrl, "/verify", body, quay.apiKey)).body).toMatchObject({ invalidReason: "duplicate_settlement" });
    });

    it("an account whose __check_auth also moves value elsewhere: refused, its second transfer named", async () => {
      const key = Keypair.random();
      const sink = await fundedKeypair(quay.t.devnet);
      const xlm = Asset.native().contractId(quay.t.passphrase);
      const address = await deployAccount(quay.t, "skimming", [bytesN(key.rawPublicKey()), addressVal(xlm), xdr.ScVal.scvVoid(), addressVal(sink.publicKey()), i128(UNIT)]);
      await fundContract(quay.t, address, 10n * UNIT);
      await fundContract(quay.t, address, 10n * UNIT, Asset.native());
      const payment = await buyerPayment(quay.t, { account: address, payTo, amount: PRICE, sign: Signers.ed25519(key) });
      const answer = await reasonOf(payment.transaction);
      expect(answer).toMatchObject({ isValid: false, invalidReason: "invalid_exact_stellar_payload_event_wrong_asset" });
      expect(String(answer.invalidMessage)).toContain(xlm);
    });

    it("a spending policy's own event and storage writes are let through (writes elsewhere: test/x402/verify.test.ts)", async () => {
      const { address, sign } = await account("policy");
      const payment = await buyerPayment(quay.t, { account: address, payTo, amount: PRICE, sign });
      expect(await reasonOf(payment.transaction)).toMatchObject({ isValid: true, payer: address });
    });
  });
});

/** Address ScVals in the order CAP-71-01 delegate lists need. */
function byAddress(a: xdr.ScVal, b: xdr.ScVal): number {
  return Buffer.compare(a.toXDR(), b.toXDR());
}

/** The envelope with its one auth entry signed again by `signer` (over the entry's own payload), resources unchanged. */
async function resign(envelope: string, entry: xdr.SorobanAuthorizationEntry, signer: AccountSigner): Promise<string> {
  const top = AuthEntry.addressCredentials(entry)!;
  const { signed } = await SmartAccountPayment.signEntry(entry, signer, top.signatureExpirationLedger(), "Test SDF Network ; September 2015");
  const env = xdr.TransactionEnvelope.fromXDR(envelope, "base64");
  env.v1().tx().operations()[0]!.body().invokeHostFunctionOp().auth([signed]);
  return env.toXDR("base64");
}
