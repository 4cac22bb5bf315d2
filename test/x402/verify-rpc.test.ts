/**
 * StellarNetwork, the RPC client verify (and settle) run on: caches, the ledger-close estimate,
 * deadlines, and the split between an unavailable RPC and the RPC's own error answers, all timed
 * into quay_rpc_call_duration_seconds. Against a scripted JSON-RPC server on loopback.
 */
import { createServer } from "node:net";
import { xdr } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FALLBACK_LEDGER_CLOSE_SECONDS, RpcResponseError, RpcUnavailableError, StellarNetwork } from "@quay/stellar";
import { metricValue, startScriptedRpc, testMetrics, testNetwork, type ScriptedRpc } from "./fixtures";

let rpc: ScriptedRpc;

beforeAll(async () => {
  rpc = await startScriptedRpc();
});
afterAll(async () => {
  await rpc.close();
});
beforeEach(() => {
  rpc.calls.length = 0;
  rpc.override.clear();
  rpc.latestLedger = 1_000;
  rpc.closeSecondsPerLedger = 5;
});

function clock(start = 1_000_000) {
  const c = { now: start, advance: (ms: number) => (c.now += ms) };
  return c;
}

describe("latestLedger", () => {
  it("is reused for its TTL and refreshed after", async () => {
    const time = clock();
    const network = testNetwork(rpc.url, testMetrics(), { now: () => time.now, latestLedgerTtlMs: 1_000 });
    expect(await network.latestLedger()).toBe(1_000);
    rpc.latestLedger = 1_001;
    time.advance(999);
    expect(await network.latestLedger()).toBe(1_000);
    time.advance(1);
    expect(await network.latestLedger()).toBe(1_001);
    expect(rpc.calls).toEqual(["getLatestLedger", "getLatestLedger"]);
  });

  it("costs one request for many concurrent callers", async () => {
    const network = testNetwork(rpc.url, testMetrics());
    const answers = await Promise.all(Array.from({ length: 20 }, () => network.latestLedger()));
    expect(new Set(answers)).toEqual(new Set([1_000]));
    expect(rpc.calls).toEqual(["getLatestLedger"]);
  });

  it("does not cache a failure", async () => {
    const network = testNetwork(rpc.url, testMetrics());
    rpc.override.set("getLatestLedger", { httpStatus: 503 });
    await expect(network.latestLedger()).rejects.toBeInstanceOf(RpcUnavailableError);
    rpc.override.clear();
    expect(await network.latestLedger()).toBe(1_000);
  });
});

describe("ledgerAfter", () => {
  it("waits for a newer ledger, and many waiters share each poll", async () => {
    const network = testNetwork(rpc.url, testMetrics());
    const waits = Array.from({ length: 30 }, () => network.ledgerAfter(1_000, 50));
    await new Promise((resolve) => setTimeout(resolve, 240));
    const polls = rpc.calls.length;
    // Thirty waiters for ~5 polling periods: a handful of requests, not thirty per period.
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(7);
    rpc.latestLedger = 1_001;
    expect(new Set(await Promise.all(waits))).toEqual(new Set([1_001]));
    expect(rpc.calls.every((method) => method === "getLatestLedger")).toBe(true);
  });

  it("answers at once when the RPC is already past the ledger", async () => {
    const network = testNetwork(rpc.url, testMetrics());
    expect(await network.ledgerAfter(999, 10_000)).toBe(1_000);
    expect(rpc.calls).toEqual(["getLatestLedger"]);
  });
});

describe("ledgerCloseSeconds", () => {
  it("is measured from the RPC's ledger close times, and cached", async () => {
    const time = clock();
    const network = testNetwork(rpc.url, testMetrics(), { now: () => time.now, closeTimeTtlMs: 60_000 });
    rpc.closeSecondsPerLedger = 5.5;
    expect(await network.ledgerCloseSeconds()).toBeCloseTo(5.5, 1);
    rpc.closeSecondsPerLedger = 1;
    time.advance(59_000);
    expect(await network.ledgerCloseSeconds()).toBeCloseTo(5.5, 1);
    time.advance(1_000);
    expect(await network.ledgerCloseSeconds()).toBe(1);
    expect(rpc.calls.filter((m) => m === "getLedgers")).toHaveLength(2);
  });

  it("falls back to 5 s when the RPC cannot tell, and asks again a few seconds later", async () => {
    const time = clock();
    const network = testNetwork(rpc.url, testMetrics(), { now: () => time.now });
    rpc.override.set("getLedgers", { error: { code: -32600, message: "start is before the oldest ledger" } });
    expect(await network.ledgerCloseSeconds()).toBe(FALLBACK_LEDGER_CLOSE_SECONDS);
    rpc.override.clear();
    rpc.closeSecondsPerLedger = 2;
    expect(await network.ledgerCloseSeconds()).toBe(FALLBACK_LEDGER_CLOSE_SECONDS);
    time.advance(5_000);
    expect(await network.ledgerCloseSeconds()).toBe(2);
  });

  it("falls back when the RPC is down instead of failing the caller", async () => {
    const network = testNetwork(rpc.url, testMetrics());
    rpc.override.set("getLatestLedger", { httpStatus: 500 });
    expect(await network.ledgerCloseSeconds()).toBe(FALLBACK_LEDGER_CLOSE_SECONDS);
  });
});

describe("call", () => {
  it("times successful calls by network, method and outcome", async () => {
    const metrics = testMetrics();
    const network = testNetwork(rpc.url, metrics);
    expect(await network.getHealth()).toMatchObject({ status: "healthy", oldestLedger: 1 });
    expect(await metricValue(metrics, "quay_rpc_call_duration_seconds", { network: "stellar:testnet", method: "getHealth", outcome: "ok" })).toBe(1);
  });

  it("turns a 5xx or 429 into RpcUnavailableError (outcome unavailable)", async () => {
    const metrics = testMetrics();
    const network = testNetwork(rpc.url, metrics);
    for (const status of [503, 429]) {
      rpc.override.set("getHealth", { httpStatus: status });
      const error = await network.getHealth().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RpcUnavailableError);
      expect(error).toMatchObject({ reason: "http_status", retryable: true, method: "getHealth" });
    }
    expect(await metricValue(metrics, "quay_rpc_call_duration_seconds", { method: "getHealth", outcome: "unavailable" })).toBe(2);
  });

  it("turns a 4xx into RpcResponseError", async () => {
    const network = testNetwork(rpc.url, testMetrics());
    rpc.override.set("getHealth", { httpStatus: 404 });
    await expect(network.getHealth()).rejects.toMatchObject({ name: "RpcResponseError", code: 404 });
  });

  it("turns a JSON-RPC error into RpcResponseError with its code (outcome rpc_error)", async () => {
    const metrics = testMetrics();
    const network = testNetwork(rpc.url, metrics);
    rpc.override.set("getFeeStats", { error: { code: -32602, message: "invalid parameters" } });
    const error = await network.getFeeStats().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcResponseError);
    expect(error).toMatchObject({ code: -32602, retryable: false });
    expect((error as Error).message).toContain("invalid parameters");
    expect(await metricValue(metrics, "quay_rpc_call_duration_seconds", { method: "getFeeStats", outcome: "rpc_error" })).toBe(1);
  });

  it("gives up at the deadline with RpcUnavailableError (outcome timeout)", async () => {
    const metrics = testMetrics();
    const network = testNetwork(rpc.url, metrics, { timeoutMs: 150 });
    rpc.override.set("getLatestLedger", { hang: true });
    const started = Date.now();
    const error = await network.latestLedger().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error).toMatchObject({ name: "RpcUnavailableError", reason: "timeout" });
    expect(await metricValue(metrics, "quay_rpc_call_duration_seconds", { method: "getLatestLedger", outcome: "timeout" })).toBe(1);
  });

  it("turns a refused connection into RpcUnavailableError", async () => {
    const port = await unusedPort();
    const network = testNetwork(`http://127.0.0.1:${port}`, testMetrics());
    await expect(network.latestLedger()).rejects.toMatchObject({ name: "RpcUnavailableError", reason: "connection" });
  });

  it("passes the SDK's own errors through unchanged", async () => {
    const network = testNetwork(rpc.url, testMetrics());
    const own = new Error("account not found");
    await expect(network.call("getAccount", () => Promise.reject(own))).rejects.toBe(own);
  });
});

describe("the hot calls' own JSON-RPC client", () => {
  it("returns the call's result, timed like every other call", async () => {
    const metrics = testMetrics();
    const network = testNetwork(rpc.url, metrics);
    rpc.latestLedger = 4_321;
    expect(await network.request("getLatestLedger")).toMatchObject({ sequence: 4_321, protocolVersion: 23 });
    expect(rpc.calls).toEqual(["getLatestLedger"]);
    expect(await metricValue(metrics, "quay_rpc_call_duration_seconds", { method: "getLatestLedger", outcome: "ok" })).toBe(1);
  });

  it("sorts failures as the SDK's calls are sorted: 5xx and 429 unavailable, 4xx and JSON-RPC errors the RPC's answer", async () => {
    const network = testNetwork(rpc.url, testMetrics());
    for (const status of [503, 429]) {
      rpc.override.set("getTransaction", { httpStatus: status });
      await expect(network.transaction("ab".repeat(32))).rejects.toMatchObject({ name: "RpcUnavailableError", reason: "http_status", retryable: true });
    }
    rpc.override.set("getTransaction", { httpStatus: 404 });
    await expect(network.transaction("ab".repeat(32))).rejects.toMatchObject({ name: "RpcResponseError", code: 404 });
    rpc.override.set("sendTransaction", { error: { code: -32602, message: "invalid parameters" } });
    const error = await network.send("AAAA").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcResponseError);
    expect(error).toMatchObject({ code: -32602, retryable: false, method: "sendTransaction" });
    expect((error as Error).message).toContain("invalid parameters");
  });

  it("gives up on a silent RPC at the deadline, and on a refused connection, with RpcUnavailableError", async () => {
    const network = testNetwork(rpc.url, testMetrics(), { timeoutMs: 150 });
    rpc.override.set("sendTransaction", { hang: true });
    await expect(network.send("AAAA")).rejects.toMatchObject({ name: "RpcUnavailableError", reason: "timeout" });
    const nowhere = testNetwork(`http://127.0.0.1:${await unusedPort()}`, testMetrics());
    await expect(nowhere.send("AAAA")).rejects.toMatchObject({ name: "RpcUnavailableError", reason: "connection" });
  });

  it("decodes a refused transaction's result", async () => {
    const network = testNetwork(rpc.url, testMetrics());
    const refused = new xdr.TransactionResult({
      feeCharged: new xdr.Int64(100),
      result: xdr.TransactionResultResult.txBadSeq(),
      ext: new xdr.TransactionResultExt(0),
    });
    rpc.override.set("sendTransaction", { result: { status: "ERROR", hash: "cd".repeat(32), latestLedger: 77, latestLedgerCloseTime: "0", errorResultXdr: refused.toXDR("base64") } });
    const sent = await network.send("AAAA");
    expect(sent).toMatchObject({ status: "ERROR", hash: "cd".repeat(32), latestLedger: 77 });
    expect(sent.refusal).toMatchObject({ outer: "txBadSeq" });
  });
});

describe("construction", () => {
  it("allows plain HTTP only for an http:// URL and keeps the configured passphrase", () => {
    const metrics = testMetrics();
    expect(() => testNetwork("http://127.0.0.1:1", metrics)).not.toThrow();
    const network = new StellarNetwork({ id: "stellar:pubnet", passphrase: "Public Global Stellar Network ; September 2015", rpcUrl: "https://rpc.example.org" }, metrics);
    expect(network.passphrase).toBe("Public Global Stellar Network ; September 2015");
    expect(network.rpcUrl).toBe("https://rpc.example.org");
  });
});

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
