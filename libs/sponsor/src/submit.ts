import { Account, Address, Operation, rpc, TimeoutInfinite, Transaction, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { and, count, eq, inArray } from "drizzle-orm";
import { schema } from "@quay/db";
import type { AuthenticatedKey } from "@quay/keys";
import { ApiKeys } from "@quay/keys";
import { PoolAdmin } from "@quay/pool";
import { FeeBudgetExceeded, Intake, isFinal, Records, ReusableSimulation, worstCaseFee, type NewSubmission, type Submission } from "@quay/settlement";
import { AuthEntry, RpcUnavailableError, Tx } from "@quay/stellar";
import { ChannelsApiError } from "./errors";
import { Params } from "./params";
import type { SponsorDeps, SponsorNetwork } from "./deps";

const { submissions } = schema;

/** What a submit answers (OZ's `ChannelsTransactionResponse`, or the read-only short cut). */
export type SubmitAnswer =
  | { readonly transactionId: string; readonly status: "pending" | "confirmed"; readonly hash: string | null }
  | { readonly transactionId: null; readonly status: "readonly"; readonly hash: null; readonly returnValue: string; readonly latestLedger: number };

/** The most a caller-signed Soroban transaction may bid for inclusion beyond its resource fee: OZ's 201 stroops. */
const MAX_SIGNED_INCLUSION_FEE = 201n;

/**
 * `{func, auth}`: a contract call whose authorisations its signers made, sponsored end to end. It
 * is simulated in enforce mode before anything is recorded (so a bad signature costs the operator
 * nothing), answered from the simulation when it changes nothing, and otherwise recorded as a
 * `channels` submission the worker rebuilds on a channel account and fee-bumps.
 */
export async function submitCall(
  deps: SponsorDeps,
  net: SponsorNetwork,
  key: AuthenticatedKey,
  call: { readonly func: xdr.HostFunction; readonly auth: readonly xdr.SorobanAuthorizationEntry[]; readonly skipWait: boolean },
): Promise<SubmitAnswer> {
  const contract = invokedContract(call.func);
  assertAllowed(net, key, contract);
  const quay = await deps.quayAddresses(net.network.id);
  const addressed = call.auth.map((entry) => {
    const credentials = AuthEntry.addressCredentials(entry);
    if (!credentials) throw invalid("detached address credentials required: source-account auth entries would be authorised by Quay's channel account");
    const address = Address.fromScAddress(credentials.address()).toString();
    if (quay.has(address)) throw invalid("an auth entry names one of Quay's own accounts");
    if (!AuthEntry.isSigned(entry)) throw new ChannelsApiError("SIMULATION_SIGNED_AUTH_VALIDATION_FAILED", `the auth entry of ${address} is not signed`, { address });
    return { entry, credentials, address };
  });
  const first = addressed[0];
  const identity = first
    ? { payer: first.address, authNonce: first.credentials.nonce().toString(), termsHash: AuthEntry.termsHash(first.entry) }
    : { payer: null, authNonce: null, termsHash: null };

  // A call Quay recorded already (its nonce may be spent by now, so it would not simulate) is
  // answered from its record, never simulated or sent again.
  if (identity.payer !== null) {
    const known = await Intake.find(deps.db, net.network.id, identity.payer, identity.authNonce!);
    if (known) return answer(deps, ownedCopy(known, key, identity), call.skipWait);
  }

  const draft = new TransactionBuilder(new Account(net.fundPublicKey, "0"), { fee: "100", networkPassphrase: net.network.passphrase })
    .addOperation(Operation.invokeHostFunction({ func: call.func, auth: [...call.auth] }))
    .setTimeout(TimeoutInfinite)
    .build();
  // Checked before simulating, on the cached latest ledger (an authorisation that cannot outlive
  // the trip to the ledger costs nothing), and again on the simulation's own.
  const expirations = addressed.map((a) => a.credentials.signatureExpirationLedger());
  const earliest = expirations.length === 0 ? undefined : Math.min(...expirations);
  const assertLongEnough = (latestLedger: number) => {
    const minimum = latestLedger + deps.authExpiryBufferLedgers;
    if (earliest !== undefined && earliest < minimum) {
      throw new ChannelsApiError("AUTH_EXPIRY_TOO_SHORT", `an auth entry expires at ledger ${earliest}; it must be valid until at least ledger ${minimum}`, {
        signatureExpirationLedger: earliest,
        latestLedger,
        minimumLedger: minimum,
      });
    }
  };
  if (earliest !== undefined) assertLongEnough(await net.network.latestLedger());

  // The simulation's ledger is fresh: an authorisation expired since the cached one fails it for
  // that reason, which the caller is told rather than an auth failure.
  const sim = await simulate(net, draft, assertLongEnough);
  if (call.auth.length === 0 && (sim.result?.auth.length ?? 0) === 0 && sim.transactionData.build().resources().footprint().readWrite().length === 0) {
    return { transactionId: null, status: "readonly", hash: null, returnValue: (sim.result?.retval ?? xdr.ScVal.scvVoid()).toXDR("base64"), latestLedger: sim.latestLedger };
  }

  await assertCapacity(deps, net, key, contract);
  const submission = await record(deps, net, key, {
    network: net.network.id,
    kind: "channels",
    mode: "rebuild",
    ...identity,
    contract,
    clientTransaction: draft.toXDR(),
    signatureExpirationLedger: earliest ?? null,
    ...ReusableSimulation.from(sim),
    apiKeyId: key.id,
  });
  return answer(deps, submission, call.skipWait);
}

/**
 * `{xdr}`: a transaction envelope. Signed, it is the caller's own (its source pays nothing, its
 * sequence is used) and is fee-bumped as it is; unsigned, its one invokeHostFunction goes the way
 * of `{func, auth}`.
 */
export async function submitEnvelope(
  deps: SponsorDeps,
  net: SponsorNetwork,
  key: AuthenticatedKey,
  request: { readonly envelope: xdr.TransactionEnvelope; readonly skipWait: boolean },
): Promise<SubmitAnswer> {
  const type = request.envelope.switch();
  if (type !== xdr.EnvelopeType.envelopeTypeTx()) {
    throw new ChannelsApiError("INVALID_ENVELOPE_TYPE", "xdr must be a plain (v1) transaction envelope, not a fee bump", { envelopeType: type.name });
  }
  const tx = new Transaction(request.envelope, net.network.passphrase);
  const op = tx.operations[0];
  if (tx.signatures.length === 0) {
    if (tx.operations.length !== 1 || op?.type !== "invokeHostFunction") {
      throw new ChannelsApiError("INVALID_UNSIGNED_XDR", "an unsigned transaction must hold exactly one invokeHostFunction operation");
    }
    const v1 = request.envelope.v1().tx().operations()[0]!.body().invokeHostFunctionOp();
    return submitCall(deps, net, key, { ...Params.hostFunction(v1.hostFunction().toXDR("base64"), v1.auth().map((a) => a.toXDR("base64"))), skipWait: request.skipWait });
  }

  if (tx.operations.length !== 1 || op?.type !== "invokeHostFunction") throw invalid("a signed transaction must hold exactly one invokeHostFunction operation");
  const contract = invokedContract(op.func);
  assertAllowed(net, key, contract);
  if ((await deps.quayAddresses(net.network.id)).has(tx.source)) throw invalid("the transaction's source is one of Quay's own accounts");
  const envelopeHash = tx.hash().toString("hex");
  const known = await Intake.findEnvelope(deps.db, net.network.id, envelopeHash);
  if (known) return answer(deps, ownedCopy(known, key, { envelopeHash }), request.skipWait);

  const resourceFee = Tx.resourceFee(tx);
  const fee = BigInt(tx.fee);
  if (fee > resourceFee + MAX_SIGNED_INCLUSION_FEE) {
    throw new ChannelsApiError("FEE_MISMATCH", `the transaction's fee may be at most its resource fee + ${MAX_SIGNED_INCLUSION_FEE} stroops: Quay's fee bump pays the rest`, {
      fee: stroops(fee),
      resourceFee: stroops(resourceFee),
      maxAllowedFee: stroops(resourceFee + MAX_SIGNED_INCLUSION_FEE),
    });
  }
  const maxTime = Number(tx.timeBounds?.maxTime ?? "0");
  const now = Math.floor(Date.now() / 1000);
  if (maxTime === 0 || maxTime > now + deps.maxTimeBoundOffsetSeconds) {
    throw new ChannelsApiError("TIMEBOUNDS_TOO_FAR", `the transaction's upper time bound must be set and at most ${deps.maxTimeBoundOffsetSeconds} s ahead`, { maxTime, maxAllowed: now + deps.maxTimeBoundOffsetSeconds });
  }
  if (maxTime < now) throw new ChannelsApiError("TIMEBOUNDS_EXPIRED", "the transaction's upper time bound has passed", { maxTime, now });

  await assertCapacity(deps, net, key, contract);
  const submission = await record(deps, net, key, {
    network: net.network.id,
    kind: "channels",
    mode: "fee_bump",
    envelopeHash,
    contract,
    clientTransaction: request.envelope.toXDR("base64"),
    apiKeyId: key.id,
  });
  return answer(deps, submission, request.skipWait);
}

function invalid(message: string): ChannelsApiError {
  return new ChannelsApiError("INVALID_PARAMS", message, { message });
}

/** JSON numbers, as OZ sends stroop figures, while they are exact; strings beyond. */
export function stroops(value: bigint): number | string {
  return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
}

function invokedContract(func: xdr.HostFunction): string {
  if (func.switch() !== xdr.HostFunctionType.hostFunctionTypeInvokeContract()) {
    throw invalid("only contract calls (invokeContract host functions) are sponsored");
  }
  return Address.fromScAddress(func.invokeContract().contractAddress()).toString();
}

/** The key's allow-list, or by default the contracts of the assets Quay serves on the network. */
function assertAllowed(net: SponsorNetwork, key: AuthenticatedKey, contract: string): void {
  const allowed = key.allowedContracts ?? net.assets;
  if (!allowed.includes(contract)) {
    throw new ChannelsApiError("CONTRACT_NOT_ALLOWED", `this API key may not have Quay sponsor calls to contract ${contract}`, { contract });
  }
}

async function simulate(net: SponsorNetwork, draft: Transaction, atLedger: (latestLedger: number) => void): Promise<rpc.Api.SimulateTransactionSuccessResponse> {
  let sim: rpc.Api.SimulateTransactionResponse;
  try {
    sim = await net.network.simulate(draft, { authMode: "enforce" });
  } catch (error) {
    if (error instanceof RpcUnavailableError) throw new ChannelsApiError("SIMULATION_NETWORK_ERROR", "the Stellar RPC is unavailable; retry", { message: error.message });
    throw error;
  }
  atLedger(sim.latestLedger);
  if (rpc.Api.isSimulationSuccess(sim)) return sim;
  const error = rpc.Api.isSimulationError(sim) ? sim.error : "the call needs archived entries restored first";
  const auth = /Error\(Auth,/.test(error);
  throw new ChannelsApiError(
    auth ? "SIMULATION_SIGNED_AUTH_VALIDATION_FAILED" : "SIMULATION_FAILED",
    auth ? "the signed auth entries do not authorise this call" : "the call fails in simulation",
    { error: error.slice(0, 1000) },
  );
}

/**
 * The key's share of the pool for one contract (OZ's LIMITED_CONTRACTS, per key): calls to it in
 * flight may hold at most that share of the network's channel accounts, so one busy contract
 * cannot starve the others.
 */
async function assertCapacity(deps: SponsorDeps, net: SponsorNetwork, key: AuthenticatedKey, contract: string): Promise<void> {
  const { size } = await PoolAdmin.occupancy({ db: deps.db, network: net.network });
  if (size === 0) throw new ChannelsApiError("NO_CHANNELS_CONFIGURED", "this network has no channel accounts");
  if (key.contractCapacityPercent === null) return;
  const share = Math.max(1, Math.floor((size * key.contractCapacityPercent) / 100));
  const [row] = await deps.db
    .select({ inFlight: count() })
    .from(submissions)
    .where(
      and(
        eq(submissions.network, net.network.id),
        eq(submissions.contract, contract),
        eq(submissions.apiKeyId, key.id),
        inArray(submissions.status, ["queued", "submitting"]),
      ),
    );
  if ((row?.inFlight ?? 0) >= share) {
    throw new ChannelsApiError("POOL_CAPACITY", `calls to ${contract} hold this key's share of the channel accounts (${share} of ${size}); retry shortly`, {
      reason: "limited_contract_capacity",
      contract,
    });
  }
}

/** Records the submission with its fee reservation; an earlier one of this key under the same identity is answered again. */
async function record(deps: SponsorDeps, net: SponsorNetwork, key: AuthenticatedKey, submission: Parameters<typeof Intake.accept>[2]): Promise<Submission> {
  const fee = worstCaseFee(net.maxFeeStroops);
  let acceptance;
  try {
    acceptance = await Intake.accept(deps.db, deps.queue, submission, key.feeBudgetStroops === null ? {} : { reserveStroops: fee });
  } catch (error) {
    if (!(error instanceof FeeBudgetExceeded)) throw error;
    const usage = await ApiKeys.feeUsage(deps.db, key.id);
    throw new ChannelsApiError("FEE_LIMIT_EXCEEDED", "this API key's fee limit cannot hold this transaction's fee", {
      consumed: stroops(usage?.consumed ?? 0n),
      fee: stroops(fee),
      remaining: stroops(usage?.remaining ?? 0n),
      limit: stroops(usage?.limit ?? 0n),
    });
  }
  switch (acceptance.kind) {
    case "recorded":
      return acceptance.submission;
    case "held":
      return ownedCopy(acceptance.submission, key, submission);
    case "other_terms":
      throw otherTerms();
  }
}

const otherTerms = () => invalid("the first auth entry's nonce names another call already: sign with a new nonce");

/**
 * A submission Quay holds under the same identity: the same call sent again by the key that sent
 * it is answered from it; anything else (another key's, another protocol's, other terms under
 * the nonce) is refused, never sent twice.
 */
function ownedCopy(known: Submission, key: AuthenticatedKey, terms: Pick<NewSubmission, "termsHash" | "envelopeHash" | "asset" | "payTo" | "amount">): Submission {
  if (!Intake.sameTerms(known, terms)) throw otherTerms();
  if (known.kind !== "channels" || known.apiKeyId !== key.id) throw invalid("this authorization or transaction has been submitted already");
  return known;
}

/** `skipWait` answers at once (hash null: OZ's x402 plugin reads a hash as "confirmed"); otherwise the outcome, or WAIT_TIMEOUT. */
async function answer(deps: SponsorDeps, recorded: Submission, skipWait: boolean): Promise<SubmitAnswer> {
  if (skipWait) {
    return { transactionId: recorded.id, status: "pending", hash: null };
  }
  const submission = await deps.waiter.wait(recorded.id, deps.waitMs);
  if (submission.status === "succeeded") return { transactionId: submission.id, status: "confirmed", hash: submission.txHash };
  const hash = submission.txHash ?? (await Records.latestAttempt(deps.db, submission.id))?.txHash ?? null;
  if (isFinal(submission) && submission.status === "failed") {
    throw new ChannelsApiError("ONCHAIN_FAILED", `the transaction failed: ${submission.reason ?? "failed"}`, {
      status: "failed",
      reason: submission.reason,
      id: submission.id,
      hash,
      resultCode: submission.reason,
    });
  }
  throw new ChannelsApiError("WAIT_TIMEOUT", "the transaction is not final yet; it may still land: poll it with getTransaction", { id: submission.id, hash });
}
