import { StrKey, xdr } from "@stellar/stellar-sdk";
import { z } from "zod";
import { EnvelopeError } from "../envelope";
import { FaultSwitch } from "../faults";
import { Headers, Toid } from "../history";
import type { AppliedTx } from "../apply";
import type { EventRecord, LedgerRecord, TxRecord } from "../history";
import type { DevnetNode, SorobanHost } from "../node";
import type { ChainView } from "../view";
import { simulate } from "../simulate";
import { RpcError } from "./errors";
import { feeDistribution, matchesAny } from "./queries";

export interface RpcContext {
  readonly node: DevnetNode;
  /** The chain as this request's port sees it (in sync, or lagging). */
  readonly view: ChainView;
  readonly host: SorobanHost | undefined;
  readonly friendbotUrl: string;
}

type Handler = (ctx: RpcContext, params: unknown) => unknown;

const VERSION = "quay-devnet-0.1.0";
/** Fee-stat windows of the real RPC: the last 10 ledgers for classic, 50 for Soroban. */
const CLASSIC_FEE_WINDOW = 10;
const SOROBAN_FEE_WINDOW = 50;
const MAX_LEDGER_ENTRY_KEYS = 200;
/** stellar-rpc's max-events-limit and default-events-limit. */
const MAX_EVENTS_LIMIT = 10_000;
const DEFAULT_EVENTS_LIMIT = 100;

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
      // stellar-rpc v27.1: record SOROBAN_CREDENTIALS_ADDRESS_V2 instead of V1 (default false).
      useUpgradedAuth: z.boolean().optional(),
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
  getHealth({ node, view }, params) {
    parse(Schemas.none, params);
    const latest = view.latest();
    const oldest = view.oldest();
    // Close times as unix-second numbers, as stellar-rpc >= v27.1 adds them.
    return {
      status: "healthy",
      latestLedger: latest.sequence,
      latestLedgerCloseTime: Number(latest.closeTime),
      oldestLedger: oldest.sequence,
      oldestLedgerCloseTime: Number(oldest.closeTime),
      ledgerRetentionWindow: node.config.retentionLedgers,
    };
  },

  getNetwork({ node, friendbotUrl }, params) {
    parse(Schemas.none, params);
    return { friendbotUrl, passphrase: node.config.networkPassphrase, protocolVersion: node.config.protocolVersion };
  },

  getVersionInfo({ node }, params) {
    parse(Schemas.none, params);
    // stellar-rpc dropped the snake_case duplicates of these fields in v23.
    return {
      version: VERSION,
      commitHash: "devnet",
      buildTimestamp: "2025-01-01T00:00:00Z",
      captiveCoreVersion: "devnet (no stellar-core)",
      protocolVersion: node.config.protocolVersion,
    };
  },

  getLatestLedger({ view }, params) {
    parse(Schemas.none, params);
    const l = view.latest();
    return {
      id: l.hash.toString("hex"),
      sequence: l.sequence,
      protocolVersion: l.header.ledgerVersion(),
      closeTime: closeTimeOf(l),
      // stellar-rpc's getLatestLedger sends the bare LedgerHeader (getLedgers the history entry).
      headerXdr: l.header.toXDR("base64"),
      metadataXdr: Headers.closeMetaXdr(l),
    };
  },

  getLedgers({ view }, params) {
    const p = parse(Schemas.paged, params);
    const limit = Math.min(p.pagination?.limit ?? 5, 200);
    const start = pageStart(view, p.startLedger, p.pagination?.cursor, (c) => Number(c) + 1);
    const ledgers = view.ledgersFrom(start, limit);
    const last = ledgers[ledgers.length - 1];
    const latest = view.latest();
    const oldest = view.oldest();
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

  getLedgerEntries({ view }, params) {
    const p = parse(Schemas.getLedgerEntries, params);
    const latest = view.latest().sequence;
    const entries = [];
    for (const keyB64 of p.keys) {
      let key: xdr.LedgerKey;
      try {
        key = xdr.LedgerKey.fromXDR(keyB64, "base64");
      } catch {
        throw RpcError.invalidParams(`cannot unmarshal key value ${keyB64}`);
      }
      if (key.switch() === xdr.LedgerEntryType.ttl()) throw RpcError.invalidParams("ledger ttl entries cannot be queried directly");
      const stored = view.state.get(key);
      if (!stored) continue;
      const live = stored.liveUntilLedgerSeq;
      // Live through its live-until ledger, as core judges it at the latest ledger.
      const expired = live !== undefined && live < latest;
      // An expired temporary entry is gone; an archived persistent one is still reported, with
      // liveUntilLedgerSeq 0: core's placeholder, since it keeps no TTL for archived entries.
      if (expired && isTemporary(key)) continue;
      entries.push({
        key: key.toXDR("base64"),
        xdr: stored.entry.data().toXDR("base64"),
        lastModifiedLedgerSeq: stored.entry.lastModifiedLedgerSeq(),
        ...(live !== undefined ? { liveUntilLedgerSeq: expired ? 0 : live } : {}),
      });
    }
    return { entries, latestLedger: latest };
  },

  getFeeStats({ node, view }, params) {
    parse(Schemas.none, params);
    const latest = view.latest().sequence;
    const perTransaction = node.rules.feeStatsPerTransaction;
    // stellar-rpc's feewindow: a Soroban transaction counts its whole inclusion fee (feeCharged less
    // the resource fee charged), a classic one feeCharged per operation of its (inner) transaction.
    // The relaxed rule divides the inclusion fee by the fee operations (inner + 1 for a fee bump).
    const feeOf = (a: AppliedTx): bigint =>
      !perTransaction
        ? a.inclusionFeeCharged / BigInt(a.tx.feeOps)
        : a.tx.isSoroban
          ? a.inclusionFeeCharged
          : a.feeCharged / BigInt(a.tx.inner.operations.length);
    const collect = (soroban: boolean, window: number): { fees: bigint[]; ledgers: number } => {
      const from = Math.max(view.oldest().sequence, latest - window + 1);
      const ledgers = view.ledgersFrom(from, window);
      const fees = ledgers.flatMap((l) => l.txs.filter((t) => t.applied.tx.isSoroban === soroban).map((t) => feeOf(t.applied)));
      // stellar-rpc answers an empty window with an all-zero distribution, ledgerCount included.
      return { fees, ledgers: perTransaction && fees.length === 0 ? 0 : ledgers.length };
    };
    const classic = collect(false, CLASSIC_FEE_WINDOW);
    const soroban = collect(true, SOROBAN_FEE_WINDOW);
    return {
      sorobanInclusionFee: feeDistribution(soroban.fees, soroban.ledgers),
      inclusionFee: feeDistribution(classic.fees, classic.ledgers),
      latestLedger: latest,
    };
  },

  simulateTransaction({ node, host, view }, params) {
    const p = parse(Schemas.simulateTransaction, params);
    return withEnvelope(() =>
      simulate(node, view, host, p.transaction, {
        authMode: p.authMode,
        useUpgradedAuth: p.useUpgradedAuth ?? false,
        instructionLeeway: p.resourceConfig?.instructionLeeway ?? 0,
      }),
    );
  },

  sendTransaction({ node, view }, params) {
    const p = parse(Schemas.sendTransaction, params);
    const outcome = withEnvelope(() => node.submit(p.transaction));
    const latest = view.latest();
    return {
      status: outcome.status,
      hash: outcome.hash,
      latestLedger: latest.sequence,
      latestLedgerCloseTime: closeTimeOf(latest),
      ...(outcome.errorResult ? { errorResultXdr: outcome.errorResult.toXDR("base64") } : {}),
    };
  },

  getTransaction({ node, view }, params) {
    const p = parse(Schemas.getTransaction, params);
    const hash = p.hash.toLowerCase();
    const record = view.tx(hash);
    const base = {
      latestLedger: view.latest().sequence,
      latestLedgerCloseTime: closeTimeOf(view.latest()),
      oldestLedger: view.oldest().sequence,
      oldestLedgerCloseTime: closeTimeOf(view.oldest()),
      txHash: hash,
    };
    // stellar-rpc reads the transaction before the ledger range: a transaction in a ledger ingested
    // between the two reads answers NOT_FOUND with a latestLedger already past it (the fault replays that).
    if (!record || FaultSwitch.takeGetTransactionRace(node.faults)) return { status: "NOT_FOUND", ...base };
    return { ...base, ...txInfo(record), createdAt: record.closeTime.toString() };
  },

  getTransactions({ view }, params) {
    const p = parse(Schemas.paged, params);
    const limit = Math.min(p.pagination?.limit ?? 10, 200);
    let afterToid: bigint;
    if (p.pagination?.cursor) {
      afterToid = parseCursor(p.pagination.cursor);
      // stellar-rpc reads the cursor's ledger first: one pruned from its history is not there.
      const from = Toid.ledgerOf(afterToid);
      if (from < view.oldest().sequence) throw RpcError.invalidParams(`database does not contain metadata for ledger: ${from}`);
    } else {
      const start = pageStart(view, p.startLedger, undefined, Number);
      afterToid = Toid.of(start, 0, 0);
    }
    const out: TxRecord[] = [];
    for (const ledger of view.ledgersFrom(Toid.ledgerOf(afterToid), Number.MAX_SAFE_INTEGER)) {
      for (const tx of ledger.txs) {
        if (Toid.of(tx.ledger, tx.applicationOrder, 0) <= afterToid) continue;
        out.push(tx);
        if (out.length >= limit) break;
      }
      if (out.length >= limit) break;
    }
    const last = out[out.length - 1];
    const latest = view.latest();
    const oldest = view.oldest();
    return {
      transactions: out.map((t) => ({ ...txInfo(t), txHash: t.hash, createdAt: Number(t.closeTime) })),
      latestLedger: latest.sequence,
      latestLedgerCloseTimestamp: Number(latest.closeTime),
      oldestLedger: oldest.sequence,
      oldestLedgerCloseTimestamp: Number(oldest.closeTime),
      cursor: (last ? Toid.of(last.ledger, last.applicationOrder, 0) : afterToid).toString(),
    };
  },

  /**
   * stellar-rpc's getEvents: the start (startLedger, or the ledger of the cursor) must lie in the
   * retention window, else -32600; one call scans at most maxEventsScanLedgers ledgers, and a page
   * that is not full ends with the last cursor of the scanned range.
   */
  getEvents({ node, view }, params) {
    const p = parse(Schemas.getEvents, params);
    const limit = p.pagination?.limit ?? DEFAULT_EVENTS_LIMIT;
    if (limit > MAX_EVENTS_LIMIT) throw RpcError.invalidParams(`limit must not exceed ${MAX_EVENTS_LIMIT}`);
    const latest = view.latest().sequence;
    const oldest = view.oldest().sequence;
    let afterId: string;
    let startLedger: number;
    if (p.pagination?.cursor) {
      if (p.startLedger !== undefined || p.endLedger !== undefined) throw RpcError.invalidParams("ledger ranges and cursor cannot both be set");
      afterId = p.pagination.cursor;
      if (!/^\d{19}-\d{10}$/.test(afterId)) throw RpcError.invalidParams(`invalid event id ${afterId}`);
      startLedger = Toid.ledgerOf(BigInt(afterId.slice(0, 19)));
    } else {
      if (p.startLedger === undefined) throw RpcError.invalidParams("startLedger must be positive");
      startLedger = p.startLedger;
      afterId = previousId(startLedger);
    }
    const scan = node.rules.maxEventsScanLedgers;
    let endLedger = Math.min(latest + 1, scan > 0 ? startLedger + scan : Number.MAX_SAFE_INTEGER);
    if (p.endLedger !== undefined) endLedger = Math.min(endLedger, p.endLedger);
    if (startLedger < oldest || startLedger > latest) {
      throw RpcError.invalidRequest(`startLedger must be within the ledger range: ${oldest} - ${latest}`);
    }
    const filters = p.filters ?? [];
    const found: EventRecord[] = [];
    for (const event of view.eventsAfter(afterId)) {
      if (event.ledger >= endLedger) break;
      if (!matchesAny(event, filters)) continue;
      found.push(event);
      if (found.length >= limit) break;
    }
    const last = found[found.length - 1];
    // A full page continues after its last event; otherwise after the whole scanned range.
    const cursor = found.length >= limit && last ? last.id : Toid.lastEventId(endLedger - 1);
    return {
      ...retention(view),
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

function retention(view: ChainView): Record<string, number | string> {
  const latest = view.latest();
  const oldest = view.oldest();
  return {
    latestLedger: latest.sequence,
    latestLedgerCloseTime: closeTimeOf(latest),
    oldestLedger: oldest.sequence,
    oldestLedgerCloseTime: closeTimeOf(oldest),
  };
}

/** The first ledger of a page: from a cursor, or startLedger (which must lie in the retention window). */
function pageStart(view: ChainView, startLedger: number | undefined, cursor: string | undefined, fromCursor: (c: string) => number): number {
  const oldest = view.oldest().sequence;
  const latest = view.latest().sequence;
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
