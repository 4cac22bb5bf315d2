import { Asset, xdr } from "@stellar/stellar-sdk";
import { Accounts } from "../accounts";
import { muxedToAccountId } from "../envelope";
import { ClassicEvents } from "../events";
import { OpResults } from "../results";
import type { LedgerState } from "../state";
import { StrKeys } from "../strkeys";

export interface ClassicOpContext {
  readonly state: LedgerState;
  readonly opSource: string;
  readonly ledgerSeq: number;
  readonly baseReserve: bigint;
  readonly networkPassphrase: string;
}

export interface OpOutcome {
  readonly result: xdr.OperationResult;
  readonly events: readonly xdr.ContractEvent[];
}

const CLASSIC_OPS = new Set(["createAccount", "payment", "changeTrust", "bumpSequence"]);

/**
 * The classic operations the devnet runs (createAccount, payment, changeTrust, bumpSequence), with
 * the network's result codes. Every other classic operation is opNOT_SUPPORTED.
 */
export namespace ClassicOps {
  export function isSupported(opType: string): boolean {
    return CLASSIC_OPS.has(opType);
  }

  /** Stateless validity (the network's doCheckValid): a failing op result, or undefined when well formed. */
  export function checkWellFormed(op: xdr.Operation, opSource: string): xdr.OperationResult | undefined {
    const body = op.body();
    switch (body.switch().name) {
      case "createAccount": {
        const o = body.createAccountOp();
        const dest = StrKeys.encodeAccount(o.destination().ed25519());
        if (BigInt(o.startingBalance().toString()) < 0n || dest === opSource) return OpResults.createAccount("createAccountMalformed");
        return undefined;
      }
      case "payment": {
        const o = body.paymentOp();
        if (BigInt(o.amount().toString()) <= 0n || !assetValid(o.asset())) return OpResults.payment("paymentMalformed");
        return undefined;
      }
      case "changeTrust": {
        const o = body.changeTrustOp();
        const line = o.line();
        if (line.switch() === xdr.AssetType.assetTypePoolShare()) return OpResults.notSupported();
        if (line.switch() === xdr.AssetType.assetTypeNative()) return OpResults.changeTrust("changeTrustMalformed");
        const asset = Asset.fromOperation(xdr.Asset.fromXDR(line.toXDR()));
        if (BigInt(o.limit().toString()) < 0n || asset.getIssuer() === opSource) return OpResults.changeTrust("changeTrustMalformed");
        return undefined;
      }
      case "bumpSequence":
        return BigInt(body.bumpSequenceOp().bumpTo().toString()) < 0n ? OpResults.bumpSequence("bumpSequenceBadSeq") : undefined;
      default:
        return OpResults.notSupported();
    }
  }

  /** The result a well-formed op carries in a rejected transaction's result list. */
  export function placeholderSuccess(opType: string): xdr.OperationResult {
    switch (opType) {
      case "createAccount":
        return OpResults.createAccount("createAccountSuccess");
      case "payment":
        return OpResults.payment("paymentSuccess");
      case "changeTrust":
        return OpResults.changeTrust("changeTrustSuccess");
      case "bumpSequence":
        return OpResults.bumpSequence("bumpSequenceSuccess");
      case "invokeHostFunction":
        return OpResults.invokeSuccess(Buffer.alloc(32));
      case "extendFootprintTtl":
        return OpResults.extendSuccess();
      case "restoreFootprint":
        return OpResults.restoreSuccess();
      default:
        return OpResults.notSupported();
    }
  }

  export function apply(op: xdr.Operation, ctx: ClassicOpContext): OpOutcome {
    const body = op.body();
    switch (body.switch().name) {
      case "createAccount":
        return createAccount(body.createAccountOp(), ctx);
      case "payment":
        return payment(body.paymentOp(), ctx);
      case "changeTrust":
        return changeTrust(body.changeTrustOp(), ctx);
      case "bumpSequence":
        return bumpSequence(body.bumpSequenceOp(), ctx);
      default:
        return { result: OpResults.notSupported(), events: [] };
    }
  }
}

function createAccount(op: xdr.CreateAccountOp, ctx: ClassicOpContext): OpOutcome {
  const fail = (code: OpResults.CreateAccountCode): OpOutcome => ({ result: OpResults.createAccount(code), events: [] });
  const dest = StrKeys.encodeAccount(op.destination().ed25519());
  const amount = BigInt(op.startingBalance().toString());
  if (Accounts.load(ctx.state, dest)) return fail("createAccountAlreadyExist");
  if (amount < 2n * ctx.baseReserve) return fail("createAccountLowReserve");
  const source = Accounts.load(ctx.state, ctx.opSource);
  if (!source) return { result: OpResults.noAccount(), events: [] };
  if (Accounts.available(source, ctx.baseReserve) < amount) return fail("createAccountUnderfunded");
  Accounts.setBalance(source, Accounts.balance(source) - amount);
  Accounts.store(ctx.state, source, ctx.ledgerSeq);
  Accounts.store(ctx.state, Accounts.create(dest, amount, ctx.ledgerSeq), ctx.ledgerSeq);
  return {
    result: OpResults.createAccount("createAccountSuccess"),
    events: [ClassicEvents.transfer(Asset.native(), ctx.opSource, dest, amount, ctx.networkPassphrase)],
  };
}

function payment(op: xdr.PaymentOp, ctx: ClassicOpContext): OpOutcome {
  const fail = (code: OpResults.PaymentCode): OpOutcome => ({ result: OpResults.payment(code), events: [] });
  const dest = muxedToAccountId(op.destination());
  const amount = BigInt(op.amount().toString());
  const asset = Asset.fromOperation(op.asset());
  const destAccount = Accounts.load(ctx.state, dest);
  if (!destAccount) return fail("paymentNoDestination");
  const success: OpOutcome = {
    result: OpResults.payment("paymentSuccess"),
    events: [ClassicEvents.transfer(asset, ctx.opSource, dest, amount, ctx.networkPassphrase)],
  };

  if (asset.isNative()) {
    const source = Accounts.load(ctx.state, ctx.opSource);
    if (!source) return { result: OpResults.noAccount(), events: [] };
    if (Accounts.available(source, ctx.baseReserve) < amount) return fail("paymentUnderfunded");
    if (dest === ctx.opSource) return success;
    if (Accounts.balance(destAccount) + amount > Accounts.INT64_MAX) return fail("paymentLineFull");
    Accounts.setBalance(source, Accounts.balance(source) - amount);
    Accounts.setBalance(destAccount, Accounts.balance(destAccount) + amount);
    Accounts.store(ctx.state, source, ctx.ledgerSeq);
    Accounts.store(ctx.state, destAccount, ctx.ledgerSeq);
    return success;
  }

  // Credit asset: the issuer mints from nothing and burns into nothing; everyone else needs a trustline.
  const issuer = asset.getIssuer();
  let sourceLine: xdr.TrustLineEntry | undefined;
  if (ctx.opSource !== issuer) {
    sourceLine = Accounts.loadTrustline(ctx.state, ctx.opSource, asset);
    if (!sourceLine) return fail("paymentSrcNoTrust");
    if ((sourceLine.flags() & Accounts.AUTHORIZED_FLAG) === 0) return fail("paymentSrcNotAuthorized");
    if (Accounts.trustlineBalance(sourceLine) < amount) return fail("paymentUnderfunded");
  }
  let destLine: xdr.TrustLineEntry | undefined;
  if (dest !== issuer) {
    destLine = Accounts.loadTrustline(ctx.state, dest, asset);
    if (!destLine) return fail("paymentNoTrust");
    if ((destLine.flags() & Accounts.AUTHORIZED_FLAG) === 0) return fail("paymentNotAuthorized");
  }
  if (dest === ctx.opSource) return success;
  if (destLine) {
    const after = Accounts.trustlineBalance(destLine) + amount;
    if (after > Accounts.trustlineLimit(destLine)) return fail("paymentLineFull");
    Accounts.setTrustlineBalance(destLine, after);
    Accounts.storeTrustline(ctx.state, destLine, asset, ctx.ledgerSeq);
  }
  if (sourceLine) {
    Accounts.setTrustlineBalance(sourceLine, Accounts.trustlineBalance(sourceLine) - amount);
    Accounts.storeTrustline(ctx.state, sourceLine, asset, ctx.ledgerSeq);
  }
  return success;
}

function changeTrust(op: xdr.ChangeTrustOp, ctx: ClassicOpContext): OpOutcome {
  const fail = (code: OpResults.ChangeTrustCode): OpOutcome => ({ result: OpResults.changeTrust(code), events: [] });
  const asset = Asset.fromOperation(xdr.Asset.fromXDR(op.line().toXDR()));
  const limit = BigInt(op.limit().toString());
  const source = Accounts.load(ctx.state, ctx.opSource);
  if (!source) return { result: OpResults.noAccount(), events: [] };
  const existing = Accounts.loadTrustline(ctx.state, ctx.opSource, asset);

  if (existing) {
    const balance = Accounts.trustlineBalance(existing);
    if (limit < balance) return fail("changeTrustInvalidLimit");
    if (limit === 0n) {
      Accounts.removeTrustline(ctx.state, ctx.opSource, asset);
      source.numSubEntries(source.numSubEntries() - 1);
      Accounts.store(ctx.state, source, ctx.ledgerSeq);
      return { result: OpResults.changeTrust("changeTrustSuccess"), events: [] };
    }
    existing.limit(xdr.Int64.fromString(limit.toString()));
    Accounts.storeTrustline(ctx.state, existing, asset, ctx.ledgerSeq);
    return { result: OpResults.changeTrust("changeTrustSuccess"), events: [] };
  }

  if (limit === 0n) return fail("changeTrustInvalidLimit");
  if (!Accounts.load(ctx.state, asset.getIssuer()!)) return fail("changeTrustNoIssuer");
  // The new trustline is a subentry: the account must hold one more base reserve.
  if (Accounts.available(source, ctx.baseReserve) < ctx.baseReserve) return fail("changeTrustLowReserve");
  source.numSubEntries(source.numSubEntries() + 1);
  Accounts.store(ctx.state, source, ctx.ledgerSeq);
  Accounts.storeTrustline(ctx.state, Accounts.newTrustline(ctx.opSource, asset, limit, 0n), asset, ctx.ledgerSeq);
  return { result: OpResults.changeTrust("changeTrustSuccess"), events: [] };
}

/**
 * bumpSequence: the op source's sequence number rises to bumpTo (never falls). It invalidates the
 * source's pending transactions, even one in the same ledger. (The sequence ledger and time of
 * AccountEntryExtensionV3 are not modelled, as minSeqAge/minSeqLedgerGap are refused.)
 */
function bumpSequence(op: xdr.BumpSequenceOp, ctx: ClassicOpContext): OpOutcome {
  const source = Accounts.load(ctx.state, ctx.opSource);
  if (!source) return { result: OpResults.noAccount(), events: [] };
  const bumpTo = BigInt(op.bumpTo().toString());
  if (bumpTo > Accounts.seqNum(source)) {
    Accounts.setSeqNum(source, bumpTo);
    Accounts.store(ctx.state, source, ctx.ledgerSeq);
  }
  return { result: OpResults.bumpSequence("bumpSequenceSuccess"), events: [] };
}

function assetValid(asset: xdr.Asset): boolean {
  try {
    Asset.fromOperation(asset);
    return true;
  } catch {
    return false;
  }
}
