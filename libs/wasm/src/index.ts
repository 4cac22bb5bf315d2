/**
 * @quay/wasm: the contract code a local run deploys on the devnet, shared by the devnet (which maps
 * each code hash to its native implementation) and whoever deploys there (the demo, tests, the
 * benchmark): the one-way payment channel's Wasm and its hash, the code hash Quay's MPP relayer is
 * told to accept (MPP_CHANNEL_WASM_HASHES).
 */
import { NativeWasm } from "./native-wasm";

export { NativeWasm, type NativeWasmCode } from "./native-wasm";

/**
 * The Wasm a funder uploads to deploy a one-way payment channel on the devnet. It is a valid,
 * empty Wasm module whose custom section names the native implementation it stands for; its sha256
 * is the code hash that selects the devnet's `oneWayChannelContract`.
 */
const CHANNEL = NativeWasm.standingFor("stellar-experimental/one-way-channel@4b2fce5 (contracts/channel)");
export const CHANNEL_WASM: Buffer = CHANNEL.wasm;
export const CHANNEL_WASM_HASH: Buffer = CHANNEL.hash;
