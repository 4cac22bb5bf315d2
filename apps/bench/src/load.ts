import http from "node:http";
import { performance } from "node:perf_hooks";
import type { PreparedPayment } from "./payloads";
import { sleep } from "./processes";

/** What one /settle call came back with. */
export interface Outcome {
  readonly payment: PreparedPayment;
  /** ms after the level started: when the request was sent and when its answer arrived. */
  readonly sentAtMs: number;
  readonly answeredAtMs: number;
  readonly latencyMs: number;
  /** success; a definitive no; Quay's settlement_pending (outcome not known yet); or no answer at all. */
  readonly kind: "success" | "failed" | "pending" | "none";
  readonly reason?: string;
  readonly transaction?: string;
}

export interface LoadRun {
  readonly outcomes: readonly Outcome[];
  /** Worst delay between a request's scheduled time and its send: the generator keeping up, or not. */
  readonly maxScheduleLagMs: number;
}

export const SETTLEMENT_PENDING = "settlement_pending";

/**
 * Open loop: payment i is sent at start + i / rate whatever happened to the ones before it, so an
 * overloaded facilitator's queueing shows in the latency instead of slowing the offered load.
 */
export async function runOpenLoop(options: {
  readonly url: string;
  readonly apiKey?: string;
  readonly payments: readonly PreparedPayment[];
  readonly perSecond: number;
  readonly timeoutMs: number;
}): Promise<LoadRun> {
  const { payments, perSecond } = options;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  // node:http on kept-alive sockets: fetch costs the generator several CPU ms per call, which on a
  // small machine the facilitator under test would pay for.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const started = performance.now();
  let maxLag = 0;
  const inFlight: Promise<Outcome>[] = [];
  for (let i = 0; i < payments.length; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    maxLag = Math.max(maxLag, performance.now() - due);
    inFlight.push(settleOnce(agent, options.url, headers, payments[i]!, started, options.timeoutMs));
  }
  const outcomes = await Promise.all(inFlight);
  agent.destroy();
  return { outcomes, maxScheduleLagMs: maxLag };
}

async function settleOnce(agent: http.Agent, url: string, headers: Record<string, string>, payment: PreparedPayment, levelStart: number, timeoutMs: number): Promise<Outcome> {
  const sent = performance.now();
  const done = (kind: Outcome["kind"], extra: { reason?: string; transaction?: string } = {}): Outcome => {
    const answered = performance.now();
    return { payment, sentAtMs: sent - levelStart, answeredAtMs: answered - levelStart, latencyMs: answered - sent, kind, ...extra };
  };
  try {
    const { status, text } = await post(agent, `${url}/settle`, headers, payment.json, timeoutMs);
    if (status !== 200) return done("failed", { reason: `http_${status}` });
    const body = JSON.parse(text) as { success?: unknown; errorReason?: unknown; transaction?: unknown };
    const transaction = typeof body.transaction === "string" && body.transaction ? { transaction: body.transaction } : {};
    if (body.success === true) return done("success", transaction);
    const reason = typeof body.errorReason === "string" ? body.errorReason : "unspecified";
    return done(reason === SETTLEMENT_PENDING ? "pending" : "failed", { reason, ...transaction });
  } catch (error) {
    const name = error instanceof Error ? error.name : "error";
    return done("none", { reason: `no_answer:${name === "TimeoutError" ? "timeout" : name}` });
  }
}

class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

function post(agent: http.Agent, url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    });
    const timer = setTimeout(() => req.destroy(new TimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}
