import { nativeToScVal, scValToBigInt, xdr } from "@stellar/stellar-sdk";
import { StrKeys } from "../strkeys";
import { HostError } from "./errors";

/** Small, typed ScVal builders and readers shared by the native contracts. */
export namespace ScVals {
  export const symbol = (name: string): xdr.ScVal => xdr.ScVal.scvSymbol(name);
  export const string = (value: string): xdr.ScVal => xdr.ScVal.scvString(value);
  export const bytes = (value: Buffer): xdr.ScVal => xdr.ScVal.scvBytes(value);
  export const u32 = (value: number): xdr.ScVal => xdr.ScVal.scvU32(value);
  export const bool = (value: boolean): xdr.ScVal => xdr.ScVal.scvBool(value);
  export const i128 = (value: bigint): xdr.ScVal => nativeToScVal(value, { type: "i128" });
  export const address = (strkey: string): xdr.ScVal => StrKeys.scVal(strkey);
  export const vec = (items: xdr.ScVal[]): xdr.ScVal => xdr.ScVal.scvVec(items);
  export const unit = (): xdr.ScVal => xdr.ScVal.scvVoid();

  /** A `#[contracttype]` unit enum variant, as soroban-sdk encodes it: `Vec[Symbol(name)]`. */
  export const enumKey = (name: string): xdr.ScVal => vec([symbol(name)]);

  /** An ScMap with its entries sorted by key, as the host requires of every map it builds. */
  export function map(entries: ReadonlyArray<readonly [xdr.ScVal, xdr.ScVal]>): xdr.ScVal {
    const sorted = [...entries].sort(([a], [b]) => compare(a, b));
    return xdr.ScVal.scvMap(sorted.map(([key, val]) => new xdr.ScMapEntry({ key, val })));
  }

  /** A struct as soroban-sdk encodes `#[contracttype]` structs: a map keyed by field-name symbols. */
  export function struct(fields: Record<string, xdr.ScVal>): xdr.ScVal {
    return map(Object.entries(fields).map(([name, val]) => [symbol(name), val] as const));
  }

  export function equals(a: xdr.ScVal, b: xdr.ScVal): boolean {
    return a.toXDR().equals(b.toXDR());
  }

  /** Total order of ScVals as the host's `Ord` (type first, then value), for map key sorting. */
  export function compare(a: xdr.ScVal, b: xdr.ScVal): number {
    const ta = a.switch().value;
    const tb = b.switch().value;
    if (ta !== tb) return ta - tb;
    switch (a.switch()) {
      case xdr.ScValType.scvSymbol():
      case xdr.ScValType.scvString():
      case xdr.ScValType.scvBytes():
        return Buffer.compare(Buffer.from(a.value() as Buffer | string), Buffer.from(b.value() as Buffer | string));
      case xdr.ScValType.scvU32():
      case xdr.ScValType.scvI32():
        return (a.value() as number) - (b.value() as number);
      case xdr.ScValType.scvU64():
      case xdr.ScValType.scvI64():
      case xdr.ScValType.scvU128():
      case xdr.ScValType.scvI128(): {
        const x = scValToBigInt(a);
        const y = scValToBigInt(b);
        return x < y ? -1 : x > y ? 1 : 0;
      }
      case xdr.ScValType.scvVec(): {
        const xs = a.vec() ?? [];
        const ys = b.vec() ?? [];
        for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
          const c = compare(xs[i]!, ys[i]!);
          if (c !== 0) return c;
        }
        return xs.length - ys.length;
      }
      default:
        return Buffer.compare(a.toXDR(), b.toXDR());
    }
  }

  // ---- readers: a wrong type is the host's Error(Value, UnexpectedType), not a crash ----

  export function toAddress(val: xdr.ScVal | undefined, what: string): string {
    if (!val || val.switch() !== xdr.ScValType.scvAddress()) throw unexpected(what, "Address");
    return StrKeys.fromScAddress(val.address());
  }

  export function toI128(val: xdr.ScVal | undefined, what: string): bigint {
    if (!val || val.switch() !== xdr.ScValType.scvI128()) throw unexpected(what, "i128");
    return scValToBigInt(val);
  }

  export function toU32(val: xdr.ScVal | undefined, what: string): number {
    if (!val || val.switch() !== xdr.ScValType.scvU32()) throw unexpected(what, "u32");
    return val.u32();
  }

  export function toBytes(val: xdr.ScVal | undefined, what: string, length?: number): Buffer {
    if (!val || val.switch() !== xdr.ScValType.scvBytes()) throw unexpected(what, length ? `BytesN<${length}>` : "Bytes");
    const out = Buffer.from(val.bytes());
    if (length !== undefined && out.length !== length) {
      throw HostError.host("Value", "UnexpectedSize", `${what}: expected ${length} bytes, got ${out.length}`);
    }
    return out;
  }

  export function toBool(val: xdr.ScVal | undefined, what: string): boolean {
    if (!val || val.switch() !== xdr.ScValType.scvBool()) throw unexpected(what, "bool");
    return val.b();
  }

  /** Reads a field of a struct-shaped ScMap. */
  export function field(val: xdr.ScVal, name: string): xdr.ScVal | undefined {
    if (val.switch() !== xdr.ScValType.scvMap()) return undefined;
    return (val.map() ?? []).find((e) => e.key().switch() === xdr.ScValType.scvSymbol() && e.key().sym().toString() === name)?.val();
  }

  function unexpected(what: string, expected: string): HostError {
    return HostError.host("Value", "UnexpectedType", `${what}: expected ${expected}`);
  }
}
