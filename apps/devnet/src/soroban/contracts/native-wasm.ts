/**
 * This devnet runs no Wasm: contracts are deployed with code that names the native implementation
 * it stands for (see @quay/wasm, which deployers share with the devnet); `registry.ts` maps the code
 * hashes to the implementations.
 */
export { NativeWasm, type NativeWasmCode } from "@quay/wasm";
