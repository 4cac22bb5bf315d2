import { xdr } from "@stellar/stellar-sdk";
import { z } from "zod";
import type { NetworkRules } from "./config";
import type { TxCode } from "./results";
import type { ResourceDrift } from "./soroban/host";
import { ChainViews } from "./view";
import { keyId } from "./state";

/**
 * Faults a test can switch on over HTTP, to see how clients behave when the RPC misbehaves.
 * Counted faults fire for the next `count` matching calls, then clear themselves.
 */
export interface Faults {
  sendTransaction?: { status: "TRY_AGAIN_LATER" | "ERROR"; code: TxCode; remaining: number };
  delay?: { ms: number; methods: readonly string[] | null; remaining: number | null };
  drop?: { methods: readonly string[] | null; remaining: number | null };
  /**
   * The next N getTransaction calls for a landed transaction answer NOT_FOUND with the current
   * latestLedger: the race of a real RPC that reads the transaction before the ledger range.
   */
  getTransactionRace?: { remaining: number };
  /**
   * The next N invocations applied meet a ledger that moved since their simulation: they run out
   * of their declared resources (INVOKE_HOST_FUNCTION_RESOURCE_LIMIT_EXCEEDED) or find an entry
   * archived since (..._ENTRY_ARCHIVED), and land FAILED, charged.
   */
  resourceDrift?: { kind: ResourceDrift; remaining: number };
  /** Accept (PENDING) the next N transactions, then never include them. */
  swallow?: { remaining: number };
  minInclusionFee?: bigint;
  /**
   * Ledger keys (ids: base64 LedgerKey XDR) frozen as validators freeze them through a network
   * config upgrade (CAP-77): from protocol 26 a transaction touching one is txFROZEN_KEY_ACCESSED.
   */
  frozenKeys?: ReadonlySet<string>;
  /**
   * Faults of single RPC ports, by index (0: rpcUrl, 1.. the extra ports): a port fails (HTTP 503,
   * connection refused, or never answering) or lags (answers as of N ledgers ago) while the others
   * stay current.
   */
  ports?: ReadonlyMap<number, PortFault>;
  /** Run-time overrides of the devnet's network rules (see NetworkRules); cleared with the faults. */
  rules?: Partial<NetworkRules>;
  paused: boolean;
}

export type PortFault = { readonly fail: "http503" | "refuse" | "hang" } | { readonly lagLedgers: number };

export class FaultInputError extends Error {
  override readonly name = "FaultInputError";
}

const methods = z.array(z.string().min(1)).min(1).optional();
const count = z.number().int().positive();
const txCode = z.enum([
  "txFailed",
  "txTooEarly",
  "txTooLate",
  "txMissingOperation",
  "txBadSeq",
  "txBadAuth",
  "txInsufficientBalance",
  "txNoAccount",
  "txInsufficientFee",
  "txBadAuthExtra",
  "txInternalError",
  "txNotSupported",
  "txMalformed",
  "txSorobanInvalid",
  "txFrozenKeyAccessed",
]);

const ruleCount = z.number().int().min(0).max(1_000_000).nullable().optional();
const ruleFlag = z.boolean().nullable().optional();
/** Each rule given overrides the devnet's setting; null drops that override. */
const RulesPatch = z
  .object({
    queueTimeoutLedgers: ruleCount,
    queueBanLedgers: ruleCount,
    queueSizeMultiplier: ruleCount,
    pendingFeeCheck: ruleFlag,
    maxEventsScanLedgers: ruleCount,
    networkResourceFees: ruleFlag,
    resourceFeeCheckAtSend: ruleFlag,
    simulationPadding: ruleFlag,
    feeStatsPerTransaction: ruleFlag,
    chargeInvalidAtApply: ruleFlag,
    replaceBySequence: ruleFlag,
    closeTimeSlack: ruleFlag,
  })
  .strict();

const PortFaultSchema = z.union([
  z.object({ fail: z.enum(["http503", "refuse", "hang"]) }).strict(),
  z.object({ lagLedgers: z.number().int().min(1).max(ChainViews.MAX_LAG) }).strict(),
]);

const FaultPatch = z
  .object({
    sendTransaction: z
      .object({ status: z.enum(["TRY_AGAIN_LATER", "ERROR"]), count: count.default(1), code: txCode.default("txInternalError") })
      .strict()
      .nullable()
      .optional(),
    delay: z.object({ ms: z.number().int().min(0).max(600_000), methods, count: count.optional() }).strict().nullable().optional(),
    drop: z.object({ methods, count: count.optional() }).strict().nullable().optional(),
    swallow: z.object({ count: count.default(1) }).strict().nullable().optional(),
    getTransactionRace: z.object({ count: count.default(1) }).strict().nullable().optional(),
    resourceDrift: z
      .object({ kind: z.enum(["resourceLimitExceeded", "entryArchived"]).default("resourceLimitExceeded"), count: count.default(1) })
      .strict()
      .nullable()
      .optional(),
    minInclusionFee: z.union([z.string().regex(/^\d+$/), z.number().int().positive()]).nullable().optional(),
    frozenKeys: z.array(z.string().min(1)).max(1_000).nullable().optional(),
    rules: RulesPatch.nullable().optional(),
    ports: z.record(z.string().regex(/^\d{1,2}$/, "port index"), PortFaultSchema.nullable()).nullable().optional(),
    paused: z.boolean().optional(),
  })
  .strict();

/** A frozen key as the ledger keys its entries: its canonical XDR, whatever base64 spelling came in. */
function frozenKeyId(base64: string): string {
  try {
    return keyId(xdr.LedgerKey.fromXDR(base64, "base64"));
  } catch {
    throw new FaultInputError(`frozenKeys: not a base64 LedgerKey: ${base64}`);
  }
}

export namespace FaultSwitch {
  export function none(): Faults {
    return { paused: false };
  }

  /** How many ledgers port `index` lags (0: in sync, or failing). */
  export function lagOf(f: Faults, index: number): number {
    const fault = f.ports?.get(index);
    return fault && "lagLedgers" in fault ? fault.lagLedgers : 0;
  }

  /** How port `index` fails, if it does. */
  export function failureOf(f: Faults, index: number): "http503" | "refuse" | "hang" | undefined {
    const fault = f.ports?.get(index);
    return fault && "fail" in fault ? fault.fail : undefined;
  }

  /** Applies a POSTed patch: each key given replaces that fault; null clears it. */
  export function patch(current: Faults, body: unknown): Faults {
    const parsed = FaultPatch.safeParse(body);
    if (!parsed.success) throw new FaultInputError(parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
    const p = parsed.data;
    const next: Faults = { ...current };
    if (p.sendTransaction === null) delete next.sendTransaction;
    else if (p.sendTransaction) next.sendTransaction = { status: p.sendTransaction.status, code: p.sendTransaction.code, remaining: p.sendTransaction.count };
    if (p.delay === null) delete next.delay;
    else if (p.delay) next.delay = { ms: p.delay.ms, methods: p.delay.methods ?? null, remaining: p.delay.count ?? null };
    if (p.drop === null) delete next.drop;
    else if (p.drop) next.drop = { methods: p.drop.methods ?? null, remaining: p.drop.count ?? null };
    if (p.swallow === null) delete next.swallow;
    else if (p.swallow) next.swallow = { remaining: p.swallow.count };
    if (p.resourceDrift === null) delete next.resourceDrift;
    else if (p.resourceDrift) next.resourceDrift = { kind: p.resourceDrift.kind, remaining: p.resourceDrift.count };
    if (p.getTransactionRace === null) delete next.getTransactionRace;
    else if (p.getTransactionRace) next.getTransactionRace = { remaining: p.getTransactionRace.count };
    if (p.minInclusionFee === null) delete next.minInclusionFee;
    else if (p.minInclusionFee !== undefined) {
      const fee = BigInt(p.minInclusionFee);
      // The ledger header carries the base fee as a uint32.
      if (fee < 1n || fee > 4_294_967_295n) throw new FaultInputError("minInclusionFee: must be between 1 and 4294967295");
      next.minInclusionFee = fee;
    }
    if (p.frozenKeys === null) delete next.frozenKeys;
    else if (p.frozenKeys !== undefined) next.frozenKeys = new Set(p.frozenKeys.map(frozenKeyId));
    if (p.ports === null) delete next.ports;
    else if (p.ports) {
      const ports = new Map(next.ports);
      for (const [index, fault] of Object.entries(p.ports)) {
        if (fault === null) ports.delete(Number(index));
        else ports.set(Number(index), fault);
      }
      next.ports = ports;
    }
    if (p.rules === null) delete next.rules;
    else if (p.rules) {
      const rules: Record<string, number | boolean> = { ...next.rules };
      for (const [name, value] of Object.entries(p.rules)) {
        if (value === null) delete rules[name];
        else if (value !== undefined) rules[name] = value;
      }
      next.rules = rules as Partial<NetworkRules>;
    }
    if (p.paused !== undefined) next.paused = p.paused;
    return next;
  }

  export function toJson(f: Faults): Record<string, unknown> {
    return {
      sendTransaction: f.sendTransaction ? { status: f.sendTransaction.status, code: f.sendTransaction.code, remaining: f.sendTransaction.remaining } : null,
      delay: f.delay ?? null,
      drop: f.drop ?? null,
      swallow: f.swallow ?? null,
      getTransactionRace: f.getTransactionRace ?? null,
      resourceDrift: f.resourceDrift ?? null,
      minInclusionFee: f.minInclusionFee?.toString() ?? null,
      frozenKeys: f.frozenKeys ? [...f.frozenKeys] : null,
      rules: f.rules ?? null,
      ports: f.ports && f.ports.size > 0 ? Object.fromEntries(f.ports) : null,
      paused: f.paused,
    };
  }

  /** Consumes one firing of a counted fault aimed at `method`; returns whether it fires. */
  export function takeForMethod(f: Faults, kind: "delay" | "drop", method: string): boolean {
    const fault = f[kind];
    if (!fault) return false;
    if (fault.methods && !fault.methods.includes(method)) return false;
    if (fault.remaining !== null) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) delete f[kind];
    }
    return true;
  }

  export function takeSendFault(f: Faults): { status: "TRY_AGAIN_LATER" | "ERROR"; code: TxCode } | undefined {
    const fault = f.sendTransaction;
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) delete f.sendTransaction;
    return { status: fault.status, code: fault.code };
  }

  export function takeResourceDrift(f: Faults): ResourceDrift | undefined {
    const fault = f.resourceDrift;
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) delete f.resourceDrift;
    return fault.kind;
  }

  export function takeGetTransactionRace(f: Faults): boolean {
    const fault = f.getTransactionRace;
    if (!fault) return false;
    fault.remaining -= 1;
    if (fault.remaining <= 0) delete f.getTransactionRace;
    return true;
  }

  export function takeSwallow(f: Faults): boolean {
    const fault = f.swallow;
    if (!fault) return false;
    fault.remaining -= 1;
    if (fault.remaining <= 0) delete f.swallow;
    return true;
  }
}
