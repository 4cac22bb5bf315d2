import {
  Account,
  Operation,
  SorobanDataBuilder,
  Transaction,
  TransactionBuilder,
  xdr,
} from "@stellar/stellar-sdk";
import { Fees } from "./fees";

/**
 * Building the transactions Quay submits on someone else's behalf. Pure: no RPC here, so each
 * step can be tested on its own and the submission loop decides when to call the network.
 */

export interface RebuildInput {
  /**
   * The caller's transaction: its single Soroban operation is kept as is (an invokeHostFunction
   * with its signed auth, or Quay's own restoreFootprint or extendFootprintTtl).
   */
  readonly clientTx: Transaction;
  /** Quay's channel account at its current sequence; the new tx uses sequence + 1. */
  readonly source: Account;
  readonly passphrase: string;
  /** Unix seconds after which the network refuses the tx: the point from which it is known not to have landed. */
  readonly maxTime: number;
  /**
   * Footprint and resources from simulating the rebuilt tx; absent for the draft that is simulated
   * (which keeps the caller's footprint for a footprint operation, as those act on it).
   */
  readonly sorobanData?: xdr.SorobanTransactionData;
  /** Inclusion fee of the inner tx, in stroops; the fee bump carries the real bid. */
  readonly inclusionFee?: bigint;
}

export const Tx = {
  /** The caller's Soroban operation, rebuilt around Quay's source account and time bounds. */
  rebuild(input: RebuildInput): Transaction {
    const op = input.clientTx.operations[0];
    if (input.clientTx.operations.length !== 1 || !op) throw new Error("expected a transaction with exactly one Soroban operation");
    const source = op.source ? { source: op.source } : {};
    let rebuilt: xdr.Operation;
    switch (op.type) {
      case "invokeHostFunction":
        rebuilt = Operation.invokeHostFunction({ func: op.func, auth: op.auth ?? [], ...source });
        break;
      case "extendFootprintTtl":
        rebuilt = Operation.extendFootprintTtl({ extendTo: op.extendTo, ...source });
        break;
      case "restoreFootprint":
        rebuilt = Operation.restoreFootprint(source);
        break;
      default:
        throw new Error("expected a transaction with exactly one Soroban operation");
    }
    const builder = new TransactionBuilder(input.source, {
      fee: (input.inclusionFee ?? 100n).toString(),
      networkPassphrase: input.passphrase,
      timebounds: { minTime: 0, maxTime: input.maxTime },
    }).addOperation(rebuilt);
    const sorobanData = input.sorobanData ?? (op.type === "invokeHostFunction" ? undefined : Tx.sorobanData(input.clientTx));
    if (sorobanData) builder.setSorobanData(sorobanData);
    return builder.build();
  },

  /** The transaction's Soroban data (footprint, resources), if it has any. */
  sorobanData(tx: Transaction): xdr.SorobanTransactionData | undefined {
    const ext = Tx.body(tx).ext();
    return ext.switch() === 1 ? ext.sorobanData() : undefined;
  },

  /** Simulation's resources with the resource fee raised by `padPercent`, against small misestimates between simulate and apply. */
  padResources(transactionData: xdr.SorobanTransactionData, minResourceFee: bigint, padPercent: number): xdr.SorobanTransactionData {
    return new SorobanDataBuilder(transactionData.toXDR("base64")).setResourceFee(Fees.padded(minResourceFee, padPercent)).build();
  },

  resourceFee(tx: Transaction): bigint {
    const data = Tx.sorobanData(tx);
    return data ? BigInt(data.resourceFee().toString()) : 0n;
  },

  /**
   * The transaction's XDR body. The SDK keeps it behind a getter that its type declarations leave
   * out; `toEnvelope().v1().tx()` gives the same value through an encode, a decode and a copy.
   */
  body(tx: Transaction): xdr.Transaction {
    const held = (tx as unknown as { readonly tx?: xdr.Transaction }).tx;
    return held instanceof xdr.Transaction ? held : tx.toEnvelope().v1().tx();
  },
};

/** The result code of a TransactionResult XDR (e.g. "txBadSeq", "txInsufficientFee"), inner result for fee bumps. */
export function resultCodes(resultXdr: xdr.TransactionResult): { outer: string; inner?: string } {
  const result = resultXdr.result();
  const outer = result.switch().name;
  if (outer === "txFeeBumpInnerSuccess" || outer === "txFeeBumpInnerFailed") {
    return { outer, inner: result.innerResultPair().result().result().switch().name };
  }
  return { outer };
}
