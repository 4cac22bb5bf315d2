/**
 * RELAY mode against a fake relayer on loopback (a real HTTP server answering per Quay's relayer
 * API): what the Stellar method sends (paths, bearer key, idempotency key, the credential with its
 * request decoded) and how it maps each answer to a receipt or to the mppx error with its code.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Keypair, xdr } from "@stellar/stellar-sdk";
import { Credential } from "mppx";
import { Mppx as ExpressMppx } from "mppx/express";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Commitment, Did, Network, RelayerClient, STELLAR_TESTNET, Stellar, StellarMppError } from "@quay/mpp";
import { challengeOf, listen, newApp, receiptOf, refusal } from "./method-helpers";
import type { Listening } from "./method-helpers";

const SECRET = "quay-mpp-relay-test-secret-key-0123456789";
const API_KEY = "qk_test_relay_key";
const CURRENCY = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";
const CHANNEL = "CDLZFC3SYJYDZT7K67VZ75HPJVIEUVNIXF47ZG2FB2RMQQVU2HHGCYSC";
const TX_HASH = "ab".repeat(32);

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}
type Answer = { status: number; body: unknown } | "hang-up";

class FakeRelayer {
  seen: Seen[] = [];
  answers = new Map<string, Answer>();
  handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const path = new URL(req.url!, "http://x").pathname;
    this.seen.push({ method: req.method!, path, headers: req.headers, body: text ? JSON.parse(text) : undefined });
    const answer = this.answers.get(`${req.method} ${path}`) ?? { status: 404, body: { success: false, error: { code: "unknown", message: "no route" } } };
    if (answer === "hang-up") {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.body));
  };
  answer(route: string, status: number, body: unknown) {
    this.answers.set(route, { status, body });
  }
}

describe("RELAY mode against a fake relayer", () => {
  const relayer = new FakeRelayer();
  let relayerHttp: Listening;
  let http: Listening;
  const recipient = Keypair.random().publicKey();
  const payer = Keypair.random();
  const commitmentKey = Keypair.random();

  beforeAll(async () => {
    relayerHttp = await listen((req: IncomingMessage, res: ServerResponse) => void relayer.handler(req, res));
    const relay = { relayerUrl: `${relayerHttp.url}/base`, apiKey: API_KEY };
    const mppx = ExpressMppx.create({
      secretKey: SECRET,
      realm: "quay.test",
      methods: [
        Stellar.server.charge({ recipient, currency: CURRENCY, network: STELLAR_TESTNET, relay }),
        Stellar.server.channel({ channel: CHANNEL, network: STELLAR_TESTNET, relay }),
      ],
    });
    const app = newApp();
    app.get("/charge", mppx.charge({ amount: "1.5", externalId: "order-7" }), (_req, res) => res.json({ ok: true }));
    app.get("/voucher", mppx.channel({ amount: "0.5" }), (_req, res) => res.json({ ok: true }));
    http = await listen(app);
  });
  afterAll(async () => {
    await http?.close();
    await relayerHttp?.close();
  });
  beforeEach(() => {
    relayer.seen = [];
    relayer.answers.clear();
    relayer.answer("GET /base/mpp/channels/" + CHANNEL, 200, { address: CHANNEL, network: STELLAR_TESTNET, highestAmount: "15000000", status: "open" });
  });

  async function chargeCredential(payload: Record<string, unknown> = { type: "transaction", transaction: "AAAAAgAAAAB0ZXN0" }) {
    const challenge = await challengeOf(`${http.url}/charge`);
    return { challenge, header: Credential.serialize({ challenge, payload, source: Did.from(STELLAR_TESTNET, payer.publicKey()) }) };
  }

  it("advertises sponsorship and sends validate then broadcast, each with the bearer key, the decoded request, and an idempotency key on broadcast", async () => {
    relayer.answer("POST /base/mpp/charge/validate", 200, { success: true });
    relayer.answer("POST /base/mpp/charge/broadcast", 200, {
      success: true,
      receipt: { method: "stellar", reference: TX_HASH, status: "success", timestamp: "2026-01-01T00:00:00.000Z", externalId: "order-7" },
    });
    const { challenge, header } = await chargeCredential();
    expect(challenge.request).toEqual({
      amount: "15000000",
      currency: CURRENCY,
      recipient,
      externalId: "order-7",
      methodDetails: { network: STELLAR_TESTNET, feePayer: true, credentialTypes: ["transaction"], reference: expect.any(String) },
    });
    const res = await fetch(`${http.url}/charge`, { headers: { authorization: header } });
    expect(res.status).toBe(200);
    expect(receiptOf(res)).toMatchObject({ method: "stellar", reference: TX_HASH, status: "success", externalId: "order-7" });

    expect(relayer.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["POST /base/mpp/charge/validate", "POST /base/mpp/charge/broadcast"]);
    for (const s of relayer.seen) {
      expect(s.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(s.headers["content-type"]).toBe("application/json");
      expect(s.body).toMatchObject({
        challenge: { id: challenge.id, realm: "quay.test", method: "stellar", intent: "charge", expires: challenge.expires, request: challenge.request },
        payload: { type: "transaction", transaction: "AAAAAgAAAAB0ZXN0" },
        source: Did.from(STELLAR_TESTNET, payer.publicKey()),
      });
    }
    const key = relayer.seen[1]!.headers["idempotency-key"];
    expect(key).toMatch(/^mpp_[0-9a-f]{64}$/);
    // The same credential retried carries the same key.
    relayer.seen = [];
    await fetch(`${http.url}/charge`, { headers: { authorization: header } });
    expect(relayer.seen[1]!.headers["idempotency-key"]).toBe(key);
  });

  it("maps the relayer's refusal codes to mppx errors carrying the code", async () => {
    relayer.answer("POST /base/mpp/charge/validate", 200, { success: true });
    for (const code of ["already_used", "invalid_payment", "simulation_failed", "broadcast_failed"]) {
      relayer.answer("POST /base/mpp/charge/broadcast", 200, { success: false, error: { code, message: `relayer says ${code}` } });
      const { header } = await chargeCredential();
      expect(await refusal(await fetch(`${http.url}/charge`, { headers: { authorization: header } }))).toMatchObject({
        status: 402,
        type: "verification-failed",
        code,
        detail: expect.stringContaining(`relayer says ${code}`),
      });
    }
    relayer.answer("POST /base/mpp/charge/broadcast", 200, { success: false, error: { code: "expired", message: "too late" } });
    expect(await refusal(await fetch(`${http.url}/charge`, { headers: { authorization: (await chargeCredential()).header } }))).toMatchObject({ type: "payment-expired" });
  });

  it("a refusal at validate stops before broadcast", async () => {
    relayer.answer("POST /base/mpp/charge/validate", 200, { success: false, error: { code: "invalid_payment", message: "wrong amount" } });
    const { header } = await chargeCredential();
    expect(await refusal(await fetch(`${http.url}/charge`, { headers: { authorization: header } }))).toMatchObject({ code: "invalid_payment" });
    expect(relayer.seen.map((s) => s.path)).toEqual(["/base/mpp/charge/validate"]);
  });

  it("outages are temporarily_unavailable; a refused key or a non-receipt answer is `unknown`, never a 200", async () => {
    relayer.answer("POST /base/mpp/charge/validate", 503, { success: false, error: { code: "temporarily_unavailable", message: "db down" } });
    expect(await refusal(await fetch(`${http.url}/charge`, { headers: { authorization: (await chargeCredential()).header } }))).toMatchObject({ code: "temporarily_unavailable" });
    relayer.answers.set("POST /base/mpp/charge/validate", "hang-up");
    expect(await refusal(await fetch(`${http.url}/charge`, { headers: { authorization: (await chargeCredential()).header } }))).toMatchObject({ code: "temporarily_unavailable" });
    relayer.answer("POST /base/mpp/charge/validate", 401, { error: "bad key" });
    expect(await refusal(await fetch(`${http.url}/charge`, { headers: { authorization: (await chargeCredential()).header } }))).toMatchObject({ code: "unknown", reason: "relayer_auth" });
    relayer.answer("POST /base/mpp/charge/validate", 200, { success: true });
    relayer.answer("POST /base/mpp/charge/broadcast", 200, { success: true, receipt: { method: "tempo", reference: TX_HASH, timestamp: "2026-01-01T00:00:00Z" } });
    expect(await refusal(await fetch(`${http.url}/charge`, { headers: { authorization: (await chargeCredential()).header } }))).toMatchObject({ code: "unknown", reason: "relayer_bad_answer" });
  });

  it("channel: the challenge carries the relayer's cumulative; a voucher is recorded with amount, signature, challenge id and increment", async () => {
    relayer.answer(`POST /base/mpp/channels/${CHANNEL}/vouchers`, 200, { success: true, cumulative: "20000000" });
    const challenge = await challengeOf(`${http.url}/voucher`);
    expect(challenge.request).toMatchObject({ amount: "5000000", channel: CHANNEL, methodDetails: { network: STELLAR_TESTNET, cumulativeAmount: "15000000" } });
    const amount = 20_000_000n;
    const signature = Commitment.sign(commitmentKey, { channel: CHANNEL, amount, networkPassphrase: Network.passphrase(STELLAR_TESTNET) });
    const header = Credential.serialize({ challenge, payload: { action: "voucher", amount: amount.toString(), signature } });
    relayer.seen = [];
    const res = await fetch(`${http.url}/voucher`, { headers: { authorization: header } });
    expect(res.status).toBe(200);
    expect(receiptOf(res).reference).toBe((challenge.request.methodDetails as { reference: string }).reference);
    const post = relayer.seen.find((s) => s.method === "POST")!;
    expect(post.path).toBe(`/base/mpp/channels/${CHANNEL}/vouchers`);
    expect(post.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(post.body).toEqual({ amount: "20000000", signature, challengeId: challenge.id, requested: "5000000" });

    relayer.answer(`POST /base/mpp/channels/${CHANNEL}/vouchers`, 200, { success: false, error: { code: "invalid_payment", message: "not above 20000000" } });
    const again = Credential.serialize({ challenge: await challengeOf(`${http.url}/voucher`), payload: { action: "voucher", amount: amount.toString(), signature } });
    expect(await refusal(await fetch(`${http.url}/voucher`, { headers: { authorization: again } }))).toMatchObject({ code: "invalid_payment", detail: expect.stringContaining("not above") });
  });

  it("channel close: records the final voucher, then asks the relayer to close; the receipt names the close tx", async () => {
    relayer.answer(`POST /base/mpp/channels/${CHANNEL}/vouchers`, 200, { success: true, cumulative: "25000000" });
    relayer.answer(`POST /base/mpp/channels/${CHANNEL}/close`, 200, { success: true, txHash: TX_HASH });
    const amount = 25_000_000n;
    const signature = Commitment.sign(commitmentKey, { channel: CHANNEL, amount, networkPassphrase: Network.passphrase(STELLAR_TESTNET) });
    const header = Credential.serialize({ challenge: await challengeOf(`${http.url}/voucher`), payload: { action: "close", amount: amount.toString(), signature } });
    relayer.seen = [];
    const res = await fetch(`${http.url}/voucher`, { headers: { authorization: header } });
    expect(res.status).toBe(200);
    expect(receiptOf(res).reference).toBe(TX_HASH);
    expect(relayer.seen.filter((s) => s.method === "POST").map((s) => s.path)).toEqual([`/base/mpp/channels/${CHANNEL}/vouchers`, `/base/mpp/channels/${CHANNEL}/close`]);
  });

  it("channel close: a close still pending at the relayer, or an answer without a transaction hash, is no receipt", async () => {
    relayer.answer(`POST /base/mpp/channels/${CHANNEL}/vouchers`, 200, { success: true, cumulative: "25000000" });
    const closeHeader = async () => {
      const amount = 25_000_000n;
      const signature = Commitment.sign(commitmentKey, { channel: CHANNEL, amount, networkPassphrase: Network.passphrase(STELLAR_TESTNET) });
      return Credential.serialize({ challenge: await challengeOf(`${http.url}/voucher`), payload: { action: "close", amount: amount.toString(), signature } });
    };
    relayer.answer(`POST /base/mpp/channels/${CHANNEL}/close`, 202, {
      success: false,
      state: "closing",
      error: { code: "temporarily_unavailable", reason: "close_pending", message: "the close transaction is not final yet: ask again to wait for it" },
    });
    expect(await refusal(await fetch(`${http.url}/voucher`, { headers: { authorization: await closeHeader() } }))).toMatchObject({
      status: 402,
      code: "temporarily_unavailable",
      reason: "close_pending",
    });
    relayer.answer(`POST /base/mpp/channels/${CHANNEL}/close`, 409, { error: "close_failed", reason: "transaction_failed", message: "the close transaction failed" });
    expect(await refusal(await fetch(`${http.url}/voucher`, { headers: { authorization: await closeHeader() } }))).toMatchObject({ code: "unknown", reason: "transaction_failed" });
    relayer.answer(`POST /base/mpp/channels/${CHANNEL}/close`, 200, { success: true, state: "closing" });
    expect(await refusal(await fetch(`${http.url}/voucher`, { headers: { authorization: await closeHeader() } }))).toMatchObject({ code: "unknown", reason: "relayer_bad_answer" });
  });

  it("channel: the challenge always carries cumulativeAmount: the last the relayer said when it cannot be reached, 0 before it ever answered", async () => {
    const server = async () => {
      const mppx = ExpressMppx.create({
        secretKey: SECRET,
        realm: "quay.test",
        methods: [Stellar.server.channel({ channel: CHANNEL, network: STELLAR_TESTNET, relay: { relayerUrl: `${relayerHttp.url}/base`, apiKey: API_KEY } })],
      });
      const app = newApp();
      app.get("/voucher", mppx.channel({ amount: "0.5" }), (_req, res) => res.json({ ok: true }));
      return listen(app);
    };
    const cumulativeOf = async (url: string) => ((await challengeOf(`${url}/voucher`)).request.methodDetails as { cumulativeAmount?: string }).cumulativeAmount;
    relayer.answers.set(`GET /base/mpp/channels/${CHANNEL}`, "hang-up");
    const fresh = await server();
    try {
      expect(await cumulativeOf(fresh.url)).toBe("0");
      relayer.answer(`GET /base/mpp/channels/${CHANNEL}`, 200, { address: CHANNEL, highestAmount: "15000000" });
      expect(await cumulativeOf(fresh.url)).toBe("15000000");
      relayer.answers.set(`GET /base/mpp/channels/${CHANNEL}`, "hang-up");
      expect(await cumulativeOf(fresh.url)).toBe("15000000");
      relayer.answer(`GET /base/mpp/channels/${CHANNEL}`, 503, { success: false, error: { code: "temporarily_unavailable" } });
      expect(await cumulativeOf(fresh.url)).toBe("15000000");
    } finally {
      await fresh.close();
    }
  });

  it("RelayerClient reads channel state and refuses an answer without an address", async () => {
    const client = new RelayerClient({ relayerUrl: `${relayerHttp.url}/base/`, apiKey: API_KEY });
    expect(await client.channelState(CHANNEL)).toMatchObject({ address: CHANNEL, highestAmount: "15000000" });
    relayer.answer(`GET /base/mpp/channels/${CHANNEL}`, 200, { nope: true });
    await expect(client.channelState(CHANNEL)).rejects.toBeInstanceOf(StellarMppError);
  });

  it("RelayerClient sends a close with the recipient's auth entry as given", async () => {
    relayer.answer(`POST /base/mpp/channels/${CHANNEL}/close`, 200, { success: true, jobId: "j1" });
    const client = new RelayerClient({ relayerUrl: `${relayerHttp.url}/base`, apiKey: API_KEY });
    const entry = xdr.ScVal.scvSymbol("stand-in").toXDR("base64");
    expect(await client.channelClose(CHANNEL, { recipientAuth: entry })).toMatchObject({ success: true, jobId: "j1" });
    expect(relayer.seen.at(-1)!.body).toEqual({ recipientAuth: entry });
  });
});
