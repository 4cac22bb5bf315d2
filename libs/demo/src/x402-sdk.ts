import { createRequire } from "node:module";

/**
 * `@x402/stellar` 2.9 brings its own `@stellar/stellar-sdk` 14 (nested under it), while Quay runs on
 * SDK 16. The buyer's and the reference facilitator's objects live in that copy: only base64 strings
 * may cross to Quay's. This is the one way to reach that copy, for the few patches the local run
 * needs (its client's http:// RPC on loopback).
 */
export interface X402StellarSdk {
  readonly contract: { readonly AssembledTransaction: unknown };
}

export function x402StellarSdk(): X402StellarSdk {
  const x402Stellar = createRequire(import.meta.url).resolve("@x402/stellar");
  return createRequire(x402Stellar)("@stellar/stellar-sdk") as X402StellarSdk;
}
