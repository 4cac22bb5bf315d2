/**
 * What Postgres holds against what the relay answered, channel by channel. Pure: the rows are
 * read by the caller. A channel's row must hold at least the highest voucher answered "accepted"
 * (else accepted vouchers were lost); it may hold a higher one only if that one was sent and never
 * answered (committed just before the api died); and its signature must be the one sent with it.
 */

export interface PersistenceAudit {
  readonly channels: number;
  /** Channels whose row holds exactly the highest voucher answered accepted. */
  readonly equal: number;
  /** Channels whose row holds a higher voucher that was sent but never answered (the api died after committing it). */
  readonly aheadByUnanswered: number;
  /** Channels whose row holds less than a voucher answered accepted: accepted vouchers lost. Must be 0. */
  readonly lost: number;
  /** Rows whose signature is not the one sent with their amount. Must be 0. */
  readonly badSignature: number;
  /** Rows holding a voucher above the highest accepted that was not sent unanswered. Must be 0. */
  readonly unexplained: number;
}

/** What the load generator knows of one channel. */
export interface SentRecord {
  readonly address: string;
  readonly acceptedMax: bigint;
  readonly unanswered: ReadonlySet<bigint>;
  readonly signatures: ReadonlyMap<bigint, string>;
}

/** A channel's row: its cumulative (decimal text) and signature. */
export interface HeldRow {
  readonly address: string;
  readonly cumulative: string;
  readonly signature: string | null;
}

export function auditPersistence(sent: readonly SentRecord[], rows: readonly HeldRow[]): PersistenceAudit {
  const byAddress = new Map(rows.map((r) => [r.address, r]));
  let equal = 0;
  let ahead = 0;
  let lost = 0;
  let badSignature = 0;
  let unexplained = 0;
  for (const channel of sent) {
    const row = byAddress.get(channel.address);
    const held = row ? BigInt(row.cumulative) : 0n;
    if (held < channel.acceptedMax) lost++;
    else if (held === channel.acceptedMax) equal++;
    else if (channel.unanswered.has(held)) ahead++;
    else unexplained++;
    if (held > 0n && row?.signature !== channel.signatures.get(held)) badSignature++;
  }
  return { channels: sent.length, equal, aheadByUnanswered: ahead, lost, badSignature, unexplained };
}
