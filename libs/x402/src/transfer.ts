import { Transaction, scValToNative, xdr } from "@stellar/stellar-sdk";
import type { Operation } from "@stellar/stellar-sdk";
import { isOneOf, strKeyOf, strKeyOfScVal } from "./addresses";
import { InvalidReason } from "./reasons";
import { Rejection } from "./rejection";

/**
 * The static part of verify: the client's envelope must be one SEP-41 `transfer(from, to, amount)`
 * call on the required asset, to the required payee, of exactly the required amount, touching none
 * of Quay's accounts. Pure; the checks run in the order of @x402/stellar's facilitator.
 */

export interface TransferCall {
  readonly transaction: Transaction;
  readonly invokeOp: Operation.InvokeHostFunction;
  readonly from: string;
  readonly to: string;
  readonly amount: bigint;
}

export interface TransferExpectation {
  readonly asset: string;
  readonly payTo: string;
  readonly amount: bigint;
  readonly quayAddresses: ReadonlySet<string>;
}

export const Transfer = {
  /** The envelope as a (non fee-bump) transaction bound to `passphrase`, or `malformed`. */
  parse(envelope: string, passphrase: string): Transaction {
    try {
      return new Transaction(envelope, passphrase);
    } catch {
      // The parser's message can quote the input; the reason says enough.
      throw new Rejection(InvalidReason.malformed, "payload.transaction is not a base64 transaction envelope");
    }
  },

  read(transaction: Transaction, expected: TransferExpectation): TransferCall {
    const [operation, ...others] = transaction.operations;
    if (!operation || others.length > 0) {
      throw new Rejection(InvalidReason.wrongOperation, `expected exactly 1 operation, got ${transaction.operations.length}`);
    }
    if (operation.type !== "invokeHostFunction") {
      throw new Rejection(InvalidReason.wrongOperation, `expected invokeHostFunction, got ${operation.type}`);
    }
    if (isOneOf(expected.quayAddresses, operation.source) || isOneOf(expected.quayAddresses, transaction.source)) {
      throw new Rejection(InvalidReason.unsafeTxOrOpSource, "a facilitator account is the transaction or operation source");
    }
    if (operation.func.switch() !== xdr.HostFunctionType.hostFunctionTypeInvokeContract()) {
      throw new Rejection(InvalidReason.wrongOperation, `expected a contract invocation, got ${operation.func.switch().name}`);
    }
    const call = operation.func.invokeContract();
    const contract = strKeyOf(call.contractAddress());
    if (contract !== expected.asset) {
      throw new Rejection(InvalidReason.wrongAsset, `the transaction calls ${contract}, not the asset ${expected.asset}`);
    }
    const functionName = call.functionName().toString();
    const args = call.args();
    if (functionName !== "transfer" || args.length !== 3) {
      throw new Rejection(InvalidReason.wrongFunctionName, `expected transfer with 3 arguments, got ${functionName} with ${args.length}`);
    }
    const [fromArg, toArg, amountArg] = args as [xdr.ScVal, xdr.ScVal, xdr.ScVal];
    if (!isAddress(fromArg) || !isAddress(toArg) || amountArg.switch() !== xdr.ScValType.scvI128()) {
      // Stricter than the library, which reads whatever it finds and fails later or not at all.
      throw new Rejection(InvalidReason.wrongFunctionName, "transfer arguments must be (address, address, i128)");
    }
    const from = strKeyOfScVal(fromArg);
    const to = strKeyOfScVal(toArg);
    const amount = scValToNative(amountArg) as bigint;
    if (isOneOf(expected.quayAddresses, from)) {
      throw new Rejection(InvalidReason.facilitatorIsPayer, "the payer is a facilitator account");
    }
    if (to !== expected.payTo) {
      throw new Rejection(InvalidReason.wrongRecipient, `the transfer pays ${to}, not payTo ${expected.payTo}`, from);
    }
    if (amount !== expected.amount) {
      throw new Rejection(InvalidReason.wrongAmount, `the transfer moves ${amount}, not the required ${expected.amount}`, from);
    }
    return { transaction, invokeOp: operation, from, to, amount };
  },
};

function isAddress(value: xdr.ScVal): boolean {
  return value.switch() === xdr.ScValType.scvAddress();
}
