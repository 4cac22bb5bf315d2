import { rpc } from "@stellar/stellar-sdk";
import type { Db } from "@quay/db";
import type { Logger } from "@quay/log";
import type { Metrics } from "@quay/metrics";
import { ResultCodes, RpcUnavailableError, type StellarNetwork } from "@quay/stellar";
import { Records, type Attempt } from "./records";

/** What is known of one recorded transaction. */
export type Confirmation =
  | { readonly kind: "success"; readonly ledger: number; readonly feeCharged: bigint }
  /** In a ledger, FAILED; `drift`: on state that changed since simulation (worth one fresh simulation). */
  | { readonly kind: "failed"; readonly ledger: number; readonly feeCharged: bigint; readonly code: string; readonly drift: boolean }
  /** Its time bounds passed and the RPC, whose history covers its whole life, never saw it: it never landed, and never will. */
  | { readonly kind: "expired" }
  /** Dropped from the network's queue and its hash banned: it lands only if offered again (another bid, or rebuilt on the same sequence). */
  | { readonly kind: "evicted" }
  /** Past its time bounds, but older than the RPC's history: getTransaction cannot tell; the ledger's state must. */
  | { readonly kind: "unknown" };

export type Landed = Extract<Confirmation, { kind: "success" | "failed" }>;

export interface ConfirmOptions {
  /** An attempt found in flight (a crashed run's) is sent again once: the same envelope, so it lands at most once. */
  readonly resend?: boolean;
  /** The ledger the RPC was at when it accepted the send: the transaction cannot be in a ledger before it. */
  readonly sentAtLedger?: number;
  /**
   * After this many ledgers without it, the transaction is offered again: stellar-core drops what
   * it has not included within 4 ledgers and bans its hash for 10, so a refusal then means evicted.
   */
  readonly evictAfterLedgers?: number;
}

export interface ConfirmerDeps {
  readonly db: Db;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** How often to ask for an outcome on this network. */
  pollInterval(network: StellarNetwork): Promise<number>;
}

/**
 * Follows a recorded transaction until its fate is known. "Never landed" is decided on the RPC's
 * ledger clock, not this machine's, and only when it is conclusive: the answer must come twice, a
 * ledger apart (stellar-rpc reads the transaction before the ledger range, so one NOT_FOUND can
 * come with a newer latest ledger than the transaction's own), and the RPC's history must reach
 * back past the attempt's creation (else NOT_FOUND says nothing: `unknown`).
 */
export class Confirmer {
  constructor(private readonly deps: ConfirmerDeps) {}

  async confirm(network: StellarNetwork, attempt: Attempt, options: ConfirmOptions = {}): Promise<Confirmation> {
    let resend = options.resend === true && attempt.status !== "succeeded";
    let offeredAt = options.sentAtLedger;
    let pastBounds = 0;
    // Just sent: it cannot be in a ledger the RPC already had when it answered the send.
    if (offeredAt !== undefined) await network.ledgerAfter(offeredAt, await this.deps.pollInterval(network));
    for (;;) {
      // Raw: the parsed answer decodes the envelope and metadata too, and only the result is needed.
      const got = await network.transaction(attempt.txHash);
      if (got.status !== rpc.Api.GetTransactionStatus.NOT_FOUND) {
        const outcome = concluded(got);
        if (outcome) return outcome;
      }
      if (Number(got.latestLedgerCloseTime) > attempt.maxTime) {
        if (Number(got.oldestLedgerCloseTime) > Math.floor(attempt.createdAt.getTime() / 1000)) return { kind: "unknown" };
        if (++pastBounds >= 2) return { kind: "expired" };
      } else {
        pastBounds = 0;
        if (resend) {
          resend = false;
          await this.resend(network, attempt);
        } else if (options.evictAfterLedgers !== undefined && offeredAt !== undefined && got.latestLedger - offeredAt >= options.evictAfterLedgers) {
          const again = await this.offerAgain(network, attempt);
          if (again === "evicted") return { kind: "evicted" };
          offeredAt = again ?? got.latestLedger;
        }
      }
      // Not in a ledger the RPC has: ask again only once a newer one closed.
      await network.ledgerAfter(got.latestLedger, await this.deps.pollInterval(network));
    }
  }

  /** A resumed attempt sent again, best effort: whatever the answer, polling decides its fate. */
  private async resend(network: StellarNetwork, attempt: Attempt): Promise<void> {
    try {
      const sent = await network.send(attempt.envelope);
      if (sent.status === "PENDING" || sent.status === "DUPLICATE") await Records.markSent(this.deps.db, attempt.id);
      this.deps.metrics.submissionRetries.inc({ network: network.id, cause: "resumed" });
    } catch (error) {
      if (error instanceof RpcUnavailableError) throw error;
      this.deps.logger.warn({ attemptId: attempt.id, err: error }, "resending a resumed attempt failed");
    }
  }

  /**
   * A transaction long unseen is offered again. Still queued (DUPLICATE) or taken again (PENDING):
   * the ledger it was taken at. Refused as banned (TRY_AGAIN_LATER): evicted. Any other refusal
   * (it may have just landed: its sequence is spent) leaves it to polling.
   */
  private async offerAgain(network: StellarNetwork, attempt: Attempt): Promise<number | "evicted" | undefined> {
    const sent = await network.send(attempt.envelope);
    if (sent.status === "PENDING" || sent.status === "DUPLICATE") return sent.latestLedger;
    if (sent.status === "TRY_AGAIN_LATER") {
      this.deps.metrics.submissionRetries.inc({ network: network.id, cause: "evicted" });
      return "evicted";
    }
    return undefined;
  }
}

/** A transaction's outcome from its raw getTransaction answer; undefined while it is not in a ledger. */
export function concluded(got: rpc.Api.RawGetTransactionResponse): Landed | undefined {
  if (got.ledger === undefined || got.resultXdr === undefined) return undefined;
  const codes = ResultCodes.decode(got.resultXdr);
  if (got.status === rpc.Api.GetTransactionStatus.SUCCESS) return { kind: "success", ledger: got.ledger, feeCharged: codes.feeCharged };
  return { kind: "failed", ledger: got.ledger, feeCharged: codes.feeCharged, code: codes.operation ?? ResultCodes.deciding(codes), drift: ResultCodes.driftFailure(codes) };
}
