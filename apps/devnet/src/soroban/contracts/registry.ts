import { xdr } from "@stellar/stellar-sdk";
import { HostError } from "../errors";
import type { NativeContract } from "../runtime";
import { accountImplementations } from "./accounts";
import { CHANNEL_WASM_HASH, oneWayChannelContract } from "./channel";
import { stellarAssetContract } from "./sac";

/** Wasm code hashes this devnet can run, each standing for a native implementation. */
const byWasmHash = new Map<string, NativeContract>([
  [CHANNEL_WASM_HASH.toString("hex"), oneWayChannelContract],
  ...accountImplementations.map(([hash, impl]) => [hash.toString("hex"), impl] as const),
]);

export function resolveContract(executable: xdr.ContractExecutable): NativeContract {
  if (executable.switch() === xdr.ContractExecutableType.contractExecutableStellarAsset()) return stellarAssetContract;
  const wasmHash = executable.wasmHash().toString("hex");
  const impl = byWasmHash.get(wasmHash);
  if (!impl) {
    throw HostError.host("WasmVm", "InvalidAction", `this devnet runs no Wasm: code ${wasmHash} has no native implementation`);
  }
  return impl;
}
