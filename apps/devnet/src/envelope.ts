import { FeeBumpTransaction, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import type { Transaction } from "@stellar/stellar-sdk";
import { BoundedCache } from "./bounded-cache";
import { sha256 } from "./sha256";
import { StrKeys } from "./strkeys";
import { TxHashes } from "./tx-hash";

/** A transaction envelope the devnet cannot decode: the RPC answers it with invalid params. */
export class EnvelopeError extends Error {
  override readonly name = "EnvelopeError";
}

/** The inner (sequence-consuming) transaction, normalized from v0 or v1 envelopes. */
export interface InnerTx {
  readonly hash: Buffer;
  readonly signatures: readonly xdr.DecoratedSignature[];
  readonly source: string;
  readonly seqNum: bigint;
  readonly fee: bigint;
  readonly operations: readonly xdr.Operation[];
  readonly timeBounds?: { readonly min: bigint; readonly max: bigint };
  readonly ledgerBounds?: { readonly min: number; readonly max: number };
  readonly minSeqNum?: bigint;
  /** PreconditionsV2 minSeqAge / minSeqLedgerGap (not modelled by the devnet; 0 when absent). */
  readonly minSeqAge: bigint;
  readonly minSeqLedgerGap: number;
  readonly extraSigners: readonly xdr.SignerKey[];
  /** Whether the transaction carries a memo (a Soroban invocation may not: validateSorobanMemo). */
  readonly hasMemo: boolean;
  /** Whether the transaction source is a muxed (M…) account. */
  readonly sourceIsMuxed: boolean;
  readonly sorobanData?: xdr.SorobanTransactionData;
  /** Declared resource fee (0 for classic). */
  readonly resourceFee: bigint;
  /**
   * XDR size of this transaction's own envelope (for a fee bump's inner transaction, the inner
   * envelope): the size the network prices a Soroban transaction's history and bandwidth on.
   */
  readonly sizeBytes: number;
}

export interface ParsedTx {
  readonly envelope: xdr.TransactionEnvelope;
  readonly envelopeXdr: string;
  /** Hex hash the RPC reports: the outer one for a fee bump. */
  readonly hash: string;
  readonly inner: InnerTx;
  readonly feeBump?: {
    readonly feeSource: string;
    readonly fee: bigint;
    readonly hash: Buffer;
    readonly signatures: readonly xdr.DecoratedSignature[];
  };
  /** Who pays: the fee-bump source, else the tx source. */
  readonly feeSource: string;
  /** The fee bid of the envelope (outer for fee bumps). */
  readonly feeBid: bigint;
  /** Operations counted for fees: a fee bump counts as inner ops + 1. */
  readonly feeOps: number;
  /** feeBid minus the declared resource fee. */
  readonly inclusionBid: bigint;
  readonly isSoroban: boolean;
}

const SOROBAN_OPS = new Set(["invokeHostFunction", "extendFootprintTtl", "restoreFootprint"]);

export namespace Envelopes {
  export function parse(envelopeXdr: string, networkPassphrase: string): ParsedTx {
    let envelope: xdr.TransactionEnvelope;
    let parsed: Transaction | FeeBumpTransaction;
    try {
      envelope = xdr.TransactionEnvelope.fromXDR(envelopeXdr, "base64");
      // The SDK's reading of the envelope is also its well-formedness check: what it refuses, the devnet refuses.
      parsed = TransactionBuilder.fromXDR(envelope, networkPassphrase);
    } catch (err) {
      throw new EnvelopeError(`invalid transaction envelope: ${(err as Error).message}`);
    }
    const bytes = envelope.toXDR();
    const networkId = networkIdOf(networkPassphrase);
    if (parsed instanceof FeeBumpTransaction) {
      const fb = envelope.feeBump();
      const hashes = TxHashes.feeBump(networkId, bytes, fb);
      const innerTx = fb.tx().innerTx();
      const inner = innerOf(hashes.inner, innerTx.v1(), innerTx.toXDR().length);
      const fee = BigInt(fb.tx().fee().toString());
      const feeSource = muxedToAccountId(fb.tx().feeSource());
      return {
        envelope,
        envelopeXdr: bytes.toString("base64"),
        hash: hashes.outer.toString("hex"),
        inner,
        feeBump: { feeSource, fee, hash: hashes.outer, signatures: fb.signatures() },
        feeSource,
        feeBid: fee,
        feeOps: inner.operations.length + 1,
        inclusionBid: fee - inner.resourceFee,
        isSoroban: isSorobanTx(inner),
      };
    }
    const v1 = envelope.switch() === xdr.EnvelopeType.envelopeTypeTx() ? envelope.v1() : undefined;
    const inner = v1 ? innerOf(TxHashes.v1(networkId, bytes, v1), v1, bytes.length) : innerOfV0(parsed, envelope.v0(), bytes.length);
    return {
      envelope,
      envelopeXdr: bytes.toString("base64"),
      hash: inner.hash.toString("hex"),
      inner,
      feeSource: inner.source,
      feeBid: inner.fee,
      feeOps: inner.operations.length,
      inclusionBid: inner.fee - inner.resourceFee,
      isSoroban: isSorobanTx(inner),
    };
  }

  export function operationType(op: xdr.Operation): string {
    return op.body().switch().name;
  }

  export function isSorobanOp(op: xdr.Operation): boolean {
    return SOROBAN_OPS.has(operationType(op));
  }

  /** Whether the operation names its own source as a muxed (M…) account. */
  export function opSourceIsMuxed(op: xdr.Operation): boolean {
    return op.sourceAccount()?.switch() === xdr.CryptoKeyType.keyTypeMuxedEd25519();
  }

  export function opSource(op: xdr.Operation, txSource: string): string {
    const src = op.sourceAccount();
    return src ? muxedToAccountId(src) : txSource;
  }
}

export function muxedToAccountId(account: xdr.MuxedAccount): string {
  if (account.switch() === xdr.CryptoKeyType.keyTypeMuxedEd25519()) {
    return StrKeys.encodeAccount(account.med25519().ed25519());
  }
  return StrKeys.encodeAccount(account.ed25519());
}

const networkIds = new BoundedCache<string, Buffer>(16);

function networkIdOf(passphrase: string): Buffer {
  let id = networkIds.get(passphrase);
  if (!id) {
    id = sha256(Buffer.from(passphrase));
    networkIds.set(passphrase, id);
  }
  return id;
}

function isSorobanTx(inner: InnerTx): boolean {
  return inner.sorobanData !== undefined || inner.operations.some(Envelopes.isSorobanOp);
}

function innerOf(hash: Buffer, v1: xdr.TransactionV1Envelope, sizeBytes: number): InnerTx {
  const tx = v1.tx();
  const cond = tx.cond();
  let timeBounds: xdr.TimeBounds | null | undefined;
  let ledgerBounds: xdr.LedgerBounds | null | undefined;
  let minSeqNum: bigint | undefined;
  let minSeqAge = 0n;
  let minSeqLedgerGap = 0;
  let extraSigners: xdr.SignerKey[] = [];
  if (cond.switch() === xdr.PreconditionType.precondTime()) timeBounds = cond.timeBounds();
  if (cond.switch() === xdr.PreconditionType.precondV2()) {
    const v2 = cond.v2();
    timeBounds = v2.timeBounds();
    ledgerBounds = v2.ledgerBounds();
    const min = v2.minSeqNum();
    minSeqNum = min ? BigInt(min.toString()) : undefined;
    minSeqAge = BigInt(v2.minSeqAge().toString());
    minSeqLedgerGap = v2.minSeqLedgerGap();
    extraSigners = v2.extraSigners();
  }
  const sorobanData = tx.ext().switch() === 1 ? tx.ext().sorobanData() : undefined;
  return {
    hash,
    signatures: v1.signatures(),
    source: muxedToAccountId(tx.sourceAccount()),
    seqNum: BigInt(tx.seqNum().toString()),
    fee: BigInt(tx.fee()),
    operations: tx.operations(),
    ...(timeBounds ? { timeBounds: bounds(timeBounds) } : {}),
    ...(ledgerBounds ? { ledgerBounds: { min: ledgerBounds.minLedger(), max: ledgerBounds.maxLedger() } } : {}),
    ...(minSeqNum !== undefined ? { minSeqNum } : {}),
    minSeqAge,
    minSeqLedgerGap,
    extraSigners,
    hasMemo: tx.memo().switch() !== xdr.MemoType.memoNone(),
    sourceIsMuxed: tx.sourceAccount().switch() === xdr.CryptoKeyType.keyTypeMuxedEd25519(),
    ...(sorobanData ? { sorobanData } : {}),
    resourceFee: sorobanData ? BigInt(sorobanData.resourceFee().toString()) : 0n,
    sizeBytes,
  };
}

function innerOfV0(parsed: Transaction, v0: xdr.TransactionV0Envelope, sizeBytes: number): InnerTx {
  const tx = v0.tx();
  const timeBounds = tx.timeBounds();
  return {
    // Rare enough to leave to the SDK, which rebuilds the v1 form a v0 transaction is signed as.
    hash: sha256(parsed.signatureBase()),
    signatures: v0.signatures(),
    source: StrKeys.encodeAccount(tx.sourceAccountEd25519()),
    seqNum: BigInt(tx.seqNum().toString()),
    fee: BigInt(tx.fee()),
    operations: tx.operations(),
    ...(timeBounds ? { timeBounds: bounds(timeBounds) } : {}),
    minSeqAge: 0n,
    minSeqLedgerGap: 0,
    extraSigners: [],
    hasMemo: tx.memo().switch() !== xdr.MemoType.memoNone(),
    sourceIsMuxed: false,
    resourceFee: 0n,
    sizeBytes,
  };
}

function bounds(tb: xdr.TimeBounds): { min: bigint; max: bigint } {
  return { min: BigInt(tb.minTime().toString()), max: BigInt(tb.maxTime().toString()) };
}
