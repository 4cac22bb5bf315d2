import { createHash } from "node:crypto";
import type { Transaction } from "@stellar/stellar-sdk";
import type { Signer } from "./signer";
import { Tx } from "./tx";

/**
 * The envelopes settlement sends, written as bytes. Each payment signs its inner transaction once
 * and wraps it in one fee bump per bid; through the SDK that encodes, decodes and copies the whole
 * transaction about a dozen times (`toEnvelope`, the fee bump's constructor, every `hash()` on a
 * pure-JS SHA-256), the largest share of a worker's CPU per payment. Here the inner transaction is
 * encoded once and every later step appends to those bytes, following the XDR definitions
 * (Stellar-transaction.x) that the SDK also encodes; tests hold the output byte-identical to it.
 */

const ENVELOPE_TYPE_TX = 2;
const ENVELOPE_TYPE_TX_FEE_BUMP = 5;
const KEY_TYPE_ED25519 = 0;
const SIGNATURE_BYTES = 64;
/** The network's minimum inclusion fee per operation, below which the SDK refuses to build a fee bump. */
const MIN_BASE_FEE = 100n;

/** An inner transaction signed by its source: what every fee bump of one build wraps. */
export interface SignedInner {
  /** Hex hash of the inner transaction. */
  readonly hash: string;
  readonly sequence: string;
  /** The upper time bound, unix seconds (0: none). */
  readonly maxTime: number;
  readonly operationCount: number;
  /** The inner transaction's fee field: inclusion fee plus resource fee. */
  readonly fee: bigint;
  readonly resourceFee: bigint;
  /** TransactionV1Envelope XDR: the transaction and its signature. */
  readonly v1Envelope: Buffer;
}

/** A signed fee bump, ready to record and send. */
export interface SignedFeeBump {
  /** Hex hash of the fee bump transaction: the hash the network reports. */
  readonly hash: string;
  /** TransactionEnvelope XDR, base64, as sendTransaction takes it. */
  readonly envelope: string;
  /** The most the fee source can be charged. */
  readonly fee: bigint;
}

export class FeeBumpBidError extends Error {
  override readonly name = "FeeBumpBidError";
}

const networkIds = new Map<string, Buffer>();

export const Envelopes = {
  /** The network id every signature commits to: SHA-256 of the passphrase. */
  networkId(passphrase: string): Buffer {
    let id = networkIds.get(passphrase);
    if (!id) networkIds.set(passphrase, (id = sha256(Buffer.from(passphrase, "utf8"))));
    return id;
  },

  /** `tx` signed by `source` (its source account's key), as `tx.sign(keypair)` then `toEnvelope()` would give. */
  signInner(tx: Transaction, source: Signer, passphrase: string): SignedInner {
    const body = Tx.body(tx).toXDR();
    const hash = sha256(Buffer.concat([Envelopes.networkId(passphrase), uint32(ENVELOPE_TYPE_TX), body]));
    return {
      hash: hash.toString("hex"),
      sequence: tx.sequence,
      maxTime: Number(tx.timeBounds?.maxTime ?? "0"),
      operationCount: tx.operations.length,
      fee: BigInt(tx.fee),
      resourceFee: Tx.resourceFee(tx),
      v1Envelope: Buffer.concat([body, signatures(source, hash)]),
    };
  },

  /** A transaction its source signed already (a caller's own), as a fee bump wraps it. */
  signed(tx: Transaction): SignedInner {
    const envelope = tx.toEnvelope();
    return {
      hash: tx.hash().toString("hex"),
      sequence: tx.sequence,
      maxTime: Number(tx.timeBounds?.maxTime ?? "0"),
      operationCount: tx.operations.length,
      fee: BigInt(tx.fee),
      resourceFee: Tx.resourceFee(tx),
      v1Envelope: envelope.v1().toXDR(),
    };
  },

  /**
   * `inner` wrapped in a fee bump from `feeSource` bidding `bidPerOp` per operation, signed: the
   * SDK's `buildFeeBumpTransaction` and `sign`, byte for byte, with its checks on the bid.
   */
  feeBump(inner: SignedInner, feeSource: Signer, bidPerOp: bigint, passphrase: string): SignedFeeBump {
    const ops = BigInt(inner.operationCount);
    // The inner rate, (fee - resourceFee) / ops, compared without rounding it.
    if (bidPerOp * ops < inner.fee - inner.resourceFee) {
      throw new FeeBumpBidError("a fee bump bids at least the inner transaction's inclusion fee per operation");
    }
    if (bidPerOp < MIN_BASE_FEE) throw new FeeBumpBidError(`a fee bump bids at least ${MIN_BASE_FEE} stroops`);
    const fee = bidPerOp * BigInt(inner.operationCount + 1) + inner.resourceFee;
    const feeBumpTx = Buffer.concat([
      uint32(KEY_TYPE_ED25519),
      feeSource.publicKeyBytes,
      int64(fee),
      uint32(ENVELOPE_TYPE_TX),
      inner.v1Envelope,
      uint32(0), // ext: v0
    ]);
    const hash = sha256(Buffer.concat([Envelopes.networkId(passphrase), uint32(ENVELOPE_TYPE_TX_FEE_BUMP), feeBumpTx]));
    const envelope = Buffer.concat([uint32(ENVELOPE_TYPE_TX_FEE_BUMP), feeBumpTx, signatures(feeSource, hash)]);
    return { hash: hash.toString("hex"), envelope: envelope.toString("base64"), fee };
  },
};

/** `DecoratedSignature signatures<20>` holding the one signature of `hash` by `signer`. */
function signatures(signer: Signer, hash: Buffer): Buffer {
  const signature = signer.signHash(hash);
  if (signature.length !== SIGNATURE_BYTES) throw new Error(`an Ed25519 signature is ${SIGNATURE_BYTES} bytes`);
  return Buffer.concat([uint32(1), signer.hint(), uint32(SIGNATURE_BYTES), signature]);
}

function sha256(bytes: Buffer): Buffer {
  return createHash("sha256").update(bytes).digest();
}

function uint32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value);
  return out;
}

function int64(value: bigint): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeBigInt64BE(value);
  return out;
}
