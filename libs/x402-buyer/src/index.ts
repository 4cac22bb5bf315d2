/**
 * @quay/x402-buyer: what an x402 buyer needs to pay from a Stellar contract account (a C… smart
 * wallet) — the payment builder, signers for the common account designs, a WebAuthn assertion
 * maker, and an x402 client scheme. Depends on @stellar/stellar-sdk only (and @x402/core's types).
 */
export { SmartAccountPayment } from "./payment";
export { SmartAccountExactScheme } from "./scheme";
export { Signers, type AccountSigner, type CredentialsArm, type DelegateSigner, type SignerOptions, type WebAuthnSignerOptions } from "./signers";
export { WebAuthnAssertion } from "./webauthn";
