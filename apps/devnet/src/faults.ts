import { z } from "zod";
import type { TxCode } from "./results";

/**
 * Faults a test can switch on over HTTP, to see how clients behave when the RPC misbehaves.
 * Counted faults fire for the next `count` matching calls, then clear themselves.
 */
export interface Faults {
  sendTransaction?: { status: "TRY_AGAIN_LATER" | "ERROR"; code: TxCode; remaining: number };
  delay?: { ms: number; methods: readonly string[] | null; remaining: number | null };
  drop?: { methods: readonly string[] | null; remaining: number | null };
  /** Accept (PENDING) the next N transactions, then never include them. */
  swallow?: { remaining: number };
  minInclusionFee?: bigint;
  paused: boolean;
}

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
    minInclusionFee: z.union([z.string().regex(/^\d+$/), z.number().int().positive()]).nullable().optional(),
    paused: z.boolean().optional(),
  })
  .strict();

export namespace FaultSwitch {
  export function none(): Faults {
    return { paused: false };
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
    if (p.minInclusionFee === null) delete next.minInclusionFee;
    else if (p.minInclusionFee !== undefined) {
      const fee = BigInt(p.minInclusionFee);
      // The ledger header carries the base fee as a uint32.
      if (fee < 1n || fee > 4_294_967_295n) throw new FaultInputError("minInclusionFee: must be between 1 and 4294967295");
      next.minInclusionFee = fee;
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
      minInclusionFee: f.minInclusionFee?.toString() ?? null,
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

  export function takeSwallow(f: Faults): boolean {
    const fault = f.swallow;
    if (!fault) return false;
    fault.remaining -= 1;
    if (fault.remaining <= 0) delete f.swallow;
    return true;
  }
}
