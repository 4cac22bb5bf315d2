/**
 * Quay's MPP charge relay over real HTTP on the devnet: an mppx server using @quay/mpp's Stellar
 * method in RELAY mode sells a route, an mppx client using @quay/mpp's client method pays it by
 * sponsored charge, and Quay validates, claims, settles (through the x402 engine: a channel
 * account of the pool as source, fee-bumped by the fund account) and answers the receipt.
 */
import { authorizeEntry, Keypair, rpc, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { Challenge, Credential } from "mppx";
import { Mppx as ClientMppx } from "mppx/client";
import { Mppx as ExpressMppx } from "mppx/express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STELLAR_TESTNET, Stellar } from "@quay/mpp";
import { clearFaults, fund, fundedKeypair, setFaults, USDC, usdcBalance } from "../devnet/helpers";
import { listen, newApp, receiptOf, refusal, type Listening } from "./method-helpers";
import { Signers } from "@quay/x402-buyer";
import { buyerPayment, bytesN, deployAccount, ed25519Keys, fundContract, sacBalance, UNIT, validUntil } from "../devnet/smart-account-fixtures";
import { startRelayer, type Relayer } from "./relayer-fixtures";

const SECRET = "quay-relayer-charge-test-secret-0123456789";
const PRICE = 12_345n;

describe("MPP sponsored charge relayed by Quay", () => {
  let quay: Relayer;
  let http: Listening;
  let payer: Keypair;
  const recipient = Keypair.random();
  let currency: string;

  beforeAll(async () => {
    quay = await startRelayer();
    currency = USDC.contractId(quay.t.passphrase);
    payer = await fundedKeypair(quay.t.devnet, { usdc: 1_000_000n });
    await fund(quay.t.devnet, recipient.publicKey(), { usdc: 1n });
    const mppx = ExpressMppx.create({
      secretKey: SECRET,
      realm: "quay.test",
      methods: [Stellar.server.charge({ recipient: recipient.publicKey(), currency, network: STELLAR_TESTNET, relay: { relayerUrl: quay.apiUrl, apiKey: quay.apiKey } })],
    });
    const unsponsored = ExpressMppx.create({
      secretKey: SECRET,
      realm: "quay.test",
      methods: [
        Stellar.server.charge({ recipient: recipient.publicKey(), currency, network: STELLAR_TESTNET, relay: { relayerUrl: quay.apiUrl, apiKey: quay.apiKey, sponsored: false } }),
      ],
    });
    const app = newApp();
    app.get("/paid", mppx.charge({ amount: "0.0012345", externalId: "order-1" }), (_req, res) => res.json({ paid: true }));
    app.get("/self-paid", unsponsored.charge({ amount: "0.0012345" }), (_req, res) => res.json({ paid: "by payer" }));
    http = await listen(app);
  });
  afterAll(async () => {
    await http?.close();
    await quay?.stop();
  });

  const client = (mode: "pull" | "push" = "pull") =>
    ClientMppx.create({ polyfill: false, methods: [Stellar.client.charge({ keypair: payer, rpcUrl: quay.t.devnet.rpcUrl, pollIntervalMs: 100, mode })] });

  /** A fresh credential for the route, as the relay body (challenge with its request decoded). */
  async function freshBody(): Promise<any> {
    const credential = Credential.deserialize(await client().createCredential(await fetch(`${http.url}/paid`)));
    return { challenge: credential.challenge, payload: credential.payload, ...(credential.source ? { source: credential.source } : {}) };
  }

  it("pays a route: 200, a receipt whose reference is the settled tx hash; exactly the price moved once; a replay is refused", async () => {
    const before = { payer: await usdcBalance(quay.t.server, payer.publicKey()), recipient: await usdcBalance(quay.t.server, recipient.publicKey()) };
    let credential = "";
    const mppx = client();
    mppx.onCredentialCreated(({ credential: c }) => {
      credential = c;
    });
    const res = await mppx.fetch(`${http.url}/paid`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ paid: true });
    const receipt = receiptOf(res);
    expect(receipt).toMatchObject({ method: "stellar", status: "success", externalId: "order-1" });
    expect(receipt.reference).toMatch(/^[0-9a-f]{64}$/);

    // The reference is the fee bump Quay submitted: paid by Quay's fund account around a pool account.
    const tx = (await quay.t.server.getTransaction(receipt.reference)) as rpc.Api.GetSuccessfulTransactionResponse;
    expect(tx.status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    const envelope = TransactionBuilder.fromXDR(tx.envelopeXdr.toXDR("base64"), quay.t.passphrase);
    expect("feeSource" in envelope && envelope.feeSource).toBe(quay.fund.publicKey());

    expect(await usdcBalance(quay.t.server, payer.publicKey())).toBe(before.payer - PRICE);
    expect(await usdcBalance(quay.t.server, recipient.publicKey())).toBe(before.recipient + PRICE);
    const { rows } = await quay.pool.query(
      `select c.challenge_id, p.status, p.tx_hash, p.amount::text as amount from mpp_charges c join submissions p on p.id = c.submission_id`,
    );
    expect(rows).toEqual([{ challenge_id: Credential.deserialize(credential).challenge.id, status: "succeeded", tx_hash: receipt.reference, amount: PRICE.toString() }]);

    const replay = await fetch(`${http.url}/paid`, { headers: { authorization: credential } });
    expect(await refusal(replay)).toMatchObject({ status: 402, code: "already_used" });
    expect(await usdcBalance(quay.t.server, payer.publicKey())).toBe(before.payer - PRICE);
  });

  it("validate changes nothing; broadcast gives one receipt (a retry with its Idempotency-Key is told it was delivered), refuses the same payment under another key, and hides it from other tenants", async () => {
    const body = await freshBody();

    expect(await quay.call("POST", "/mpp/charge/validate", body)).toEqual({ status: 200, body: { success: true } });
    expect(await quay.call("POST", "/mpp/charge/validate", body)).toEqual({ status: 200, body: { success: true } });
    expect((await quay.pool.query("select count(*)::int as n from mpp_charges")).rows[0].n).toBe(1);

    const first = await quay.call("POST", "/mpp/charge/broadcast", body, { headers: { "idempotency-key": "mpp_retry_1" } });
    expect(first.body.success).toBe(true);
    // One payment, one receipt: the retry is told the payment was delivered, and which transaction it was.
    const again = await quay.call("POST", "/mpp/charge/broadcast", body, { headers: { "idempotency-key": "mpp_retry_1" } });
    expect(again.body).toMatchObject({ success: false, error: { code: "already_used", reason: "duplicate_settlement" } });
    expect(again.body.error.message).toContain(first.body.receipt.reference);
    const otherKey = await quay.call("POST", "/mpp/charge/broadcast", body, { headers: { "idempotency-key": "mpp_retry_2" } });
    expect(otherKey.body).toMatchObject({ success: false, error: { code: "already_used" } });
    expect((await quay.call("POST", "/mpp/charge/validate", body)).body).toMatchObject({ success: false, error: { code: "already_used" } });
    // Another tenant presenting the same transaction: the hash is claimed globally.
    const other = await quay.call("POST", "/mpp/charge/broadcast", body, { key: quay.otherApiKey, headers: { "idempotency-key": "mpp_retry_1" } });
    expect(other.body).toMatchObject({ success: false, error: { code: "already_used" } });
    expect((await quay.pool.query("select count(*)::int as n from submissions where status = 'succeeded'")).rows[0].n).toBe(2);
  });

  it("refuses what does not match the challenge, without claiming anything", async () => {
    const body = await freshBody();
    const claims = async () => (await quay.pool.query("select count(*)::int as n from mpp_charges")).rows[0].n;
    const before = await claims();

    const dearer = { ...body, challenge: { ...body.challenge, request: { ...body.challenge.request, amount: "99999" } } };
    expect((await quay.call("POST", "/mpp/charge/broadcast", dearer)).body).toMatchObject({ success: false, error: { code: "invalid_payment", reason: "wrong_amount" } });
    const expired = { ...body, challenge: { ...body.challenge, expires: new Date(Date.now() - 1000).toISOString() } };
    expect((await quay.call("POST", "/mpp/charge/broadcast", expired)).body).toMatchObject({ success: false, error: { code: "expired" } });
    const stranger = { ...body, source: `did:pkh:stellar:testnet:${Keypair.random().publicKey()}` };
    expect((await quay.call("POST", "/mpp/charge/broadcast", stranger)).body).toMatchObject({ success: false, error: { code: "invalid_payment", reason: "source_mismatch" } });
    const encoded = { ...body, challenge: { ...body.challenge, request: Buffer.from(JSON.stringify(body.challenge.request)).toString("base64url") } };
    expect((await quay.call("POST", "/mpp/charge/validate", encoded)).body).toEqual({ success: true });
    expect(await claims()).toBe(before);

    // The RPC down: 503 temporarily_unavailable, and still nothing claimed (the same credential works later).
    await setFaults(quay.t.devnet, { drop: { methods: ["simulateTransaction"] } });
    try {
      expect(await quay.call("POST", "/mpp/charge/broadcast", body)).toMatchObject({ status: 503, body: { success: false, error: { code: "temporarily_unavailable" } } });
    } finally {
      await clearFaults(quay.t.devnet);
    }
    expect(await claims()).toBe(before);
    expect((await quay.call("POST", "/mpp/charge/validate", body)).body).toEqual({ success: true });

    expect((await quay.call("POST", "/mpp/charge/broadcast", { challenge: body.challenge })).status).toBe(400);
    expect((await quay.call("POST", "/mpp/charge/broadcast", body, { key: "qk_not_a_key" })).status).toBe(401);
  });

  it("unsponsored pull: Quay submits the payer's own transaction unmodified; the payer pays its fee", async () => {
    const before = await usdcBalance(quay.t.server, payer.publicKey());
    const xlmBefore = BigInt((await quay.t.server.getAccountEntry(payer.publicKey())).balance().toString());
    let credential = "";
    const mppx = client();
    mppx.onCredentialCreated(({ credential: c }) => {
      credential = c;
    });
    const res = await mppx.fetch(`${http.url}/self-paid`);
    expect(res.status).toBe(200);
    const receipt = receiptOf(res);
    const sent = TransactionBuilder.fromXDR(String((Credential.deserialize(credential).payload as { transaction: string }).transaction), quay.t.passphrase);
    expect(receipt.reference).toBe(sent.hash().toString("hex"));
    expect(await usdcBalance(quay.t.server, payer.publicKey())).toBe(before - PRICE);
    expect(BigInt((await quay.t.server.getAccountEntry(payer.publicKey())).balance().toString())).toBeLessThan(xlmBefore);
    expect(await refusal(await fetch(`${http.url}/self-paid`, { headers: { authorization: credential } }))).toMatchObject({ status: 402, code: "already_used" });
  });

  it("signed push: the payer lands the transfer itself; Quay checks it on the ledger and its signature, and takes the hash once", async () => {
    const before = await usdcBalance(quay.t.server, payer.publicKey());
    let credential = "";
    const mppx = client("push");
    mppx.onCredentialCreated(({ credential: c }) => {
      credential = c;
    });
    const res = await mppx.fetch(`${http.url}/self-paid`);
    expect(res.status).toBe(200);
    const { payload } = Credential.deserialize(credential) as { payload: { type: string; hash: string } };
    expect(payload.type).toBe("signedHash");
    expect(receiptOf(res).reference).toBe(payload.hash);
    expect(await usdcBalance(quay.t.server, payer.publicKey())).toBe(before - PRICE);
    expect(await refusal(await fetch(`${http.url}/self-paid`, { headers: { authorization: credential } }))).toMatchObject({ status: 402, code: "already_used" });
    const { rows } = await quay.pool.query("select submitted_tx_hash, submission_id from mpp_charges where inner_tx_hash = $1", [payload.hash]);
    expect(rows).toEqual([{ submitted_tx_hash: payload.hash, submission_id: null }]);
  });

  it("settles a credential whose auth entry is CAP-71 V2 (as an SDK 17 wallet signs it): one receipt naming the settled transaction, the price moved once", async () => {
    const body = await freshBody();
    const envelope = xdr.TransactionEnvelope.fromXDR(body.payload.transaction, "base64");
    const invoke = envelope.v1().tx().operations()[0]!.body().invokeHostFunctionOp();
    const [entry] = invoke.auth();
    const expiration = entry!.credentials().address().signatureExpirationLedger();
    entry!.credentials(xdr.SorobanCredentials.sorobanCredentialsAddressV2(entry!.credentials().address()));
    const signed = await authorizeEntry(entry!, payer, expiration, quay.t.passphrase);
    expect(signed.credentials().switch().name).toBe("sorobanCredentialsAddressV2");
    invoke.auth([signed]);
    body.payload.transaction = envelope.toXDR("base64");

    const before = await usdcBalance(quay.t.server, payer.publicKey());
    const answer = await quay.call("POST", "/mpp/charge/broadcast", body);
    expect(answer).toMatchObject({ status: 200, body: { success: true, receipt: { method: "stellar" } } });
    const settled = await quay.t.server.getTransaction(answer.body.receipt.reference);
    expect(settled.status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    expect(await usdcBalance(quay.t.server, payer.publicKey())).toBe(before - PRICE);
  });

  it("settles a sponsored charge paid from a contract account (a 2-of-3 multisig whose __check_auth authorises it)", async () => {
    const keys = ed25519Keys(3);
    const account = await deployAccount(quay.t, "ed25519Multisig", [xdr.ScVal.scvVec(keys.map((k) => bytesN(k.rawPublicKey()))), xdr.ScVal.scvU32(2)]);
    await fundContract(quay.t, account, 10n * UNIT);
    const challenge = Challenge.fromResponse(await fetch(`${http.url}/paid`));
    const payment = await buyerPayment(quay.t, { account, payTo: recipient.publicKey(), amount: PRICE, sign: Signers.ed25519Multisig(keys.slice(0, 2)), validUntilLedger: await validUntil(quay.t, 20) });
    const body = { challenge, payload: { type: "transaction", transaction: payment.transaction }, source: `did:pkh:stellar:testnet:${account}` };
    const before = await sacBalance(quay.t, account);
    const answer = await quay.call("POST", "/mpp/charge/broadcast", body);
    expect(answer).toMatchObject({ status: 200, body: { success: true, receipt: { method: "stellar" } } });
    expect((await quay.t.server.getTransaction(answer.body.receipt.reference)).status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    expect(await sacBalance(quay.t, account)).toBe(before - PRICE);
  });
});
