import { StrKey, xdr } from "@stellar/stellar-sdk";
import { z } from "zod";
import { PROTOCOL_VERSION } from "../config";
import { EnvelopeError } from "../envelope";
import { Headers, Toid } from "../history";
import type { EventRecord, LedgerRecord, TxRecord } from "../history";
import type { DevnetNode, SorobanHost } from "../node";
import { simulate } from "../simulate";
import { RpcError } from "./errors";
import { feeDistribution, matchesAny } from "./queries";

export interface RpcContext {
  readonly node: DevnetNode;
  readonly host: SorobanHost | undefined;
  readonly friendbotUrl: string;
}

type Handler = (ctx: RpcContext, params: unknown) => unknown;

const VERSION = "quay-devnet-0.1.0";
/** Fee-stat windows of the real RPC: the last 10 ledgers for classic, 50 for Soroban. */
const CLASSIC_FEE_WINDOW = 10;
const SOROBAN_FEE_WINDOW = 50;
const MAX_LEDGER_ENTRY_KEYS = 200;

const Hash = z.string().regex(/^[0-9a-fA-F]{64}$/, "must be a 64-char hex hash");
const Base64 = z.string().min(1);
const Pagination = z.object({ cursor: z.string().min(1).optional(), limit: z.number().int().positive().optional() }).strict().optional();

const Schemas = {
  none: z.union([z.null(), z.undefined(), z.object({}).strict(), z.array(z.never())]),
  getLedgerEntries: z.object({ keys: z.array(Base64).min(1).max(MAX_LEDGER_ENTRY_KEYS), xdrFormat: z.literal("base64").optional() }).strict(),
  getTransaction: z.object({ hash: Hash, xdrFormat: z.literal("base64").optional() }).strict(),
  sendTransaction: z.object({ transaction: Base64, xdrFormat: z.literal("base64").optional() }).strict(),
  simulateTransaction: z
    .object({
      transaction: Base64,
      authMode: z.enum(["enforce", "record", "record_allow_nonroot"]).optional(),
      resourceConfig: z.object({ instructionLeeway: z.number().int().min(0).optional() }).optional(),
      xdrFormat: z.literal("base64").optional(),
    })
    .strict(),
  paged: z
    .object({ startLedger: z.number().int().positive().optional(), pagination: Pagination, xdrFormat: z.literal("base64").optional() })
    .strict(),
  getEvents: z
    .object({
      startLedger: z.number().int().positive().optional(),
      endLedger: z.number().int().positive().optional(),
      filters: z
        .array(
          z
            .object({
              type: z.enum(["contract", "system", "diagnostic"]).optional(),
              contractIds: z.array(z.string().refine((s) => StrKey.isValidContract(s), "invalid contract id")).max(5).optional(),
              topics: z.array(z.array(z.string().min(1)).min(1).max(5)).max(5).optional(),
            })
            .strict(),
        )
        .max(5)
        .optional(),
      pagination: Pagination,
      xdrFormat: z.literal("base64").optional(),
    })
    .strict(),
};

function parse<T>(schema: z.ZodType<T>, params: unknown): T {
  const result = schema.safeParse(params ?? undefined);
  if (!result.success) {
    throw RpcError.invalidParams(result.error.issues.map((i) => `${i.path.join(".") || "params"}: ${i.message}`).join("; "));
  }
  return result.data;
}

const closeTimeOf = (l: LedgerRecord): string => l.closeTime.toString();

export const methods: Record<string, Handler> = {
  getHealth({ node }, params) {
    parse(Schemas.none, params);
    const latest = node.latest().sequence;
    const oldest = node.history.oldest().sequence;
    return { status: "healthy", latestLedger: latest, oldestLedger: oldest, ledgerRetentionWindow: node.config.retentionLedgers };
  },

  getNetwork({ node, friendbotUrl }, params) {
    parse(Schemas.none, params);
    return { friendbotUrl, passphrase: node.config.networkPassphrase, protocolVersion: PROTOCOL_VERSION };
  },

  getVersionInfo(_ctx, params) {
    parse(Schemas.none, params);
    const build = "2025-01-01T00:00:00Z";
    return {
      version: VERSION,
      commitHash: "devnet",
      buildTimestamp: build,
      captiveCoreVersion: "devnet (no stellar-core)",
      protocolVersion: PROTOCOL_VERSION,
      commit_hash: "devnet",
      build_timestamp: build,
      captive_core_version: "devnet (no stellar-core)",
      protocol_version: PROTOCOL_VERSION,
    };
  },

  getLatestLedger({ node }, params) {
    parse(Schemas.none, params);
    const l = node.latest();
    return {
      id: l.hash.toString("hex"),
      sequence: l.sequence,
      protocolVersion: PROTOCOL_VERSION,
      closeTime: closeTimeOf(l),
      headerXdr: Headers.historyEntry(l).toXDR("base64"),
      metadataXdr: Headers.closeMetaXdr(l),
    };
  },

  getLedgers({ node }, params) {
    const p = parse(Schemas.paged, params);
    const limit = Math.min(p.pagination?.limit ?? 5, 200);
    const start = pageStart(node, p.startLedger, p.pagination?.cursor, (c) => Number(c) + 1);
    const ledgers = node.history.ledgersFrom(start, limit);
    const last = ledgers[ledgers.length - 1];
    const latest = node.latest();
    const oldest = node.history.oldest();
    return {
      // getLedgers reports close times as numbers (getEvents and getTransaction use strings).
      latestLedger: latest.sequence,
      latestLedgerCloseTime: Number(latest.closeTime),
      oldestLedger: oldest.sequence,
      oldestLedgerCloseTime: Number(oldest.closeTime),
      ledgers: ledgers.map((l) => ({
        hash: l.hash.toString("hex"),
        sequence: l.sequence,
        ledgerCloseTime: closeTimeOf(l),
        headerXdr: Headers.historyEntry(l).toXDR("base64"),
        metadataXdr: Headers.closeMetaXdr(l),
      })),
      cursor: String(last?.sequence ?? start - 1),
    };
  },

  getLedgerEntries({ node }, params) {
    const p = parse(Schemas.getLedgerEntries, params);
    const latest = node.latest().sequence;
    const entries = [];
    for (const keyB64 of p.keys) {
      let key: xdr.LedgerKey;
      try {
        key = xdr.LedgerKey.fromXDR(keyB64, "base64");
      } catch {
        throw RpcError.invalidParams(`cannot unmarshal key value ${keyB64}`);
      }
      if (key.switch() === xdr.LedgerEntryType.ttl()) throw RpcError.invalidParams("ledger ttl entries cannot be queried directly");
      const stored = node.state.get(key);
      if (!stored) continue;
      const live = stored.liveUntilLedgerSeq;
      // An expired temporary entry is gone; an archived persistent one is still reported, with its past TTL.
      if (live !== undefined && live < latest && isTemporary(key)) continue;
      entries.push({
        key: key.toXDR("base64"),
        xdr: stored.entry.data().toXDR("base64"),
        lastModifiedLedgerSeq: stored.entry.lastModifiedLedgerSeq(),
        ...(live !== undefined ? { liveUntilLedgerSeq: live } : {}),
      });
    }
    return { entries, latestLedger: latest };
  },

  getFeeStats({ node }, params) {
    parse(Schemas.none, params);
    const latest = node.latest().sequence;
    const collect = (soroban: boolean, window: number): { fees: bigint[]; ledgers: number } => {
      const from = Math.max(node.history.oldest().sequence, latest - window + 1);
      const ledgers = node.history.ledgersFrom(from, window);
      const fees = ledgers.flatMap((l) =>
        l.txs.filter((t) => t.applied.tx.isSoroban === soroban).map((t) => t.applied.inclusionFeeCharged / BigInt(t.applied.tx.feeOps)),
      );
      return { fees, ledgers: ledgers.length };
    };
    const classic = collect(false, CLASSIC_FEE_WINDOW);
    const soroban = collect(true, SOROBAN_FEE_WINDOW);
    return {
      sorobanInclusionFee: feeDistribution(soroban.fees, soroban.ledgers),
      inclusionFee: feeDistribution(classic.fees, classic.ledgers),
      latestLedger: latest,
    };
  },

  simulateTransaction({ node, host }, params) {
    const p = parse(Schemas.simulateTransaction, params);
    const raw = withEnvelope(() => simulate(node, host, p.transaction, p.authMode));
    return raw;
  },

  sendTransaction({ node }, params) {
    const p = parse(Schemas.sendTransaction, params);
    const outcome = withEnvelope(() => node.submit(p.transaction));
    const latest = node.latest();
    return {
      status: outcome.status,
      hash: outcome.hash,
      latestLedger: latest.sequence,
      latestLedgerCloseTime: closeTimeOf(latest),
      ...(outcome.errorResult ? { errorResultXdr: outcome.errorResult.toXDR("base64") } : {}),
    };
  },

  getTransaction({ node }, params) {
    const p = parse(Schemas.getTransaction, params);
    const hash = p.hash.toLowerCase();
    const record = node.history.tx(hash);
    const base = {
      latestLedger: node.latest().sequence,
      latestLedgerCloseTime: closeTimeOf(node.latest()),
      oldestLedger: node.history.oldest().sequence,
      oldestLedgerCloseTime: closeTimeOf(node.history.oldest()),
      txHash: hash,
    };
    if (!record) return { status: "NOT_FOUND", ...base };
    return { ...base, ...txInfo(record), createdAt: record.closeTime.toString() };
  },

  getTransactions({ node }, params) {
    const p = parse(Schemas.paged, params);
    const limit = Math.min(p.pagination?.limit ?? 10, 200);
    let afterToid: bigint;
    if (p.pagination?.cursor) {
      afterToid = parseCursor(p.pagination.cursor);
    } else {
      const start = pageStart(node, p.startLedger, undefined, Number);
      afterToid = Toid.of(start, 0, 0);
    }
    const out: TxRecord[] = [];
    for (const ledger of node.history.ledgersFrom(Math.max(Toid.ledgerOf(afterToid), node.history.oldest().sequence), Number.MAX_SAFE_INTEGER)) {
      for (const tx of ledger.txs) {
        if (Toid.of(tx.ledger, tx.applicationOrder, 0) <= afterToid) continue;
        out.push(tx);
        if (out.length >= limit) break;
      }
      if (out.length >= limit) break;
    }
    const last = out[out.length - 1];
    const latest = node.latest();
    const oldest = node.history.oldest();
    return {
      transactions: out.map((t) => ({ ...txInfo(t), txHash: t.hash, createdAt: Number(t.closeTime) })),
      latestLedger: latest.sequence,
      latestLedgerCloseTimestamp: Number(latest.closeTime),
      oldestLedger: oldest.sequence,
      oldestLedgerCloseTimestamp: Number(oldest.closeTime),
      cursor: (last ? Toid.of(last.ledger, last.applicationOrder, 0) : afterToid).toString(),
    };
  },

  getEvents({ node }, params) {
    const p = parse(Schemas.getEvents, params);
    const limit = Math.min(p.pagination?.limit ?? 100, 10_000);
    const latest = node.latest().sequence;
    let afterId: string;
    let endLedger: number;
    if (p.pagination?.cursor) {
      if (p.startLedger !== undefined || p.endLedger !== undefined) throw RpcError.invalidParams("startLedger and endLedger must be omitted when a cursor is given");
      afterId = p.pagination.cursor;
      if (!/^\d{19}-\d{10}$/.test(afterId)) throw RpcError.invalidParams(`invalid cursor: ${afterId}`);
      endLedger = latest + 1;
    } else {
      const start = pageStart(node, p.startLedger, undefined, Number);
      if (p.endLedger !== undefined && p.endLedger <= start) throw RpcError.invalidParams("endLedger must be after startLedger");
      afterId = previousId(start);
      endLedger = Math.min(p.endLedger ?? latest + 1, latest + 1);
    }
    const filters = p.filters ?? [];
    const found: EventRecord[] = [];
    for (const event of node.history.eventsAfter(afterId)) {
      if (event.ledger >= endLedger) break;
      if (!matchesAny(event, filters)) continue;
      found.push(event);
      if (found.length >= limit) break;
    }
    const last = found[found.length - 1];
    // A full page continues after its last event; otherwise after the whole scanned range.
    const cursor = found.length >= limit && last ? last.id : previousId(endLedger);
    return {
      ...retention(node),
      events: found.map((e) => ({
        type: e.type,
        ledger: e.ledger,
        ledgerClosedAt: new Date(Number(e.closeTime) * 1000).toISOString().replace(".000Z", "Z"),
        contractId: e.contractId,
        id: e.id,
        pagingToken: e.id,
        operationIndex: e.opIndex,
        transactionIndex: e.txIndex,
        txHash: e.txHash,
        inSuccessfulContractCall: e.inSuccessfulContractCall,
        topic: [...e.topics],
        value: e.value,
      })),
      cursor,
    };
  },
};

/** The cursor just before any event of `ledger` (ids are fixed width, so this sorts first). */
function previousId(ledger: number): string {
  return Toid.eventId(ledger, 0, 0, 0);
}

function txInfo(record: TxRecord): Record<string, unknown> {
  const a = record.applied;
  return {
    status: a.successful ? "SUCCESS" : "FAILED",
    applicationOrder: record.applicationOrder,
    feeBump: a.tx.feeBump !== undefined,
    envelopeXdr: a.tx.envelopeXdr,
    resultXdr: a.result.toXDR("base64"),
    resultMetaXdr: a.meta.toXDR("base64"),
    ledger: record.ledger,
    diagnosticEventsXdr: a.diagnosticEvents.map((e) => e.toXDR("base64")),
    events: {
      transactionEventsXdr: a.transactionEvents.map((e) => e.toXDR("base64")),
      contractEventsXdr: a.contractEvents.map((list) => list.map((e) => e.toXDR("base64"))),
    },
  };
}

function retention(node: DevnetNode): Record<string, number | string> {
  const latest = node.latest();
  const oldest = node.history.oldest();
  return {
    latestLedger: latest.sequence,
    latestLedgerCloseTime: closeTimeOf(latest),
    oldestLedger: oldest.sequence,
    oldestLedgerCloseTime: closeTimeOf(oldest),
  };
}

/** The first ledger of a page: from a cursor, or startLedger (which must lie in the retention window). */
function pageStart(node: DevnetNode, startLedger: number | undefined, cursor: string | undefined, fromCursor: (c: string) => number): number {
  const oldest = node.history.oldest().sequence;
  const latest = node.latest().sequence;
  if (cursor !== undefined) {
    if (startLedger !== undefined) throw RpcError.invalidParams("startLedger and cursor cannot both be set");
    if (!/^\d+$/.test(cursor)) throw RpcError.invalidParams(`invalid cursor: ${cursor}`);
    return fromCursor(cursor);
  }
  if (startLedger === undefined) throw RpcError.invalidParams("startLedger or a pagination cursor is required");
  if (startLedger < oldest || startLedger > latest) {
    throw RpcError.invalidRequest(`startLedger must be between the oldest ledger: ${oldest} and the latest ledger: ${latest}`);
  }
  return startLedger;
}

function parseCursor(cursor: string): bigint {
  if (!/^\d+$/.test(cursor)) throw RpcError.invalidParams(`invalid cursor: ${cursor}`);
  return BigInt(cursor);
}

function isTemporary(key: xdr.LedgerKey): boolean {
  return key.switch() === xdr.LedgerEntryType.contractData() && key.contractData().durability() === xdr.ContractDataDurability.temporary();
}

function withEnvelope<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof EnvelopeError) throw RpcError.invalidParams(err.message);
    throw err;
  }
}
