import http from "node:http";
import { performance } from "node:perf_hooks";
import { Keypair } from "@stellar/stellar-sdk";
import { Receipt } from "mppx";
import { Mppx as ClientMppx } from "mppx/client";
import { friendbot } from "@quay/demo";
import { Stellar } from "@quay/mpp";
import { sleep } from "../processes";
import { request } from "./vouchers";

/**
 * Sponsored MPP charges through Quay: an mppx server sells `GET /charge` with Quay's charge method
 * in relay mode; payers (funded by friendbot) build their credentials with @quay/mpp's client
 * method before the level (simulated SAC transfer, auth entry signed: pull mode, sponsored), and
 * the level sends them open loop at a rate relative to the pool's limit (N per ledger). A 200 comes
 * once Quay's settlement is final, its receipt naming the transaction.
 */

export interface ChargeOutcome {
  readonly sentMs: number;
  readonly answeredMs: number;
  readonly kind: "success" | "failed" | "none";
  readonly reason?: string;
  readonly reference?: string;
}

const payerClient = (keypair: Keypair, rpcUrl: string) => ClientMppx.create({ polyfill: false, methods: [Stellar.client.charge({ keypair, rpcUrl })] });

export class ChargePayers {
  private next = 0;
  private constructor(private readonly clients: ReturnType<typeof payerClient>[]) {}

  static async create(friendbotUrl: string, rpcUrl: string, count: number): Promise<ChargePayers> {
    const keypairs = Array.from({ length: count }, () => Keypair.random());
    await Promise.all(keypairs.map((k) => friendbot(friendbotUrl, k.publicKey(), 1_000_000_000n)));
    return new ChargePayers(keypairs.map((keypair) => payerClient(keypair, rpcUrl)));
  }

  /** `count` credentials for the route, each from its own 402, built 8 at a time. */
  async prepare(url: string, count: number): Promise<string[]> {
    const out: string[] = new Array<string>(count);
    let i = 0;
    const worker = async () => {
      for (let j = i++; j < count; j = i++) {
        const challenge = await fetch(url);
        if (challenge.status !== 402) throw new Error(`expected a 402 from ${url}, got ${challenge.status}`);
        const client = this.clients[this.next++ % this.clients.length]!;
        out[j] = await client.createCredential(challenge);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return out;
  }
}

export async function runChargeLevel(options: { readonly url: string; readonly credentials: readonly string[]; readonly perSecond: number; readonly timeoutMs: number }): Promise<{ outcomes: ChargeOutcome[]; wallMs: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const started = performance.now();
  const inFlight: Promise<ChargeOutcome>[] = [];
  const one = async (credential: string): Promise<ChargeOutcome> => {
    const sentMs = performance.now() - started;
    const done = (kind: ChargeOutcome["kind"], extra: { reason?: string; reference?: string } = {}): ChargeOutcome => ({ sentMs, answeredMs: performance.now() - started, kind, ...extra });
    try {
      const res = await request(agent, "GET", options.url, { authorization: credential }, undefined, options.timeoutMs);
      if (res.status === 200) {
        const header = res.headers["payment-receipt"];
        const reference = typeof header === "string" ? Receipt.deserialize(header).reference : undefined;
        return done("success", reference ? { reference } : {});
      }
      let reason = `http_${res.status}`;
      try {
        const body = JSON.parse(res.text) as { details?: { reason?: string; code?: string } };
        reason = body.details?.reason ?? body.details?.code ?? reason;
      } catch {
        // not JSON: keep the status
      }
      return done("failed", { reason });
    } catch (error) {
      const name = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.name) : "error";
      return done("none", { reason: `no_answer:${name}` });
    }
  };
  for (let i = 0; i < options.credentials.length; i++) {
    const wait = started + (i * 1000) / options.perSecond - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(one(options.credentials[i]!));
  }
  const outcomes = await Promise.all(inFlight);
  agent.destroy();
  return { outcomes, wallMs: performance.now() - started };
}
