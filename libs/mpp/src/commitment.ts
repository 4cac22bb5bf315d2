import { Address, hash, Keypair, nativeToScVal, scValToNative, StrKey, xdr } from "@stellar/stellar-sdk";
import { COMMITMENT_DOMAIN } from "./constants.js";
import { QuayMppError } from "./errors.js";

/**
 * The message a channel funder signs: the XDR of the one-way-channel contract's `Commitment`
 * struct, an ScMap with keys in sorted order {amount: i128, channel: Address, domain:
 * Symbol("chancmmt"), network: BytesN<32> = sha256(passphrase)}: 192 bytes. Built offline, equal
 * byte for byte to what the contract's `prepare_commitment(amount)` returns (proved by a test
 * against the devnet), so vouchers verify without an RPC call.
 */

export interface CommitmentInput {
  /** The channel contract (C…). */
  readonly channel: string;
  /** The cumulative amount, base units. */
  readonly amount: bigint;
  readonly networkPassphrase: string;
}

export class CommitmentError extends QuayMppError {
  override readonly name = "CommitmentError";
}

/** A commitment key as a channel stores it (32 raw bytes), given as G… strkey, 64-hex, bytes or a Keypair. */
export type CommitmentKey = string | Uint8Array | Keypair;

export const COMMITMENT_BYTES_LENGTH = 192;

export const Commitment = {
  networkId(networkPassphrase: string): Buffer {
    return hash(Buffer.from(networkPassphrase));
  },

  bytes(input: CommitmentInput): Buffer {
    if (input.amount < 0n) throw new CommitmentError("a commitment amount cannot be negative");
    if (!StrKey.isValidContract(input.channel)) throw new CommitmentError("channel must be a C… contract address");
    const entry = (key: string, val: xdr.ScVal) => new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol(key), val });
    return xdr.ScVal.scvMap([
      entry("amount", nativeToScVal(input.amount, { type: "i128" })),
      entry("channel", Address.fromString(input.channel).toScVal()),
      entry("domain", xdr.ScVal.scvSymbol(COMMITMENT_DOMAIN)),
      entry("network", xdr.ScVal.scvBytes(Commitment.networkId(input.networkPassphrase))),
    ]).toXDR();
  },

  /** Checks that `bytes` (e.g. from a simulated prepare_commitment, which is not authenticated) commit to exactly `input`. */
  binds(bytes: Uint8Array, input: CommitmentInput): boolean {
    return Buffer.from(bytes).equals(Commitment.bytes(input));
  },

  /** Reads the fields of commitment bytes; throws CommitmentError when they are not a commitment. */
  decode(bytes: Uint8Array): { channel: string; amount: bigint; networkId: Buffer } {
    let value: unknown;
    try {
      value = scValToNative(xdr.ScVal.fromXDR(Buffer.from(bytes)));
    } catch {
      throw new CommitmentError("bytes are not an ScVal");
    }
    const map = value as Record<string, unknown>;
    if (typeof map !== "object" || map === null || map.domain !== COMMITMENT_DOMAIN) throw new CommitmentError("not a channel commitment");
    if (typeof map.amount !== "bigint" || typeof map.channel !== "string" || !Buffer.isBuffer(map.network)) {
      throw new CommitmentError("commitment fields have the wrong types");
    }
    return { channel: map.channel, amount: map.amount, networkId: map.network };
  },

  /** Raw ed25519 signature over the commitment bytes, 128 hex chars. */
  sign(keypair: Keypair, input: CommitmentInput): string {
    return keypair.sign(Commitment.bytes(input)).toString("hex");
  },

  /** True when `signatureHex` is the commitment key's signature over `input`; false for any malformed input. */
  verify(commitmentKey: CommitmentKey, input: CommitmentInput, signatureHex: string): boolean {
    if (!/^[0-9a-f]{128}$/i.test(signatureHex)) return false;
    let keypair: Keypair;
    let message: Buffer;
    try {
      keypair = Commitment.keypairOf(commitmentKey);
      message = Commitment.bytes(input);
    } catch {
      return false;
    }
    try {
      return keypair.verify(message, Buffer.from(signatureHex, "hex"));
    } catch {
      return false;
    }
  },

  /** The verifying Keypair of a commitment key in any of its spellings. */
  keypairOf(key: CommitmentKey): Keypair {
    if (key instanceof Keypair) return Keypair.fromPublicKey(key.publicKey());
    if (typeof key === "string") {
      if (StrKey.isValidEd25519PublicKey(key)) return Keypair.fromPublicKey(key);
      if (/^[0-9a-f]{64}$/i.test(key)) return Keypair.fromPublicKey(StrKey.encodeEd25519PublicKey(Buffer.from(key, "hex")));
      throw new CommitmentError("commitment key must be a G… public key or 64 hex chars");
    }
    if (key.length !== 32) throw new CommitmentError("a raw commitment key is 32 bytes");
    return Keypair.fromPublicKey(StrKey.encodeEd25519PublicKey(Buffer.from(key)));
  },
} as const;
