import type { FeeBumpTransaction, Transaction } from "@stellar/stellar-sdk";
import { rpc } from "@stellar/stellar-sdk";
import type { StellarNetwork } from "./network";

export class SubmissionError extends Error {
  override readonly name = "SubmissionError";
  constructor(
    message: string,
    readonly hash: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * Sends one signed transaction and waits until it is in a ledger. For operator work (creating and
 * topping up channel accounts), where a plain failure is the right answer; settlement has its own
 * loop with leases, fee bumps and recovery.
 */
export async function submitAndWait(
  network: StellarNetwork,
  tx: Transaction | FeeBumpTransaction,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<rpc.Api.GetSuccessfulTransactionResponse> {
  const hash = tx.hash().toString("hex");
  const sent = await network.call("sendTransaction", () => network.rpc.sendTransaction(tx));
  if (sent.status !== "PENDING" && sent.status !== "DUPLICATE") {
    const code = sent.errorResult?.result().switch().name;
    throw new SubmissionError(`transaction ${hash} refused: ${sent.status}${code ? ` ${code}` : ""}`, hash, code);
  }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    const got = await network.call("getTransaction", () => network.rpc.getTransaction(hash));
    if (got.status === rpc.Api.GetTransactionStatus.SUCCESS) return got;
    if (got.status === rpc.Api.GetTransactionStatus.FAILED) {
      const code = got.resultXdr.result().switch().name;
      throw new SubmissionError(`transaction ${hash} failed: ${code}`, hash, code);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
  throw new SubmissionError(`transaction ${hash} not confirmed in time`, hash);
}
