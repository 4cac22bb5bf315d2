import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiServer } from "@quay/api";
import { Config } from "@quay/config";
import { startRedis, type LocalRedis } from "@quay/localservices";
import { createLogger } from "@quay/log";
import { allowClientHttpRpc } from "@quay/demo";
import { startQuay, transfers, type QuayHarness } from "./harness";
import { eventually, newPayee, newPayment, payments, post, PRICE, settle } from "./payments";

/**
 * A dependency down never turns into a lost or misreported payment: what /settle recorded is
 * answered with its state (settlement_pending), never a 5xx, and settles once the dependency is
 * back, without any restart; what it could not record is a 503 with Retry-After.
 */
describe("Redis down while /settle records a payment", () => {
  let redis: LocalRedis;
  let quay: QuayHarness;
  let payTo: string;
  const undo: Array<() => void> = [];

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    redis = await startRedis();
    quay = await startQuay({ settleWaitSeconds: 3, env: { REDIS_URL: redis.url, SETTLE_SWEEP_SECONDS: "1" } });
    payTo = await newPayee(quay);
  });
  afterAll(async () => {
    await quay?.stop();
    await redis?.stop();
    undo.forEach((u) => u());
  });

  it("answers settlement_pending with the payment's id, then settles it once Redis is back, without a restart; the next call gets the delivery", async () => {
    const { payer, body } = await newPayment(quay, payTo);
    await redis.stop();
    const answer = await settle(quay, body);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ success: false, errorReason: "settlement_pending", payer: payer.publicKey(), network: "stellar:testnet" });
    const row = (await payments(quay)).find((p) => p.payer === payer.publicKey())!;
    expect(row.status).toBe("queued");
    expect(answer.body.transaction).toBe(row.id); // no transaction exists yet: the payment names itself

    redis = await startRedis({ port: redis.port });
    const settled = await eventually(async () => {
      const current = (await payments(quay)).find((p) => p.id === row.id)!;
      return current.status === "succeeded" && current;
    }, 30_000, "the swept payment to settle");
    const again = await settle(quay, body);
    expect(again.body).toMatchObject({ success: true, transaction: settled.tx_hash, payer: payer.publicKey() });
    const moved = (await transfers(quay.t)).filter((t) => t.from === payer.publicKey());
    expect(moved).toEqual([{ from: payer.publicKey(), to: payTo, amount: PRICE, txHash: settled.tx_hash }]);
  });
});

describe("Postgres unreachable", () => {
  let quay: QuayHarness;
  let brokenUrl: string;
  let closeBroken: () => Promise<void>;
  const undo: Array<() => void> = [];

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    quay = await startQuay({ withWorker: false });
    // An api whose Postgres does not answer (nothing listens on its port), beside a working one.
    const config = Config.load({ ...quay.env, DATABASE_URL: "postgres://quay:quay@127.0.0.1:1/quay" });
    const broken = await createApiServer(config, createLogger({ level: "silent", name: "test" }));
    await broken.app.listen({ host: "127.0.0.1", port: 0 });
    brokenUrl = `http://127.0.0.1:${(broken.app.server.address() as AddressInfo).port}`;
    closeBroken = () => broken.close();
  });
  afterAll(async () => {
    await closeBroken?.();
    await quay?.stop();
    undo.forEach((u) => u());
  });

  it("answers /verify, /settle and the MPP routes 503 with Retry-After, never 500", async () => {
    const { body } = await newPayment(quay, await newPayee(quay));
    for (const path of ["/verify", "/settle"] as const) {
      const res = await fetch(`${brokenUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${quay.apiKey}` },
        body: JSON.stringify(body),
      });
      expect(res.status, path).toBe(503);
      expect(res.headers.get("retry-after"), path).toMatch(/^\d+$/);
      expect(await res.json(), path).toMatchObject({ error: "service_unavailable" });
    }
    const channel = "CAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD2KM";
    const res = await fetch(`${brokenUrl}/mpp/channels/${channel}`, { headers: { authorization: `Bearer ${quay.apiKey}` } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
  });
});

describe("bad input", () => {
  let quay: QuayHarness;
  beforeAll(async () => {
    quay = await startQuay({ withWorker: false });
  });
  afterAll(async () => {
    await quay?.stop();
  });

  it("answers a channel address that is no contract address with 400 on every channel route, never 5xx", async () => {
    const auth = { authorization: `Bearer ${quay.apiKey}`, "content-type": "application/json" };
    for (const address of ["%00", "%00abc", "GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5", "C" + "A".repeat(60), "..%2F..%2Fetc"]) {
      const calls: Array<[string, string, unknown]> = [
        ["GET", `/mpp/channels/${address}`, undefined],
        ["POST", `/mpp/channels/${address}/vouchers`, { amount: "1", signature: "00" }],
        ["POST", `/mpp/channels/${address}/close`, {}],
        ["PUT", `/mpp/channels/${address}/policy`, {}],
      ];
      for (const [method, path, body] of calls) {
        const res = await fetch(`${quay.apiUrl}${path}`, { method, headers: auth, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(await res.json(), `${method} ${path}`).toMatchObject({ error: "invalid_request" });
      }
    }
    // And /verify, /settle with garbage: answered, never 5xx.
    for (const garbage of [{}, { paymentPayload: "\u0000" }, { paymentPayload: { x402Version: 2, payload: { transaction: "\u0000" } } }]) {
      for (const path of ["/verify", "/settle"] as const) {
        const answer = await post<Record<string, unknown>>(quay.apiUrl, path, garbage, quay.apiKey);
        expect(answer.status, path).toBeLessThan(500);
      }
    }
  });
});
