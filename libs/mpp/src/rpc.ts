import { rpc } from "@stellar/stellar-sdk";
import type { FeeBumpTransaction, Transaction } from "@stellar/stellar-sdk";
import { StellarMppError } from "./errors.js";

/** The few RPC steps the method needs, with RPC outages turned into `temporarily_unavailable`. */

export interface PollOptions {
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
}

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

  /** Polls until SUCCESS; FAILED or no answer in time is a broadcast failure. */
  async waitForSuccess(server: rpc.Server, hash: string, options: PollOptions = {}): Promise<rpc.Api.GetSuccessfulTransactionResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    for (;;) {
      const got = await Rpc.call("getTransaction", () => server.getTransaction(hash));
      if (got.status === rpc.Api.GetTransactionStatus.SUCCESS) return got;
      if (got.status === rpc.Api.GetTransactionStatus.FAILED) {
        throw new StellarMppError("broadcast_failed", "transaction_failed", `transaction failed on chain (${got.resultXdr.result().switch().name})`);
      }
      if (Date.now() > deadline) {
        throw new StellarMppError("broadcast_failed", "settlement_ambiguous", "transaction not confirmed in time; its outcome is pending reconciliation");
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
    }
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
