import type { KeyObject } from "node:crypto";
import { xdr, type Keypair } from "@stellar/stellar-sdk";
import { WebAuthnAssertion } from "./webauthn";

/**
 * Which arm of SorobanCredentials the signed entry uses, which decides the payload signed:
 * `address` (V1) signs sha256(HashIdPreimage ENVELOPE_TYPE_SOROBAN_AUTHORIZATION{network id, nonce,
 * expiration, invocation}); `addressV2` (CAP-71-02) and `addressWithDelegates` (CAP-71-01) sign
 * ENVELOPE_TYPE_SOROBAN_AUTHORIZATION_WITH_ADDRESS, which also binds the account's address. V2 and
 * delegates need protocol 27 or later; V1 is valid everywhere.
 */
export type CredentialsArm = "address" | "addressV2" | "addressWithDelegates";

/** One delegated signer (CAP-71-01): its address, how it signs the shared payload, its own delegates. */
export interface DelegateSigner {
  /** G… account or C… contract account. */
  readonly address: string;
  /** Its signature value over the top-level payload (a G account's: `Signers.ed25519Multisig([key])`). */
  sign(payload: Buffer): Promise<xdr.ScVal>;
  readonly nested?: readonly DelegateSigner[];
}

/** How a contract account (or a G account) authorizes one payment. */
export interface AccountSigner {
  readonly credentials: CredentialsArm;
  /** The `signature` argument the account's `__check_auth` expects, over the 32-byte payload. */
  sign(payload: Buffer): Promise<xdr.ScVal>;
  /** `addressWithDelegates` only: the delegate tree, each node signing the same payload. */
  readonly delegates?: readonly DelegateSigner[];
}

export interface SignerOptions {
  /** V1 (default, valid on every protocol) or V2 (address-bound, protocol ≥ 27). */
  readonly credentials?: "address" | "addressV2";
}

export interface WebAuthnSignerOptions extends SignerOptions, WebAuthnAssertion.Options {
  /** The passkey's credential id, as the account stores its signer under it. */
  readonly credentialId: Buffer;
}

/** Signers for the account kinds the devnet models (each file under apps/devnet/src/soroban/contracts/accounts). */
export namespace Signers {
  /**
   * `Vec<{public_key: BytesN<32>, signature: BytesN<64>}>` sorted by public key: a multisig
   * account modelled on soroban-examples' `account` — and a G account's own signature shape, so
   * this signs for G delegates too.
   */
  export function ed25519Multisig(keys: readonly Keypair[], options: SignerOptions = {}): AccountSigner {
    return {
      credentials: options.credentials ?? "address",
      sign: async (payload) => ed25519Vec(keys, payload),
    };
  }

  /** One raw ed25519 signature (`BytesN<64>`): the spending-policy account's signer. */
  export function ed25519(key: Keypair, options: SignerOptions = {}): AccountSigner {
    return {
      credentials: options.credentials ?? "address",
      sign: async (payload) => xdr.ScVal.scvBytes(key.sign(payload)),
    };
  }

  /**
   * A passkey account (passkey-kit's `Secp256r1Signature { authenticator_data, client_data_json,
   * id, signature }`): a WebAuthn assertion whose challenge is the payload.
   */
  export function webauthn(p256Key: KeyObject, options: WebAuthnSignerOptions): AccountSigner {
    return {
      credentials: options.credentials ?? "address",
      sign: async (payload) => {
        const assertion = WebAuthnAssertion.create(p256Key, payload, options);
        return struct({
          authenticator_data: xdr.ScVal.scvBytes(assertion.authenticatorData),
          client_data_json: xdr.ScVal.scvBytes(assertion.clientDataJson),
          id: xdr.ScVal.scvBytes(options.credentialId),
          signature: xdr.ScVal.scvBytes(assertion.signature),
        });
      },
    };
  }

  /**
   * CAP-71-01: the account signs through its delegates (`addressWithDelegates` credentials); its
   * own signature is `topLevel` (default void, as the devnet's delegating account expects).
   */
  export function delegates(tree: readonly DelegateSigner[], topLevel?: (payload: Buffer) => Promise<xdr.ScVal>): AccountSigner {
    return {
      credentials: "addressWithDelegates",
      sign: topLevel ?? (async () => xdr.ScVal.scvVoid()),
      delegates: tree,
    };
  }

  /** A G account as a delegate, signing with its master key (or any of its signers). */
  export function accountDelegate(key: Keypair, nested?: readonly DelegateSigner[]): DelegateSigner {
    return { address: key.publicKey(), sign: async (payload) => ed25519Vec([key], payload), ...(nested ? { nested } : {}) };
  }

  function ed25519Vec(keys: readonly Keypair[], payload: Buffer): xdr.ScVal {
    const sorted = [...keys].sort((a, b) => Buffer.compare(a.rawPublicKey(), b.rawPublicKey()));
    return xdr.ScVal.scvVec(
      sorted.map((kp) => struct({ public_key: xdr.ScVal.scvBytes(kp.rawPublicKey()), signature: xdr.ScVal.scvBytes(kp.sign(payload)) })),
    );
  }

  /** A `#[contracttype]` struct: an ScMap keyed by field symbols, in key order. */
  function struct(fields: Record<string, xdr.ScVal>): xdr.ScVal {
    return xdr.ScVal.scvMap(
      Object.keys(fields)
        .sort()
        .map((key) => new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol(key), val: fields[key]! })),
    );
  }
}
