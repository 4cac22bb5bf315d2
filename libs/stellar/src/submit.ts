import type { FeeBumpTransaction, Transaction } from "@stellar/stellar-sdk";
import { rpc } from "@stellar/stellar-sdk";
import type { StellarNetwork } from "./network";
import { ResultCodes } from "./result-codes";

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
): Promise<{ readonly txHash: string; readonly ledger: number }> {
  const hash = tx.hash().toString("hex");
  const sent = await network.send(tx.toXDR());
  if (sent.status !== "PENDING" && sent.status !== "DUPLICATE") {
    const code = sent.refusal ? ResultCodes.deciding(sent.refusal) : undefined;
    throw new SubmissionError(`transaction ${hash} refused: ${sent.status}${code ? ` ${code}` : ""}`, hash, code);
  }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    const got = await network.transaction(hash);
    if (got.status === rpc.Api.GetTransactionStatus.SUCCESS) return { txHash: hash, ledger: got.ledger ?? 0 };
    if (got.status === rpc.Api.GetTransactionStatus.FAILED) {
      const code = got.resultXdr ? ResultCodes.deciding(ResultCodes.decode(got.resultXdr)) : "unknown";
      throw new SubmissionError(`transaction ${hash} failed: ${code}`, hash, code);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
  throw new SubmissionError(`transaction ${hash} not confirmed in time`, hash);
}
