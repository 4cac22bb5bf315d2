import { and, eq } from "drizzle-orm";
import { schema } from "@quay/db";
import { Records, SettleReasons, type Submission } from "@quay/settlement";
import { ChannelsApiError } from "./errors";
import type { SponsorDeps } from "./deps";

const { submissions } = schema;

/** The statuses a ChannelsClient polls through: pending, submitted (not final), confirmed, failed, expired (final). */
export type ChannelsStatus = "pending" | "submitted" | "confirmed" | "failed" | "expired";

export interface TransactionAnswer {
  readonly transactionId: string;
  readonly status: ChannelsStatus;
  readonly hash: string | null;
}

/**
 * `{getTransaction: {transactionId}}`, scoped to the key that submitted it (OZ answers any key;
 * an id is not a secret, but what a tenant sends is its own business).
 */
export async function getTransaction(deps: SponsorDeps, network: string, apiKeyId: string, transactionId: string): Promise<TransactionAnswer> {
  const [submission] = await deps.db
    .select()
    .from(submissions)
    .where(and(eq(submissions.id, transactionId), eq(submissions.apiKeyId, apiKeyId), eq(submissions.network, network), eq(submissions.kind, "channels")));
  if (!submission) throw new ChannelsApiError("TRANSACTION_NOT_FOUND", "no transaction with this id for this API key", { transactionId });
  const hash = submission.txHash ?? (submission.status === "submitting" ? ((await Records.latestAttempt(deps.db, submission.id))?.txHash ?? null) : null);
  return { transactionId: submission.id, status: statusOf(submission), hash };
}

/**
 * An unresolved submission (its authorisation spent by a transaction Quay cannot find) is left to
 * the operator: it stays "submitted", never reported failed while money may have moved.
 */
function statusOf(submission: Submission): ChannelsStatus {
  switch (submission.status) {
    case "queued":
      return "pending";
    case "submitting":
    case "unresolved":
      return "submitted";
    case "succeeded":
      return "confirmed";
    case "failed":
      return submission.reason === SettleReasons.expired ? "expired" : "failed";
  }
}
