import { xdr } from "@stellar/stellar-sdk";
import { sha256 } from "./sha256";

/**
 * Transaction hashes read off the envelope's own XDR. A hash is sha256 of the
 * TransactionSignaturePayload — [networkId][tagged transaction] — and an envelope already holds the
 * tagged transaction byte for byte, so encoding it again (as the SDK's `hash()` does) is waste:
 *
 * - v1:       [ENVELOPE_TYPE_TX][Transaction][signatures]
 * - fee bump: [ENVELOPE_TYPE_TX_FEE_BUMP][FeeBumpTransaction][signatures], where FeeBumpTransaction is
 *             [feeSource][fee][ENVELOPE_TYPE_TX][inner Transaction][inner signatures][ext]
 *
 * The envelope's type is also the tagged transaction's, so each payload is a slice: the envelope
 * less its signatures, and for the inner transaction the span from its type to its signatures.
 */
export namespace TxHashes {
  const ENVELOPE_TYPE_TX = 2;
  const ENVELOPE_TYPE_TX_FEE_BUMP = 5;
  const TYPE = 4;
  const INT64 = 8;
  const UNION_VOID = 4;

  /** `bytes` is `envelope.toXDR()` of a v1 envelope. */
  export function v1(networkId: Buffer, bytes: Buffer, envelope: xdr.TransactionV1Envelope): Buffer {
    const tagged = bytes.subarray(0, bytes.length - signaturesSize(envelope.signatures()));
    return sha256(networkId, expectType(tagged, ENVELOPE_TYPE_TX));
  }

  /** `bytes` is `envelope.toXDR()` of a fee-bump envelope: the fee bump's hash and its inner transaction's. */
  export function feeBump(networkId: Buffer, bytes: Buffer, envelope: xdr.FeeBumpTransactionEnvelope): { outer: Buffer; inner: Buffer } {
    const outerEnd = bytes.length - signaturesSize(envelope.signatures());
    const tx = envelope.tx();
    const innerStart = TYPE + muxedSize(tx.feeSource()) + INT64;
    const innerEnd = outerEnd - UNION_VOID - signaturesSize(tx.innerTx().v1().signatures());
    return {
      outer: sha256(networkId, expectType(bytes.subarray(0, outerEnd), ENVELOPE_TYPE_TX_FEE_BUMP)),
      inner: sha256(networkId, expectType(bytes.subarray(innerStart, innerEnd), ENVELOPE_TYPE_TX)),
    };
  }

  /** DecoratedSignature<20>: a count, then per signature a 4-byte hint and a length-prefixed, 4-aligned opaque. */
  function signaturesSize(signatures: readonly xdr.DecoratedSignature[]): number {
    let size = 4;
    for (const s of signatures) size += 4 + 4 + ((s.signature().length + 3) & ~3);
    return size;
  }

  function muxedSize(account: xdr.MuxedAccount): number {
    return account.switch() === xdr.CryptoKeyType.keyTypeMuxedEd25519() ? TYPE + INT64 + 32 : TYPE + 32;
  }

  /** A slice that does not start with its envelope type means the layout above is wrong: a devnet bug. */
  function expectType(tagged: Buffer, type: number): Buffer {
    if (tagged.length < TYPE || tagged.readInt32BE(0) !== type) throw new Error(`transaction payload slice does not start with envelope type ${type}`);
    return tagged;
  }
}
