import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair } from "@stellar/stellar-sdk";
import { HTTPFacilitatorClient as Client227 } from "@x402/core/server";
import { allowClientHttpRpc, createBuyer, startSeller } from "@quay/demo";
import { fund, setFaults } from "../devnet/helpers";
import { startQuay, transfers, USDC_SAC, type QuayHarness } from "./harness";
import { eventually, newPayee, newPayment, payments, PRICE, settle, type SettleBody } from "./payments";

/** The @x402/core 2.9 copy that @x402/stellar 2.9 nests: sellers on the older stack call Quay through it. */
const CORE_29 = new URL("../../node_modules/@x402/stellar/node_modules/@x402/core/dist/esm/http/index.mjs", import.meta.url).href;

interface FacilitatorClient {
  verify(payload: unknown, requirements: unknown): Promise<Record<string, unknown>>;
  settle(payload: unknown, requirements: unknown): Promise<Record<string, unknown>>;
  getSupported(): Promise<Record<string, unknown>>;
}

/**
 * With a settle wait shorter than a ledger, /settle answers `settlement_pending` with the hash of
 * the transaction in flight; @x402/core 2.27 asks again with the identical body, which must then
 * get the same transaction. Both @x402/core versions sellers run must parse every answer.
 */
describe("settlement_pending", () => {
  let quay: QuayHarness;
  let payTo: string;
  let clients: Record<"2.27" | "2.9", FacilitatorClient>;
  const undo: Array<() => void> = [];

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    quay = await startQuay({ settleWaitSeconds: 1 });
    payTo = await newPayee(quay);
    const auth = { Authorization: `Bearer ${quay.apiKey}` };
    const options = { url: quay.apiUrl, createAuthHeaders: async () => ({ verify: auth, settle: auth, supported: auth }) };
    const { HTTPFacilitatorClient: Client29 } = (await import(CORE_29)) as { HTTPFacilitatorClient: new (o: typeof options) => FacilitatorClient };
    expect(Client29).not.toBe(Client227);
    clients = { "2.27": new Client227(options) as unknown as FacilitatorClient, "2.9": new Client29(options) };
  });
  afterAll(async () => {
    await setFaults(quay.t.devnet, { paused: false }).catch(() => undefined);
    await quay?.stop();
    undo.forEach((u) => u());
  });

  async function pendingThenSettled(body: SettleBody, ask: (body: SettleBody) => Promise<Record<string, unknown>>, payer: string) {
    await setFaults(quay.t.devnet, { paused: true });
    const pending = await ask(body);
    expect(pending).toMatchObject({ success: false, errorReason: "settlement_pending", network: "stellar:testnet" });
    expect(pending.transaction).toMatch(/^[0-9a-f]{64}$/);
    // Asked again while still in flight: still pending, on the same transaction.
    expect(await ask(body)).toMatchObject({ success: false, errorReason: "settlement_pending", transaction: pending.transaction });

    await setFaults(quay.t.devnet, { paused: false });
    let settled = await ask(body);
    // One ledger is 250 ms; the wait is 1 s, so at most one more "pending" is possible on a slow machine.
    if (settled.errorReason === "settlement_pending") settled = await ask(body);
    expect(settled).toMatchObject({ success: true, transaction: pending.transaction, network: "stellar:testnet", payer });
    const moved = (await transfers(quay.t)).filter((t) => t.from === payer);
    expect(moved).toEqual([{ from: payer, to: payTo, amount: PRICE, txHash: pending.transaction }]);
  }

  it("answers settlement_pending with the in-flight hash over plain HTTP, then success with the same hash", async () => {
    const { payer, body } = await newPayment(quay, payTo);
    await pendingThenSettled(
      body,
      async (b) => {
        const answer = await settle(quay, b);
        expect(answer.status).toBe(200);
        return answer.body as unknown as Record<string, unknown>;
      },
      payer.publicKey(),
    );
  });

  for (const version of ["2.27", "2.9"] as const) {
    it(`@x402/core ${version}'s HTTPFacilitatorClient parses /supported, /verify and every /settle answer`, async () => {
      const client = clients[version];
      expect(await client.getSupported()).toMatchObject({
        kinds: [{ x402Version: 2, scheme: "exact", network: "stellar:testnet", extra: { areFeesSponsored: true } }],
        signers: { "stellar:testnet": [quay.fund.publicKey()] },
      });
      const { payer, body } = await newPayment(quay, payTo);
      expect(await client.verify(body.paymentPayload, body.paymentRequirements)).toMatchObject({ isValid: true, payer: payer.publicKey() });
      await pendingThenSettled(body, (b) => client.settle(b.paymentPayload, b.paymentRequirements), payer.publicKey());

      // Settled, the payload no longer verifies: the client must parse that answer too.
      const again = await client.verify(body.paymentPayload, body.paymentRequirements);
      expect(again).toMatchObject({ isValid: false, payer: payer.publicKey() });
      expect(typeof again.invalidReason).toBe("string");
    });
  }

  it("a real @x402/express seller answered settlement_pending before any transaction exists delivers on its one retry", async () => {
    // The worker is away, so the payment waits for one; the seller's first /settle outlasts the
    // 1 s wait. Between Quay and the seller, a proxy brings the worker back as that answer passes,
    // and holds the answer until the payment is final, so the retry finds it settled however slow
    // the machine (a fresh worker's first settlement can outlast the 1 s wait).
    await quay.stopWorker();
    const buyerKeys = Keypair.random();
    await fund(quay.t.devnet, buyerKeys.publicKey(), { usdc: 1_000_000n });
    const seen: Array<Record<string, unknown>> = [];
    const proxy = await settleProxy(quay.apiUrl, async (answer) => {
      seen.push(answer);
      if (answer.errorReason !== "settlement_pending") return;
      await quay.startWorker();
      await eventually(async () => (await payments(quay)).find((p) => p.payer === buyerKeys.publicKey() && p.status === "succeeded"), 30_000, "the payment to settle");
    });
    const seller = await startSeller({ facilitatorUrl: proxy.url, apiKey: quay.apiKey, network: "stellar:testnet", payTo, asset: USDC_SAC, amount: PRICE });
    try {
      const res = await createBuyer(buyerKeys.secret(), "stellar:testnet", quay.t.devnet.rpcUrl).fetch(seller.url);
      expect(res.status).toBe(200);
      expect(seen[0]).toMatchObject({ success: false, errorReason: "settlement_pending" });
      expect(seen[0]!.transaction).not.toBe("");
      expect(seen[1]).toMatchObject({ success: true });
      expect(seen).toHaveLength(2);
      const moved = (await transfers(quay.t)).filter((t) => t.from === buyerKeys.publicKey());
      expect(moved).toEqual([{ from: buyerKeys.publicKey(), to: payTo, amount: PRICE, txHash: seen[1]!.transaction }]);
    } finally {
      await seller.close();
      await proxy.close();
      if (!quay.worker) await quay.startWorker();
    }
  });
});

/** Forwards every request to `target`; each /settle answer is shown to `onSettle` before it is passed on. */
async function settleProxy(target: string, onSettle: (answer: Record<string, unknown>) => Promise<void>): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== "host" && k !== "content-length")) as Record<string, string>;
      const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
      const text = await upstream.text();
      if (req.url === "/settle") await onSettle(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
