import type { xdr } from "@stellar/stellar-sdk";
import { HostError } from "../errors";

/** What every native contract's dispatch needs, with the errors the real host gives. */

/** A call with the wrong number of arguments fails before the function runs. */
export function arity(fn: string, args: xdr.ScVal[], n: number): void {
  if (args.length !== n) throw HostError.host("Value", "UnexpectedSize", `${fn} takes ${n} arguments, got ${args.length}`);
}

/** A function the contract does not export. */
export function missingFunction(fn: string): HostError {
  return HostError.host("WasmVm", "MissingValue", `trying to invoke non-existent contract function ${fn}`);
}
