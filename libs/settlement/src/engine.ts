import { Account, FeeBumpTransaction, rpc, Transaction, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import type { Db } from "@quay/db";
import type { Logger } from "@quay/log";
import type { Metrics } from "@quay/metrics";
import type { ChannelLeases, LeasedAccount } from "@quay/pool";
import {
  DEFAULT_RESOURCE_PAD_PERCENT,
  Fees,
  ResultCodes,
  Envelopes,
  Tx,
  type SendAnswer,
  type SignedFeeBump,
  type SignedInner,
  type Signer,
  type StellarNetwork,
  type Verdict,
} from "@quay/stellar";
import { Confirmer, type Confirmation, type Landed } from "./confirm";
import { FeeOracle, MAX_LANDINGS_PER_SUBMISSION } from "./fees";
import { LedgerTruth } from "./ledger-truth";
import { isFinal, Records, type Attempt, type ConcludedAttempt, type FinalOutcome, type Submission } from "./records";
import { ReusableSimulation } from "./reuse";

export interface SettlementNetwork {
  readonly network: StellarNetwork;
  /** Pays every fee bump on this network. */
  readonly fund: Signer;
  readonly maxFeeStroops: bigint;
}

export interface EngineOptions {
  /** Lifetime of each transaction Quay builds: after it, the network refuses it, so "not found" is final. */
  readonly txTimeoutSeconds?: number;
  /** How often the latest ledger is asked for while a transaction waits for one (shared by every wait). */
  readonly pollMs?: number; // default: a tenth of the network's ledger close time, within 100..500 ms
  /** Added to simulation's resource fee, in percent. */
  readonly resourcePadPercent?: number;
  /**
   * Rebuilds for a refused transaction (bad sequence, refused resources) before a submission is given
   * up as failed. Rebuilds after a transaction's time bounds passed unsent or unincluded are not
   * counted: those go on while the payer's authorisation is valid.
   */
  readonly maxRebuilds?: number;
  /** How many ledgers old verify's simulation may be for the first build to reuse it; 0 always simulates. */
  readonly reuseSimulationLedgers?: number;
}

export interface EngineDeps {
  readonly db: Db;
  readonly leases: ChannelLeases;
  readonly networks: ReadonlyMap<string, SettlementNetwork>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly options?: EngineOptions;
}

/** Reasons a submission fails with, in the x402 vocabulary where it has one. */
export const SettleReasons = {
  simulationFailed: "invalid_exact_stellar_payload_simulation_failed",
  feeExceedsMaximum: "invalid_exact_stellar_payload_fee_exceeds_maximum",
  submissionFailed: "settle_exact_stellar_transaction_submission_failed",
  transactionFailed: "settle_exact_stellar_transaction_failed",
  unknownNetwork: "invalid_network",
  /** A caller-signed transaction whose time bounds passed before it landed: it never will. */
  expired: "transaction_expired",
  /** Not a failure: the money may have moved, and the ledger can no longer say through which transaction. */
  unresolved: "settlement_unresolved",
} as const;

/** Ledgers a sent transaction may go unseen before it is offered again (stellar-core drops it after 4). */
const EVICTION_LEDGERS = 5;
/** Fresh simulations after a transaction failed on state that drifted since simulation. */
const MAX_DRIFT_RETRIES = MAX_LANDINGS_PER_SUBMISSION - 1;

/**
 * How long a submission that carries no authorisation with an expiration (Quay's own TTL bumps, a
 * call without address credentials) is built again after refusals, from its acceptance.
 */
const UNBOUNDED_VALIDITY_SECONDS = 600;

/** Ledgers a transaction of a call without an authorisation expiration may land in. */
const SHORT_LIFETIME_LEDGERS = 10;

/** Where a transaction is sent from: a leased channel account, or the caller's own account. */
interface Carrier {
  readonly channelAccount: string;
  readonly lease?: LeasedAccount;
  /** The caller's envelope, sent as it is (`as_is`): its bid is what its signer chose. */
  readonly unmodified?: SignedFeeBump;
}

/** Another run of the same submission has a live attempt (or finished it): this run must not send. */
class AttemptRefused extends Error {
  constructor() {
    super("another attempt of this submission is live");
  }
}

/** A send that must be built again from a fresh sequence number (and a fresh simulation). */
class Rebuild extends Error {
  constructor(
    readonly cause_: string,
    /** What the network last said of the transaction given up, for the submission's reason if it ends here. */
    readonly lastRefusal?: string,
  ) {
    super(cause_);
  }
}


/**
 * Settles one submission: the worker's job. Every step first reads what Postgres knows, so a job
 * run again after a crash at any line continues where the last run stopped:
 *
 * 1. Attempts already built (maybe sent) are confirmed first. One that landed ends the submission;
 *    one is only given up once its time bounds have passed, when the network can no longer
 *    include it. So a second transaction is never sent while the first might still land.
 * 2. Otherwise a channel account is leased, the client's operation is rebuilt with that account
 *    as source (with verify's simulation while it is fresh, else simulated again), signed,
 *    wrapped in a fee bump from the fund account, recorded, and only then sent. TRY_AGAIN_LATER
 *    and insufficient fees re-wrap the same inner tx with a higher bid within the cap; a bad
 *    sequence rebuilds from the ledger's sequence.
 * 3. The lease is released as soon as the transaction is in a ledger (the account is then free,
 *    whatever is left to record), or when the run ends without that.
 *
 * RPC outages throw RpcUnavailableError out of the job, so the queue retries it with backoff.
 */
export class SettlementEngine {
  private readonly oracles = new Map<string, FeeOracle>();
  private readonly txTimeoutSeconds: number;
  private readonly pollMs: number | undefined;
  private readonly padPercent: number;
  private readonly maxRebuilds: number;
  private readonly reuseSimulationLedgers: number;
  private readonly confirmer: Confirmer;
  /** When each network's fund account was last refused for its pending fees (txInsufficientBalance). */
  private readonly fundShortAt = new Map<string, number>();

  constructor(private readonly deps: EngineDeps) {
    const o = deps.options ?? {};
    this.txTimeoutSeconds = o.txTimeoutSeconds ?? 60;
    this.pollMs = o.pollMs;
    this.padPercent = o.resourcePadPercent ?? DEFAULT_RESOURCE_PAD_PERCENT;
    this.maxRebuilds = o.maxRebuilds ?? 5;
    this.reuseSimulationLedgers = o.reuseSimulationLedgers ?? 12;
    this.confirmer = new Confirmer({ db: deps.db, metrics: deps.metrics, logger: deps.logger, pollInterval: (network) => this.pollInterval(network) });
  }

  /**
   * Whether the network's fund account was refused for its pending fees within the last minute: it
   * is over-committed (its balance cannot cover every fee in flight), and submissions wait on it.
   */
  fundOvercommitted(network: string): boolean {
    const at = this.fundShortAt.get(network);
    return at !== undefined && Date.now() - at < 60_000;
  }

  async settle(submissionId: string): Promise<Submission> {
    // Each turn re-reads Postgres: another run of this submission (a job retried while its first run
    // still lives, a recovery job) may have moved it on, and then this run confirms its attempt.
    for (;;) {
      const submission = await Records.submission(this.deps.db, submissionId);
      if (!submission) throw new Error(`submission ${submissionId} does not exist`);
      if (isFinal(submission)) return submission;
      const net = this.deps.networks.get(submission.network);
      if (!net) {
        await this.finish(submission, { status: "failed", reason: SettleReasons.unknownNetwork });
        return (await Records.submission(this.deps.db, submissionId))!;
      }

      // A queued submission has no attempt: the statement recording one also makes it submitting.
      const open = submission.status === "queued" ? [] : await Records.openAttempts(this.deps.db, submissionId);
      for (const attempt of open) {
        const outcome = await this.outcomeOf(net, submission, attempt, { resend: true });
        if (outcome.kind === "unresolved") await this.finish(submission, { status: "unresolved", reason: SettleReasons.unresolved, txHash: attempt.txHash, channelAccount: attempt.channelAccount });
        else if (outcome.kind === "expired" || outcome.kind === "evicted") await Records.markAttempt(this.deps.db, attempt.id, "failed", "expired");
        else await this.conclude(net, submission, attempt, outcome);
      }
      if (open.length > 0) continue;

      if (submission.mode !== "rebuild") {
        const sent = await this.sendEnvelope(net, submission).catch((error: unknown) => {
          if (error instanceof AttemptRefused) return undefined;
          throw error;
        });
        if (sent) return sent;
        continue;
      }

      const leaseStarted = performance.now();
      const lease = await this.deps.leases.acquire(submission.network);
      this.stage(net, "lease_wait", leaseStarted);
      let settled: Submission | undefined;
      try {
        settled = await this.submit(net, submission, lease, { first: submission.status === "queued" });
      } catch (error) {
        if (!(error instanceof AttemptRefused)) throw error;
      } finally {
        // Released already when its transaction reached a ledger; otherwise now.
        if (this.deps.leases.holds(lease)) await this.deps.leases.release(lease);
      }
      if (settled) return settled;
    }
  }

  /**
   * Settles the submission on the leased account; the final submission when this run made it final, else
   * undefined. A transaction that can no longer land is rebuilt (fresh sequence, fresh simulation)
   * while the payer's authorisation is valid: only then is the submission given up. Every build after
   * the submission's first first asks the ledger whether the payer's nonce is spent: a spent nonce
   * means money moved, and is never followed by another transaction (`reconcile`).
   */
  private async submit(net: SettlementNetwork, submission: Submission, lease: LeasedAccount, options: { first: boolean }): Promise<Submission | undefined> {
    const clientTx = new Transaction(submission.clientTransaction, net.network.passphrase);
    let refusedRebuilds = 0;
    for (let first = options.first; ; first = false) {
      if (!first && (await LedgerTruth.nonceSpent(net.network, submission)) === true) return this.reconcile(net, submission);
      const inner = await this.buildInner(net, submission, clientTx, lease, first);
      if (!inner) return undefined; // finished as failed while building
      let rebuild: Rebuild;
      try {
        return await this.sendWithBids(net, submission, inner, { channelAccount: lease.publicKey, lease });
      } catch (error) {
        if (!(error instanceof Rebuild)) throw error;
        rebuild = error;
      }
      this.deps.metrics.submissionRetries.inc({ network: net.network.id, cause: rebuild.cause_ });
      const counted = rebuild.cause_ !== "expired" && rebuild.cause_ !== "evicted" && rebuild.cause_ !== "apply_drift";
      const givenUp =
        counted && ++refusedRebuilds > this.maxRebuilds
          ? "too many rebuilds"
          : (await this.stillValid(net, submission))
            ? undefined
            : "the payer's authorisation has expired";
      if (givenUp) {
        if ((await LedgerTruth.nonceSpent(net.network, submission)) === true) return this.reconcile(net, submission);
        this.deps.logger.warn({ submissionId: submission.id, cause: rebuild.cause_, lastRefusal: rebuild.lastRefusal }, `submission given up: ${givenUp}`);
        const reason = rebuild.lastRefusal === "txInsufficientFee" ? SettleReasons.feeExceedsMaximum : SettleReasons.submissionFailed;
        return this.finish(submission, { status: "failed", reason, channelAccount: lease.publicKey, feeChargedStroops: await this.landedFees(submission) });
      }
    }
  }

  /**
   * The payer's nonce is spent while none of Quay's attempts is known to have spent it: each one is
   * looked up again, and one that landed ends the submission as it ended; otherwise the money moved
   * through a transaction Quay cannot find, and the submission is left to an operator (`unresolved`),
   * never failed and never built again.
   */
  private async reconcile(net: SettlementNetwork, submission: Submission): Promise<Submission | undefined> {
    for (const attempt of (await Records.attemptsOf(this.deps.db, submission.id)).reverse()) {
      const landed = await this.confirmer.confirm(net.network, attempt).then(
        (c) => (c.kind === "success" || c.kind === "failed" ? c : undefined),
        () => undefined,
      );
      if (landed?.kind === "success") {
        const done = await this.conclude(net, submission, attempt, landed);
        if (done !== "retry") return done;
      }
    }
    this.deps.logger.error({ submissionId: submission.id }, "the payer's authorisation is spent by a transaction Quay cannot find: left to reconcile");
    return this.finish(submission, { status: "unresolved", reason: SettleReasons.unresolved });
  }

  /** The fees the ledger charged for the submission's attempts that landed so far; undefined when none did. */
  private async landedFees(submission: Submission): Promise<bigint | undefined> {
    const landed = (await Records.attemptsOf(this.deps.db, submission.id)).filter((a) => a.feeChargedStroops !== null);
    return landed.length === 0 ? undefined : landed.reduce((sum, a) => sum + a.feeChargedStroops!, 0n);
  }

  /**
   * What one recorded attempt came to. When the RPC's history no longer reaches it, the ledger
   * decides: its sequence unspent (and its time bounds passed) means it never landed; spent, the
   * payer's nonce tells success (spent) from failure (unspent, while the ledger can still tell).
   * Inferred outcomes carry the most the attempt could have cost as their fee.
   */
  private async outcomeOf(
    net: SettlementNetwork,
    submission: Submission,
    attempt: Attempt,
    options: Parameters<Confirmer["confirm"]>[2],
  ): Promise<Exclude<Confirmation, { kind: "unknown" }> | { readonly kind: "unresolved" }> {
    const confirmed = await this.confirmer.confirm(net.network, attempt, options);
    if (confirmed.kind !== "unknown") return confirmed;
    const { network } = net;
    // Its sequence unspent and its time bounds passed: it never landed, and never will.
    if (!(await LedgerTruth.sequenceUsed(network, attempt))) return { kind: "expired" };
    const spent = await LedgerTruth.nonceSpent(network, submission);
    this.deps.metrics.settleInferred.inc({ network: network.id, outcome: spent === undefined ? "unresolved" : spent ? "success" : "unspent" });
    if (spent === undefined) return { kind: "unresolved" };
    // Spent: this submission's signed transfer happened (the nonce binds it), through this attempt,
    // whose sequence is spent. Unspent: nothing moved; if this attempt landed it failed, or another
    // submission's attempt built on the same sequence took it. Either way its fee is not known, and
    // the submission may be built again while its authorisation lasts (as after a drift).
    if (!spent && (await Records.sequenceShared(this.deps.db, attempt))) return { kind: "expired" };
    const fee = maxFeeOf(attempt.envelope, network.passphrase);
    return spent
      ? { kind: "success", ledger: 0, feeCharged: fee }
      : { kind: "failed", ledger: 0, feeCharged: fee, code: "inferred_from_ledger", drift: true };
  }

  /**
   * Whether a transaction sent now can still do the submission's work: the next ledger is within
   * its authorisation's expiration; for a caller-signed transaction, its time bounds have not
   * passed; for a call without either, it was accepted less than UNBOUNDED_VALIDITY_SECONDS ago.
   */
  private async stillValid(net: SettlementNetwork, submission: Submission): Promise<boolean> {
    if (submission.signatureExpirationLedger !== null) return (await net.network.latestLedger({ maxAgeMs: 0 })) < submission.signatureExpirationLedger;
    const now = Date.now() / 1000;
    if (submission.mode !== "rebuild") return now <= Envelopes.signed(callerTransaction(submission, net).transaction).maxTime;
    return now < submission.createdAt.getTime() / 1000 + UNBOUNDED_VALIDITY_SECONDS;
  }

  /**
   * A caller-signed transaction, fee-bumped from the fund account (`fee_bump`) or sent as it is
   * (`as_is`). It cannot be built again: a refusal it cannot outwait, or its time bounds passing,
   * ends it as failed.
   */
  private async sendEnvelope(net: SettlementNetwork, submission: Submission): Promise<Submission | undefined> {
    const { envelope, transaction: clientTx } = callerTransaction(submission, net);
    const inner = Envelopes.signed(clientTx);
    const unmodified =
      submission.mode === "as_is" ? { hash: envelope.hash().toString("hex"), envelope: submission.clientTransaction, fee: BigInt(envelope.fee) } : undefined;
    try {
      return await this.sendWithBids(net, submission, inner, { channelAccount: clientTx.source, ...(unmodified ? { unmodified } : {}) });
    } catch (error) {
      if (!(error instanceof Rebuild)) throw error;
      this.deps.logger.warn({ submissionId: submission.id, cause: error.cause_, lastRefusal: error.lastRefusal }, "caller-signed transaction given up");
      const reason =
        error.cause_ === "expired" || error.cause_ === "auth_expired"
          ? SettleReasons.expired
          : error.lastRefusal === "txInsufficientFee"
            ? SettleReasons.feeExceedsMaximum
            : SettleReasons.submissionFailed;
      return this.finish(submission, { status: "failed", reason, channelAccount: clientTx.source, feeChargedStroops: await this.landedFees(submission) });
    }
  }

  /**
   * The inner transaction on the leased account, with resources, signed; undefined when the
   * submission failed. A first build takes the account's sequence from its last transaction and
   * the resources from verify's simulation when they are known and fresh; a rebuild (after a bad
   * sequence or expiry) reads the ledger and simulates again.
   */
  private async buildInner(
    net: SettlementNetwork,
    submission: Submission,
    clientTx: Transaction,
    lease: LeasedAccount,
    first: boolean,
  ): Promise<SignedInner | undefined> {
    const { network } = net;
    const knownSequence = first && lease.nextSequence !== null;
    const sequence = knownSequence ? (lease.nextSequence! - 1n).toString() : (await network.account(lease.publicKey)).sequenceNumber();
    const maxTime = Math.floor(Date.now() / 1000) + (await this.txLifetime(network, submission));
    const reused = first ? ReusableSimulation.fresh(submission, await network.latestLedger(), this.reuseSimulationLedgers) : undefined;
    this.deps.metrics.settleBuilds.inc({
      network: network.id,
      sequence: knownSequence ? "known" : "read",
      resources: reused ? "reused" : "simulated",
    });
    const resources = reused ?? (await this.simulate(net, submission, clientTx, lease, sequence, maxTime));
    if (!resources) return undefined;
    const inner = Tx.rebuild({
      clientTx,
      source: new Account(lease.publicKey, sequence),
      passphrase: network.passphrase,
      maxTime,
      sorobanData: Tx.padResources(resources.transactionData, resources.minResourceFee, this.padPercent),
    });
    return Envelopes.signInner(inner, lease.signer, network.passphrase);
  }

  /**
   * How long a transaction built now may land. A call without an authorisation to keep (Quay's
   * own TTL bumps) is due soon and costs little to build again, so its transactions live a few
   * ledgers: one lost with a killed worker is known not to have landed, and replaced, quickly.
   */
  private async txLifetime(network: StellarNetwork, submission: Submission): Promise<number> {
    if (submission.signatureExpirationLedger !== null) return this.txTimeoutSeconds;
    return Math.min(this.txTimeoutSeconds, Math.max(1, Math.ceil(SHORT_LIFETIME_LEDGERS * (await network.ledgerCloseSeconds()))));
  }

  /** Simulates the rebuilt transaction; undefined (and the submission failed) when it does not simulate. */
  private async simulate(
    net: SettlementNetwork,
    submission: Submission,
    clientTx: Transaction,
    lease: LeasedAccount,
    sequence: string,
    maxTime: number,
  ): Promise<{ transactionData: xdr.SorobanTransactionData; minResourceFee: bigint } | undefined> {
    const { network } = net;
    const draft = Tx.rebuild({ clientTx, source: new Account(lease.publicKey, sequence), passphrase: network.passphrase, maxTime });
    const simStarted = performance.now();
    const sim = await network.simulate(draft);
    this.stage(net, "simulate", simStarted);
    if (!rpc.Api.isSimulationSuccess(sim)) {
      const detail = rpc.Api.isSimulationError(sim) ? sim.error : "simulation needs a restore";
      this.deps.logger.warn({ submissionId: submission.id, detail }, "rebuilt transaction failed simulation");
      // A spent nonce fails simulation too: then the money moved, and the submission is no failure.
      if ((await LedgerTruth.nonceSpent(network, submission)) === true) await this.reconcile(net, submission);
      else await this.finish(submission, { status: "failed", reason: SettleReasons.simulationFailed, channelAccount: lease.publicKey, feeChargedStroops: await this.landedFees(submission) });
      return undefined;
    }
    return { transactionData: sim.transactionData.build(), minResourceFee: BigInt(sim.minResourceFee) };
  }

  /**
   * Sends the inner tx in fee bumps until one is accepted and confirmed. Every refusal is judged by
   * `ResultCodes.verdict`: a higher bid, the same envelope again a ledger later (its attempt stays
   * recorded meanwhile), or a Rebuild when the inner tx itself can no longer land (bad sequence,
   * refused resources, its time bounds passed). Only a refusal that can never succeed ends the submission.
   */
  private async sendWithBids(net: SettlementNetwork, submission: Submission, inner: SignedInner, carrier: Carrier): Promise<Submission | undefined> {
    const { network } = net;
    // Sent as it is, the caller's transaction bids what its signer chose: "rebid" can only wait.
    const { unmodified } = carrier;
    const ceiling = unmodified ? unmodified.fee : Fees.bidCeiling(net.maxFeeStroops, inner.resourceFee, inner.operationCount);
    if (ceiling === undefined) {
      return this.finish(submission, { status: "failed", reason: SettleReasons.feeExceedsMaximum, channelAccount: carrier.channelAccount });
    }
    const maxTime = inner.maxTime;
    let bid = unmodified ? unmodified.fee : min(Fees.bidPerOperation(await this.oracle(network).bid(), inner.operationCount), ceiling);
    // The attempt on offer: refused sends of the same envelope keep it; a new bid supersedes it.
    let attempt: Attempt | undefined;
    let refusal: string | undefined;
    let lastCode: string | undefined;
    const giveUpAttempt = async () => {
      if (attempt) await Records.markAttempt(this.deps.db, attempt.id, "rejected", refusal);
    };

    for (;;) {
      if (Date.now() / 1000 > maxTime) {
        await giveUpAttempt();
        throw new Rebuild("expired", lastCode);
      }
      const bump = unmodified ?? Envelopes.feeBump(inner, net.fund, bid, network.passphrase);
      if (attempt?.txHash !== bump.hash) {
        await giveUpAttempt();
        attempt = await this.record(submission, carrier, inner, bump, bid, maxTime);
        if (!attempt) throw new AttemptRefused();
      }

      const sendStarted = performance.now();
      const sent = await network.send(attempt.envelope);
      this.stage(net, "submit", sendStarted);

      if (sent.status === "PENDING" || sent.status === "DUPLICATE") {
        await Records.markSent(this.deps.db, attempt.id);
        const confirmStarted = performance.now();
        const outcome = await this.outcomeOf(net, submission, attempt, { sentAtLedger: sent.latestLedger, evictAfterLedgers: EVICTION_LEDGERS });
        this.stage(net, "confirm", confirmStarted);
        switch (outcome.kind) {
          case "expired":
            await Records.markAttempt(this.deps.db, attempt.id, "failed", "expired");
            throw new Rebuild("expired", lastCode);
          case "evicted":
            // Dropped by the network and banned: the same inner transaction in a fee bump bidding more
            // is another hash, and can land at most once with it (one sequence number).
            await Records.markAttempt(this.deps.db, attempt.id, "rejected", "evicted");
            if (bid >= ceiling) throw new Rebuild("evicted", lastCode);
            bid = min(bid * 2n, ceiling);
            continue;
          case "unresolved":
            return this.finish(submission, { status: "unresolved", reason: SettleReasons.unresolved, txHash: attempt.txHash, channelAccount: attempt.channelAccount });
        }
        if (outcome.kind === "failed" && outcome.drift) {
          // Decided before the account is let go: a retry builds on it (its sequence is spent).
          const concluded = await this.conclude(net, submission, attempt, outcome);
          if (concluded === "retry") throw new Rebuild("apply_drift", outcome.code);
          if (carrier.lease) await this.deps.leases.release(carrier.lease, { nextSequence: BigInt(inner.sequence) + 1n });
          return concluded;
        }
        // In a ledger, success or not, the inner transaction used its sequence number, and the
        // account is free for the next submission now: recording the outcome need not hold it (a
        // crash before that is recovered from the attempt row, like any other).
        if (carrier.lease) await this.deps.leases.release(carrier.lease, { nextSequence: BigInt(inner.sequence) + 1n });
        const concluded = await this.conclude(net, submission, attempt, outcome);
        return concluded === "retry" ? undefined : concluded;
      }

      const code = refusedCode(sent);
      refusal = sent.status === "ERROR" ? `ERROR:${code}` : code;
      lastCode = code;
      const verdict: Verdict =
        sent.status === "TRY_AGAIN_LATER"
          ? bid < ceiling
            ? "rebid"
            : "wait"
          : sent.refusal
            ? ResultCodes.verdict(sent.refusal)
            : "final";
      if (verdict === "rebid" || verdict === "wait") this.deps.metrics.submissionRetries.inc({ network: network.id, cause: retryCause(code, verdict) });
      if (code === "txInsufficientBalance") this.fundShortAt.set(network.id, Date.now());
      if (verdict === "rebid" && bid < ceiling) {
        // Replacing a pending transaction takes a 10x bid; an insufficient fee, twice the last.
        bid = min(sent.status === "TRY_AGAIN_LATER" ? bid * 10n : bid * 2n, ceiling);
        continue;
      }
      switch (verdict) {
        case "rebid": // at the cap: the network's price may fall back within it, as a surge passes
        case "wait":
          if (await this.waitALedger(net, submission, sent)) continue;
          await giveUpAttempt();
          throw new Rebuild("auth_expired", code);
        case "rebuild":
        case "resimulate":
          await giveUpAttempt();
          throw new Rebuild(rebuildCause(code, verdict), code);
        case "final":
          await giveUpAttempt();
          this.deps.logger.warn({ submissionId: submission.id, status: sent.status, code }, "transaction refused for good");
          return this.finish(submission, { status: "failed", reason: SettleReasons.submissionFailed, channelAccount: carrier.channelAccount });
      }
    }
  }

  /**
   * Before the same envelope is offered again: a ledger later, and only while the payer's
   * authorisation can still be consumed (a transaction included after it expires fails, and costs
   * its fee). False when it can no longer be.
   */
  private async waitALedger(net: SettlementNetwork, submission: Submission, sent: SendAnswer): Promise<boolean> {
    await net.network.ledgerAfter(sent.latestLedger, await this.pollInterval(net.network));
    return this.stillValid(net, submission);
  }

  private async record(
    submission: Submission,
    carrier: Carrier,
    inner: SignedInner,
    bump: SignedFeeBump,
    bid: bigint,
    maxTime: number,
  ): Promise<Attempt | undefined> {
    return Records.recordBuilt(this.deps.db, {
      submissionId: submission.id,
      channelAccount: carrier.channelAccount,
      sequence: inner.sequence,
      txHash: bump.hash,
      innerTxHash: inner.hash,
      feeBidStroops: bid,
      maxTime,
      envelope: bump.envelope,
    });
  }

  /**
   * How often to ask for an outcome. A channel account is free for its next submission only once its
   * transaction is seen in a ledger, so on fast networks slow polling leaves ledgers unused.
   */
  private async pollInterval(network: StellarNetwork): Promise<number> {
    if (this.pollMs !== undefined) return this.pollMs;
    return Math.min(500, Math.max(100, Math.round((await network.ledgerCloseSeconds()) * 100)));
  }

  /**
   * Ends the submission with an attempt that landed, unless it failed on state that drifted since
   * simulation and may be tried once more (its authorisation valid, its nonce unspent): then only
   * the attempt ends, with its fee, and the submission is built again ("retry"). A submission's fee is
   * the sum of what the ledger charged for each of its attempts that landed.
   */
  private async conclude(net: SettlementNetwork, submission: Submission, attempt: Attempt, landed: Landed): Promise<Submission | undefined | "retry"> {
    const earlier = (await Records.attemptsOf(this.deps.db, submission.id)).filter((a) => a.id !== attempt.id);
    if (landed.kind === "failed" && landed.drift) {
      const retried = earlier.filter((a) => a.status === "failed" && a.feeChargedStroops !== null).length;
      if (retried < MAX_DRIFT_RETRIES && (await this.stillValid(net, submission)) && (await LedgerTruth.nonceSpent(net.network, submission)) === false) {
        await Records.markAttempt(this.deps.db, attempt.id, "failed", landed.code, undefined, landed.feeCharged);
        this.deps.metrics.submissionRetries.inc({ network: net.network.id, cause: "apply_drift" });
        return "retry";
      }
    }
    const succeeded = landed.kind === "success";
    const fee = earlier.reduce((sum, a) => sum + (a.feeChargedStroops ?? 0n), landed.feeCharged);
    return this.finish(
      submission,
      {
        status: succeeded ? "succeeded" : "failed",
        ...(succeeded ? {} : { reason: SettleReasons.transactionFailed }),
        txHash: attempt.txHash,
        ...(landed.ledger > 0 ? { ledger: landed.ledger } : {}),
        feeChargedStroops: fee,
        channelAccount: attempt.channelAccount,
      },
      { id: attempt.id, status: succeeded ? "succeeded" : "failed", feeChargedStroops: landed.feeCharged, ...(landed.kind === "failed" ? { reason: landed.code } : {}) },
    );
  }

  /**
   * Makes the submission final; the final submission when this call did, undefined when another
   * run had. A transaction sent as it is (`as_is`) was paid for by its signer: its fee is recorded
   * on its attempt, never charged to the key or counted as Quay's.
   */
  private async finish(submission: Submission, outcome: FinalOutcome, concluded?: ConcludedAttempt): Promise<Submission | undefined> {
    const charged = submission.mode === "as_is" ? { ...outcome, feeChargedStroops: undefined } : outcome;
    const final = await Records.finalize(this.deps.db, submission, charged, concluded);
    if (!final) return final;
    const labels = { network: submission.network, kind: submission.kind };
    this.deps.metrics.submissionOutcomes.inc({ ...labels, outcome: outcome.status });
    if (outcome.status === "unresolved") this.deps.metrics.settleUnresolved.inc(labels);
    if (charged.feeChargedStroops) {
      this.deps.metrics.feesSpent.inc({ ...labels, tenant: submission.apiKeyId ? "keyed" : "anonymous" }, Number(charged.feeChargedStroops));
    }
    return final;
  }

  private oracle(network: StellarNetwork): FeeOracle {
    let oracle = this.oracles.get(network.id);
    if (!oracle) {
      oracle = new FeeOracle(network);
      this.oracles.set(network.id, oracle);
    }
    return oracle;
  }

  private stage(net: SettlementNetwork, stage: string, startedAt: number): void {
    this.deps.metrics.settleStage.observe({ network: net.network.id, stage }, (performance.now() - startedAt) / 1000);
  }
}

/** The caller's envelope as the submission holds it, and its transaction (a fee bump's inner one). */
function callerTransaction(submission: Submission, net: SettlementNetwork): { envelope: Transaction | FeeBumpTransaction; transaction: Transaction } {
  const envelope = TransactionBuilder.fromXDR(submission.clientTransaction, net.network.passphrase);
  return { envelope, transaction: envelope instanceof FeeBumpTransaction ? envelope.innerTransaction : envelope };
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** The most an attempt's fee bump can have cost: its fee field (what the ledger charges is at most that). */
function maxFeeOf(envelope: string, passphrase: string): bigint {
  return BigInt(TransactionBuilder.fromXDR(envelope, passphrase).fee);
}

/** What the network answered a send with, as an attempt's reason: the status, and the deciding code of an ERROR. */
function refusedCode(sent: SendAnswer): string {
  return sent.status === "ERROR" && sent.refusal ? ResultCodes.deciding(sent.refusal) : sent.status;
}

/** The `cause` label of a resubmission after a refusal: a bounded set. */
function retryCause(code: string, verdict: Verdict): string {
  if (code === "TRY_AGAIN_LATER") return "try_again_later";
  if (code === "txInsufficientFee") return "insufficient_fee";
  if (code === "txInternalError") return "internal_error";
  if (code === "txInsufficientBalance") return "fund_insufficient_balance";
  return verdict === "wait" ? "wait" : "rebuild";
}

/** The `cause` label (and Rebuild cause) of a refusal that needs a new inner transaction. */
function rebuildCause(code: string, verdict: Verdict): string {
  if (verdict === "resimulate") return "resources_refused";
  if (code === "txTooLate") return "expired";
  if (code === "txNoAccount") return "no_account";
  return "bad_sequence";
}
