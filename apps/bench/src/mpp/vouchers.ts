import { createPrivateKey, sign, type KeyObject } from "node:crypto";
import http from "node:http";
import { performance } from "node:perf_hooks";
import { Challenge, Credential } from "mppx";
import { Commitment } from "@quay/mpp";
import { sleep } from "../processes";
import type { BenchChannel } from "./world";

/**
 * Channel vouchers under open-loop load, ordered per channel. Voucher i is due at start + i / rate
 * on channel i mod C; a channel sends its next voucher only once the previous one is answered (a
 * cumulative voucher overtaking its predecessor would make that one "not increasing"), so a slow
 * server shows as latency measured from the due time, not as a slower offered load. Every voucher
 * is prepared before the level (signature, body, for mppx a challenge fetched from the server) so
 * the client's cost is not in the measurement.
 */

/** Where vouchers go: straight to Quay's relayer API, or to an mppx server (local or relay mode). */
export type VoucherPath =
  | { readonly kind: "relay"; readonly quayUrl: string; readonly apiKey: string }
  | { readonly kind: "mppx"; readonly url: string };

/** A channel's progress across levels: the next cumulative to sign, and what the server answered. */
export class ChannelCursor {
  next = 1n;
  /** The highest cumulative answered "accepted". */
  acceptedMax = 0n;
  /** Amounts sent and never answered (the api was killed, a timeout): the server may or may not hold them. */
  readonly unanswered = new Set<bigint>();
  /** The signature of every voucher sent, by amount (to check what Postgres holds). */
  readonly signatures = new Map<bigint, string>();
  readonly signer: KeyObject;

  constructor(
    readonly index: number,
    readonly channel: BenchChannel,
  ) {
    // Node's ed25519 (the SDK's pure-JS one costs ~10× more): the generator's CPU is the servers' too on two cores.
    const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
    this.signer = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, channel.commitmentKey.rawSecretKey()]), format: "der", type: "pkcs8" });
  }
}

interface PreparedVoucher {
  readonly cursor: ChannelCursor;
  readonly amount: bigint;
  /** relay: the JSON body; mppx: the Authorization header. */
  readonly wire: string;
}

export interface VoucherOutcome {
  readonly channel: number;
  readonly amount: bigint;
  /** ms after the level's start. */
  readonly dueMs: number;
  readonly sentMs: number;
  readonly answeredMs: number;
  readonly kind: "accepted" | "refused" | "none";
  readonly reason?: string;
}

export interface VoucherLevelRun {
  readonly outcomes: readonly VoucherOutcome[];
  readonly maxScheduleLagMs: number;
  readonly wallMs: number;
  /** The load generator's own CPU over the level (ms). */
  readonly generatorCpuMs: number;
}

export async function prepareVouchers(options: {
  readonly path: VoucherPath;
  readonly cursors: readonly ChannelCursor[];
  readonly count: number;
  readonly passphrase: string;
  readonly agent: http.Agent;
}): Promise<PreparedVoucher[]> {
  const { cursors, path } = options;
  const out: PreparedVoucher[] = [];
  for (let i = 0; i < options.count; i++) {
    const cursor = cursors[i % cursors.length]!;
    const amount = cursor.next++;
    const signature = sign(null, Commitment.bytes({ channel: cursor.channel.address, amount, networkPassphrase: options.passphrase }), cursor.signer).toString("hex");
    cursor.signatures.set(amount, signature);
    out.push({ cursor, amount, wire: path.kind === "relay" ? JSON.stringify({ amount: amount.toString(), signature, challengeId: `bench-${cursor.index}-${amount}`, requested: "1" }) : signature });
  }
  if (path.kind === "mppx") {
    // One fresh challenge per voucher, fetched from the server before the level (32 at a time).
    let next = 0;
    const fetchOne = async () => {
      for (let i = next++; i < out.length; i = next++) {
        const v = out[i]!;
        const res = await request(options.agent, "GET", `${path.url}/c/${v.cursor.index}`, {}, undefined, 30_000);
        const header = res.headers["www-authenticate"];
        if (res.status !== 402 || typeof header !== "string") throw new Error(`expected a 402 challenge from ${path.url}/c/${v.cursor.index}, got ${res.status}: ${res.text.slice(0, 300)}`);
        const challenge = Challenge.deserialize(header);
        out[i] = { ...v, wire: Credential.serialize({ challenge, payload: { action: "voucher", amount: v.amount.toString(), signature: v.wire } }) };
      }
    };
    await Promise.all(Array.from({ length: 32 }, fetchOne));
  }
  return out;
}

export async function runVoucherLevel(options: {
  readonly path: VoucherPath;
  readonly vouchers: readonly PreparedVoucher[];
  readonly channels: number;
  readonly perSecond: number;
  readonly timeoutMs: number;
  /** A voucher whose channel is this late sending it is not sent (counted as no answer, reason not_sent:backlog). */
  readonly maxBacklogMs: number;
  readonly agent: http.Agent;
  /** Called at this many ms into the level (the restart phase kills the api there). */
  readonly at?: { readonly ms: number; readonly run: () => Promise<unknown> };
}): Promise<VoucherLevelRun> {
  const { path, vouchers, perSecond, agent } = options;
  const chains: Promise<void>[] = Array.from({ length: options.channels }, () => Promise.resolve());
  const outcomes: VoucherOutcome[] = [];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let maxLag = 0;
  let side: Promise<unknown> | undefined;
  let sideFailure: { error: unknown } | undefined;
  const sendOne = async (v: PreparedVoucher, dueMs: number): Promise<void> => {
    const sentMs = performance.now() - started;
    if (sentMs - dueMs > options.maxBacklogMs) {
      // Its channel is this far behind: the server is saturated; drop the rest of the backlog rather than drain it for minutes.
      outcomes.push({ channel: v.cursor.index, amount: v.amount, dueMs, sentMs, answeredMs: sentMs, kind: "none", reason: NOT_SENT });
      return;
    }
    const done = (kind: VoucherOutcome["kind"], reason?: string) => {
      outcomes.push({ channel: v.cursor.index, amount: v.amount, dueMs, sentMs, answeredMs: performance.now() - started, kind, ...(reason !== undefined ? { reason } : {}) });
      if (kind === "accepted" && v.amount > v.cursor.acceptedMax) v.cursor.acceptedMax = v.amount;
      if (kind === "none") v.cursor.unanswered.add(v.amount);
    };
    try {
      if (path.kind === "relay") {
        const res = await request(
          agent,
          "POST",
          `${path.quayUrl}/mpp/channels/${v.cursor.channel.address}/vouchers`,
          { "content-type": "application/json", authorization: `Bearer ${path.apiKey}` },
          v.wire,
          options.timeoutMs,
        );
        if (res.status !== 200) return done("refused", `http_${res.status}`);
        const body = JSON.parse(res.text) as { success?: boolean; error?: { reason?: string; code?: string } };
        return body.success === true ? done("accepted") : done("refused", body.error?.reason ?? body.error?.code ?? "unspecified");
      }
      const res = await request(agent, "GET", `${path.url}/c/${v.cursor.index}`, { authorization: v.wire }, undefined, options.timeoutMs);
      if (res.status === 200) return done("accepted");
      if (res.status === 402) {
        const body = JSON.parse(res.text) as { details?: { reason?: string; code?: string } };
        return done("refused", body.details?.reason ?? body.details?.code ?? "402");
      }
      return done("refused", `http_${res.status}`);
    } catch (error) {
      const name = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.name) : "error";
      return done("none", `no_answer:${name}`);
    }
  };
  for (let i = 0; i < vouchers.length; i++) {
    const dueMs = (i * 1000) / perSecond;
    if (options.at && !side && dueMs >= options.at.ms) {
      side = options.at.run().catch((error: unknown) => {
        sideFailure = { error };
      });
    }
    const wait = started + dueMs - performance.now();
    if (wait > 1) await sleep(wait);
    maxLag = Math.max(maxLag, performance.now() - started - dueMs);
    const v = vouchers[i]!;
    const c = v.cursor.index % options.channels;
    chains[c] = chains[c]!.then(() => sendOne(v, dueMs));
  }
  await Promise.all(chains);
  await side;
  // Assigned in a callback: read through a cast, or the compiler narrows it to undefined.
  const failure = sideFailure as { error: unknown } | undefined;
  if (failure) throw failure.error;
  const cpu = process.cpuUsage(cpuBefore);
  return { outcomes, maxScheduleLagMs: maxLag, wallMs: performance.now() - started, generatorCpuMs: (cpu.user + cpu.system) / 1000 };
}

/** The reason of a voucher never sent because its channel fell too far behind. */
export const NOT_SENT = "not_sent:backlog";

class TimeoutError extends Error {
  override readonly name = "TimeoutError";
  readonly code = "timeout";
}

export function request(
  agent: http.Agent,
  method: "GET" | "POST",
  url: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), headers: res.headers });
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
