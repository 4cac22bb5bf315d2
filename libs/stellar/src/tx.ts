import {
  Account,
  Operation,
  SorobanDataBuilder,
  Transaction,
  TransactionBuilder,
  xdr,
} from "@stellar/stellar-sdk";

/**
 * Building the transactions Quay submits on someone else's behalf. Pure: no RPC here, so each
 * step can be tested on its own and the submission loop decides when to call the network.
 */

export interface RebuildInput {
  /** The client's transaction; its single invokeHostFunction op (with its signed auth) is kept as is. */
  readonly clientTx: Transaction;
  /** Quay's channel account at its current sequence; the new tx uses sequence + 1. */
  readonly source: Account;
  readonly passphrase: string;
  /** Unix seconds after which the network refuses the tx: the point from which it is known not to have landed. */
  readonly maxTime: number;
  /** Footprint and resources from simulating the rebuilt tx; absent for the first build that is simulated. */
  readonly sorobanData?: xdr.SorobanTransactionData;
  /** Inclusion fee of the inner tx, in stroops; the fee bump carries the real bid. */
  readonly inclusionFee?: bigint;
}

export const Tx = {
  /** The client's invokeHostFunction op, rebuilt around Quay's source account and time bounds. */
  rebuild(input: RebuildInput): Transaction {
    const op = input.clientTx.operations[0];
    if (op?.type !== "invokeHostFunction" || input.clientTx.operations.length !== 1) {
      throw new Error("expected a transaction with exactly one invokeHostFunction operation");
    }
    const builder = new TransactionBuilder(input.source, {
      fee: (input.inclusionFee ?? 100n).toString(),
      networkPassphrase: input.passphrase,
      timebounds: { minTime: 0, maxTime: input.maxTime },
    }).addOperation(
      Operation.invokeHostFunction({ func: op.func, auth: op.auth ?? [], ...(op.source ? { source: op.source } : {}) }),
    );
    if (input.sorobanData) builder.setSorobanData(input.sorobanData);
    return builder.build();
  },

  /** Simulation's resources with the resource fee raised by `padPercent`, against small misestimates between simulate and apply. */
  padResources(transactionData: xdr.SorobanTransactionData, minResourceFee: bigint, padPercent: number): xdr.SorobanTransactionData {
    const padded = minResourceFee + (minResourceFee * BigInt(Math.round(padPercent * 100))) / 10_000n;
    return new SorobanDataBuilder(transactionData.toXDR("base64")).setResourceFee(padded).build();
  },

  resourceFee(tx: Transaction): bigint {
    const ext = Tx.body(tx).ext();
    return ext.switch() === 1 ? BigInt(ext.sorobanData().resourceFee().toString()) : 0n;
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
