import { Address, rpc, scValToNative, xdr } from "@stellar/stellar-sdk";
import type { DbPool } from "@quay/db";
import { USDC_SAC } from "./payloads";
import { sleep } from "./processes";

/** What the ledger and Quay's tables say about a level's payments, keyed by amount (unique per payment). */

export interface Landing {
  readonly amount: bigint;
  readonly from: string;
  readonly txHash: string;
  readonly ledger: number;
  /** When that ledger closed (ms since the epoch; the RPC gives whole seconds). */
  readonly closedAtMs: number;
}

/** Every USDC transfer to `payTo` from `startLedger` on, read from the devnet's getEvents. */
export async function transfersTo(server: rpc.Server, payTo: string, startLedger: number): Promise<Landing[]> {
  const out: Landing[] = [];
  const topics = [[xdr.ScVal.scvSymbol("transfer").toXDR("base64"), "*", new Address(payTo).toScVal().toXDR("base64"), "*"]];
  let cursor: string | undefined;
  for (;;) {
    const page: rpc.Api.GetEventsResponse = await server.getEvents({
      ...(cursor ? { cursor } : { startLedger }),
      filters: [{ type: "contract", contractIds: [USDC_SAC], topics }],
      limit: 200,
    });
    for (const event of page.events) {
      // Checked again here: the filter is the RPC's, the count is ours.
      if (String(scValToNative(event.topic[2]!)) !== payTo) continue;
      out.push({
        amount: BigInt(scValToNative(event.value) as bigint),
        from: String(scValToNative(event.topic[1]!)),
        txHash: event.txHash,
        ledger: event.ledger,
        closedAtMs: Date.parse(event.ledgerClosedAt),
      });
    }
    if (page.events.length < 200) return out;
    cursor = page.cursor;
  }
}

export interface QuayRecord {
  readonly amount: bigint;
  readonly status: string;
  readonly reason: string | null;
  readonly attemptStatuses: readonly string[];
}

/** Quay's payments to `payTo` with the status of each of their attempts. */
export async function quayRecords(db: DbPool, payTo: string): Promise<QuayRecord[]> {
  const { rows } = await db.query<{ amount: string; status: string; reason: string | null; attempts: string[] | null }>(
    `select p.amount::text as amount, p.status::text as status, p.reason,
            array_remove(array_agg(a.status::text order by a.created_at), null) as attempts
       from submissions p left join submission_attempts a on a.submission_id = p.id
      where p.pay_to = $1
      group by p.id`,
    [payTo],
  );
  return rows.map((r) => ({ amount: BigInt(r.amount), status: r.status, reason: r.reason, attemptStatuses: r.attempts ?? [] }));
}

/** Waits until none of Quay's payments to `payTo` is queued or submitting; false if `timeoutMs` ran out first. */
export async function quayDrained(db: DbPool, payTo: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ open: number }>(
      "select count(*)::int as open from submissions where pay_to = $1 and status in ('queued', 'submitting')",
      [payTo],
    );
    if ((rows[0]?.open ?? 0) === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(250);
  }
}

/** Where Quay's time goes, per attempt of a level's payments (ms): the throughput diagnosis. */
export interface QuayTimings {
  /** Payment accepted by the api → its attempt built by the worker: queue and lease wait. */
  readonly waitMs: readonly number[];
  /** Attempt built → concluded: simulate, sign, send, the ledger, and noticing it closed. */
  readonly attemptMs: readonly number[];
  /** The same channel account's previous attempt concluded → this one built: time the account sat unused. */
  readonly channelIdleMs: readonly number[];
}

export async function quayTimings(db: DbPool, payTo: string): Promise<QuayTimings> {
  const { rows } = await db.query<{ wait_ms: number; attempt_ms: number | null; idle_ms: number | null }>(
    `select extract(epoch from (a.created_at - p.created_at)) * 1000 as wait_ms,
            extract(epoch from (a.finished_at - a.created_at)) * 1000 as attempt_ms,
            extract(epoch from (a.created_at - lag(a.finished_at) over (partition by a.channel_account order by a.created_at))) * 1000 as idle_ms
       from submission_attempts a join submissions p on p.id = a.submission_id
      where p.pay_to = $1`,
    [payTo],
  );
  const numbers = (values: (number | string | null)[]) => values.filter((v): v is number | string => v !== null).map(Number);
  return {
    waitMs: numbers(rows.map((r) => r.wait_ms)),
    attemptMs: numbers(rows.map((r) => r.attempt_ms)),
    channelIdleMs: numbers(rows.map((r) => r.idle_ms)),
  };
}
