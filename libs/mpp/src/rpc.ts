import { rpc } from "@stellar/stellar-sdk";
import type { FeeBumpTransaction, Transaction } from "@stellar/stellar-sdk";
import { DEFAULT_POLL_TIMEOUT_MS } from "./constants.js";
import { StellarMppError } from "./errors.js";

/** The few RPC steps the method needs, with RPC outages turned into `temporarily_unavailable`. */

export interface PollOptions {
  readonly intervalMs?: number;
  /** How long to wait for an outcome before answering `settlement_ambiguous`; default DEFAULT_POLL_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /**
   * The submitted transaction's maxTime (unix seconds), when it has one. Once a ledger closes past
   * it with the transaction still unknown, the transaction can never be included: a definite
   * `transaction_expired`; a maxTime within the wait extends it long enough to see that.
   */
  readonly maxTime?: number;
}

/** How long after its maxTime a transaction is waited for, for a ledger to close past it. */
const EXPIRY_SLACK_MS = 15_000;

export const Rpc = {
  /** An rpc.Server; an http:// URL (a local devnet) is allowed because the caller chose it explicitly. */
  server(url: string): rpc.Server {
    return new rpc.Server(url, { allowHttp: new URL(url).protocol === "http:" });
  },

  /** Runs an RPC call; a transport failure becomes StellarMppError("temporarily_unavailable"). */
  async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof StellarMppError) throw error;
      throw new StellarMppError("temporarily_unavailable", "rpc_unavailable", `Stellar RPC ${what} failed`);
    }
  },

  /** Sends; anything but PENDING is a broadcast failure. Returns the hash. */
  async send(server: rpc.Server, tx: Transaction | FeeBumpTransaction): Promise<string> {
    const sent = await Rpc.call("sendTransaction", () => server.sendTransaction(tx));
    if (sent.status !== "PENDING") {
      const code = sent.errorResult?.result().switch().name;
      throw new StellarMppError("broadcast_failed", "send_refused", `sendTransaction answered ${sent.status}${code ? ` (${code})` : ""}`);
    }
    return sent.hash;
  },

  /**
   * Polls until the ledger decides: SUCCESS is returned; FAILED, or two answers from ledgers past
   * `maxTime` without it, is a definite broadcast failure (nothing moved). Only an RPC that cannot tell in
   * time leaves it `settlement_ambiguous`.
   */
  async waitForSuccess(server: rpc.Server, hash: string, options: PollOptions = {}): Promise<rpc.Api.GetSuccessfulTransactionResponse> {
    const waited = Date.now() + (options.timeoutMs ?? DEFAULT_POLL_TIMEOUT_MS);
    // A maxTime within the wait extends it by the slack, so the expiry is seen; a later one cannot be waited for.
    const deadline = options.maxTime !== undefined ? Math.max(waited, Math.min(options.maxTime * 1000, waited) + EXPIRY_SLACK_MS) : waited;
    let pastMaxTime = 0;
    for (;;) {
      const got = await Rpc.call("getTransaction", () => server.getTransaction(hash));
      if (got.status === rpc.Api.GetTransactionStatus.SUCCESS) return got;
      if (got.status === rpc.Api.GetTransactionStatus.FAILED) {
        throw new StellarMppError("broadcast_failed", "transaction_failed", `transaction failed on chain (${got.resultXdr.result().switch().name})`);
      }
      // stellar-rpc reads the transaction before the ledger range, so one NOT_FOUND past maxTime can
      // miss a transaction in a ledger it was still ingesting; the next read, made after that
      // range was read, cannot.
      if (options.maxTime !== undefined && Number(got.latestLedgerCloseTime) > options.maxTime) {
        if (++pastMaxTime >= 2) throw new StellarMppError("broadcast_failed", "transaction_expired", "the transaction was not included before its time bounds ended; nothing moved");
      } else {
        pastMaxTime = 0;
      }
      if (Date.now() > deadline) {
        throw new StellarMppError("broadcast_failed", "settlement_ambiguous", "transaction not confirmed in time; its outcome is pending reconciliation");
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
    }
  },

  /** The maxTime (unix seconds) of a transaction's time bounds, or of a fee bump's inner transaction; undefined if unbounded. */
  maxTimeOf(tx: Transaction | FeeBumpTransaction): number | undefined {
    const inner = "innerTransaction" in tx ? tx.innerTransaction : tx;
    const maxTime = Number(inner.timeBounds?.maxTime ?? 0);
    return maxTime > 0 ? maxTime : undefined;
  },

  /** Simulates; a simulation error or a needed restore is `simulation_failed` (first line of the error only). */
  async simulate(server: rpc.Server, tx: Transaction): Promise<rpc.Api.SimulateTransactionSuccessResponse> {
    const sim = await Rpc.call("simulateTransaction", () => server.simulateTransaction(tx));
    if (rpc.Api.isSimulationError(sim)) {
      const headline = (sim.error.split("\n", 1)[0] ?? "").slice(0, 200);
      throw new StellarMppError("simulation_failed", "simulation_failed", `simulation failed: ${headline}`);
    }
    if (rpc.Api.isSimulationRestore(sim)) throw new StellarMppError("simulation_failed", "simulation_failed", "simulation needs archived entries restored first");
    return sim;
  },
} as const;
