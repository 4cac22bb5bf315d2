import { Account, rpc, Transaction, xdr } from "@stellar/stellar-sdk";
import type { Db } from "@quay/db";
import type { Logger } from "@quay/log";
import type { Metrics } from "@quay/metrics";
import type { ChannelLeases, LeasedAccount } from "@quay/pool";
import { RpcUnavailableError, Submission, Tx, type SendAnswer, type SignedFeeBump, type SignedInner, type Signer, type StellarNetwork } from "@quay/stellar";
import { bidCeiling, FeeOracle } from "./fees";
import { isFinal, Records, type Attempt, type ConcludedAttempt, type FinalOutcome, type Payment } from "./records";
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
  /** Rebuilds (bad sequence, expiry) before a payment is given up as failed. */
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

/** Reasons a payment fails with, in the x402 vocabulary where it has one. */
export const SettleReasons = {
  simulationFailed: "invalid_exact_stellar_payload_simulation_failed",
  feeExceedsMaximum: "invalid_exact_stellar_payload_fee_exceeds_maximum",
  submissionFailed: "settle_exact_stellar_transaction_submission_failed",
  transactionFailed: "settle_exact_stellar_transaction_failed",
  unknownNetwork: "invalid_network",
} as const;

type Confirmation =
  | { readonly kind: "success"; readonly ledger: number; readonly feeCharged: bigint }
  | { readonly kind: "failed"; readonly ledger: number; readonly feeCharged: bigint; readonly code: string }
  | { readonly kind: "expired" };

/** Another run of the same payment has a live attempt (or finished it): this run must not send. */
class AttemptRefused extends Error {
  constructor() {
    super("another attempt of this payment is live");
  }
}

/** A send that must be built again from a fresh sequence number. */
class Rebuild extends Error {
  constructor(readonly cause_: string) {
    super(cause_);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Settles one payment: the worker's job. Every step first reads what Postgres knows, so a job
 * run again after a crash at any line continues where the last run stopped:
 *
 * 1. Attempts already built (maybe sent) are confirmed first. One that landed ends the payment;
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

  constructor(private readonly deps: EngineDeps) {
    const o = deps.options ?? {};
    this.txTimeoutSeconds = o.txTimeoutSeconds ?? 60;
    this.pollMs = o.pollMs;
    this.padPercent = o.resourcePadPercent ?? 15;
    this.maxRebuilds = o.maxRebuilds ?? 5;
    this.reuseSimulationLedgers = o.reuseSimulationLedgers ?? 12;
  }

  async settle(paymentId: string): Promise<Payment> {
    // Each turn re-reads Postgres: another run of this payment (a job retried while its first run
    // still lives, a recovery job) may have moved it on, and then this run confirms its attempt.
    for (;;) {
      const payment = await Records.payment(this.deps.db, paymentId);
      if (!payment) throw new Error(`payment ${paymentId} does not exist`);
      if (isFinal(payment)) return payment;
      const net = this.deps.networks.get(payment.network);
      if (!net) {
        await this.finish(payment, { status: "failed", reason: SettleReasons.unknownNetwork });
        return (await Records.payment(this.deps.db, paymentId))!;
      }

      // A queued payment has no attempt: the statement recording one also makes it submitting.
      const open = payment.status === "queued" ? [] : await Records.openAttempts(this.deps.db, paymentId);
      for (const attempt of open) {
        const outcome = await this.confirm(net, attempt, { resend: true });
        if (outcome.kind !== "expired") await this.conclude(payment, attempt, outcome);
        else await Records.markAttempt(this.deps.db, attempt.id, "failed", "expired");
      }
      if (open.length > 0) continue;

      const leaseStarted = performance.now();
      const lease = await this.deps.leases.acquire(payment.network);
      this.stage(net, "lease_wait", leaseStarted);
      let settled: Payment | undefined;
      try {
        settled = await this.submit(net, payment, lease);
      } catch (error) {
        if (!(error instanceof AttemptRefused)) throw error;
      } finally {
        // Released already when its transaction reached a ledger; otherwise now.
        if (this.deps.leases.holds(lease)) await this.deps.leases.release(lease);
      }
      if (settled) return settled;
    }
  }

  /** Settles the payment on the leased account; the final payment when this run made it final, else undefined. */
  private async submit(net: SettlementNetwork, payment: Payment, lease: LeasedAccount): Promise<Payment | undefined> {
    const clientTx = new Transaction(payment.clientTransaction, net.network.passphrase);
    for (let rebuild = 0; rebuild <= this.maxRebuilds; rebuild++) {
      const inner = await this.buildInner(net, payment, clientTx, lease, rebuild === 0);
      if (!inner) return undefined; // finished as failed while building
      try {
        return await this.sendWithBids(net, payment, lease, inner);
      } catch (error) {
        if (!(error instanceof Rebuild)) throw error;
        this.deps.metrics.submissionRetries.inc({ network: net.network.id, cause: error.cause_ });
      }
    }
    return this.finish(payment, { status: "failed", reason: SettleReasons.submissionFailed, channelAccount: lease.publicKey });
  }

  /**
   * The inner transaction on the leased account, with resources, signed; undefined when the
   * payment failed. A first build takes the account's sequence from its last transaction and
   * the resources from verify's simulation when they are known and fresh; a rebuild (after a bad
   * sequence or expiry) reads the ledger and simulates again.
   */
  private async buildInner(
    net: SettlementNetwork,
    payment: Payment,
    clientTx: Transaction,
    lease: LeasedAccount,
    first: boolean,
  ): Promise<SignedInner | undefined> {
    const { network } = net;
    const knownSequence = first && lease.nextSequence !== null;
    const sequence = knownSequence ? (lease.nextSequence! - 1n).toString() : (await network.account(lease.publicKey)).sequenceNumber();
    const maxTime = Math.floor(Date.now() / 1000) + this.txTimeoutSeconds;
    const reused = first ? ReusableSimulation.fresh(payment, await network.latestLedger(), this.reuseSimulationLedgers) : undefined;
    this.deps.metrics.settleBuilds.inc({
      network: network.id,
      sequence: knownSequence ? "known" : "read",
      resources: reused ? "reused" : "simulated",
    });
    const resources = reused ?? (await this.simulate(net, payment, clientTx, lease, sequence, maxTime));
    if (!resources) return undefined;
    const inner = Tx.rebuild({
      clientTx,
      source: new Account(lease.publicKey, sequence),
      passphrase: network.passphrase,
      maxTime,
      sorobanData: Tx.padResources(resources.transactionData, resources.minResourceFee, this.padPercent),
    });
    return Submission.signInner(inner, lease.signer, network.passphrase);
  }

  /** Simulates the rebuilt transaction; undefined (and the payment failed) when it does not simulate. */
  private async simulate(
    net: SettlementNetwork,
    payment: Payment,
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
      await this.finish(payment, { status: "failed", reason: SettleReasons.simulationFailed, channelAccount: lease.publicKey });
      this.deps.logger.warn({ paymentId: payment.id, detail }, "rebuilt transaction failed simulation");
      return undefined;
    }
    return { transactionData: sim.transactionData.build(), minResourceFee: BigInt(sim.minResourceFee) };
  }

  /**
   * Sends the inner tx in fee bumps until one is accepted and confirmed. Throws Rebuild when the
   * inner tx itself can no longer land (bad sequence, expired).
   */
  private async sendWithBids(net: SettlementNetwork, payment: Payment, lease: LeasedAccount, inner: SignedInner): Promise<Payment | undefined> {
    const { network } = net;
    const ceiling = bidCeiling(net.maxFeeStroops, inner.resourceFee, inner.operationCount);
    if (ceiling === undefined) {
      return this.finish(payment, { status: "failed", reason: SettleReasons.feeExceedsMaximum, channelAccount: lease.publicKey });
    }
    const maxTime = inner.maxTime;
    let bid = min(await this.oracle(network).bid(), ceiling);

    for (;;) {
      if (Date.now() / 1000 > maxTime) throw new Rebuild("expired");
      const bump = Submission.feeBump(inner, net.fund, bid, network.passphrase);
      const attempt = await this.record(payment, lease, inner, bump, bid, maxTime);
      if (!attempt) throw new AttemptRefused();

      const sendStarted = performance.now();
      const sent = await network.send(attempt.envelope);
      this.stage(net, "submit", sendStarted);

      if (sent.status === "PENDING" || sent.status === "DUPLICATE") {
        await Records.markSent(this.deps.db, attempt.id);
        const confirmStarted = performance.now();
        const outcome = await this.confirm(net, attempt, { sentAtLedger: sent.latestLedger });
        this.stage(net, "confirm", confirmStarted);
        if (outcome.kind === "expired") {
          await Records.markAttempt(this.deps.db, attempt.id, "failed", "expired");
          throw new Rebuild("expired");
        }
        // In a ledger, success or not, the inner transaction used its sequence number, and the
        // account is free for the next payment now: recording the outcome need not hold it (a
        // crash before that is recovered from the attempt row, like any other).
        await this.deps.leases.release(lease, { nextSequence: BigInt(inner.sequence) + 1n });
        return this.conclude(payment, attempt, outcome);
      }

      const code = errorCode(sent);
      await Records.markAttempt(this.deps.db, attempt.id, "rejected", `${sent.status}${code ? `:${code}` : ""}`);
      if (sent.status === "TRY_AGAIN_LATER") {
        this.deps.metrics.submissionRetries.inc({ network: network.id, cause: "try_again_later" });
        // Replacing a pending transaction takes a 10x bid; below the cap, bid that, else wait a ledger.
        if (bid < ceiling) bid = min(bid * 10n, ceiling);
        else await sleep((await this.pollInterval(network)) * 2);
        continue;
      }
      if (code === "txInsufficientFee") {
        this.deps.metrics.submissionRetries.inc({ network: network.id, cause: "insufficient_fee" });
        if (bid >= ceiling) {
          return this.finish(payment, { status: "failed", reason: SettleReasons.feeExceedsMaximum, channelAccount: lease.publicKey });
        }
        bid = min(bid * 2n, ceiling);
        continue;
      }
      if (code === "txBadSeq") throw new Rebuild("bad_sequence");
      if (code === "txTooLate") throw new Rebuild("expired");
      this.deps.logger.warn({ paymentId: payment.id, status: sent.status, code }, "transaction refused");
      return this.finish(payment, { status: "failed", reason: SettleReasons.submissionFailed, channelAccount: lease.publicKey });
    }
  }

  private async record(
    payment: Payment,
    lease: LeasedAccount,
    inner: SignedInner,
    bump: SignedFeeBump,
    bid: bigint,
    maxTime: number,
  ): Promise<Attempt | undefined> {
    return Records.recordBuilt(this.deps.db, {
      paymentId: payment.id,
      channelAccount: lease.publicKey,
      sequence: inner.sequence,
      txHash: bump.hash,
      innerTxHash: inner.hash,
      feeBidStroops: bid,
      maxTime,
      envelope: bump.envelope,
    });
  }

  /**
   * Polls an attempt until it is in a ledger, or until the RPC has seen a ledger close after its
   * time bounds without it: only then is it known never to land (the RPC's ledger clock, not this
   * machine's, decides, so a lagging RPC or a paused network never makes a live transaction look
   * dead). With `resend`, an attempt found in flight (a crashed run's) is sent again once: the same
   * envelope, so it can land at most once, and one recorded but never sent lands without waiting.
   */
  private async confirm(net: SettlementNetwork, attempt: Attempt, options: { resend?: boolean; sentAtLedger?: number } = {}): Promise<Confirmation> {
    const { network } = net;
    let resend = options.resend === true && attempt.status !== "succeeded";
    // Just sent: it cannot be in a ledger the RPC already had when it answered the send.
    if (options.sentAtLedger !== undefined) await network.ledgerAfter(options.sentAtLedger, await this.pollInterval(network));
    for (;;) {
      // Raw: the parsed answer decodes the envelope and metadata too, and only the result is needed.
      const got = await network.transaction(attempt.txHash);
      if (got.status !== rpc.Api.GetTransactionStatus.NOT_FOUND) {
        const outcome = concluded(got);
        if (outcome) return outcome;
      }
      if (Number(got.latestLedgerCloseTime) > attempt.maxTime) return { kind: "expired" };
      if (resend) {
        resend = false;
        await this.resend(net, attempt);
      }
      // Not in a ledger the RPC has: ask again only once a newer one closed.
      await network.ledgerAfter(got.latestLedger, await this.pollInterval(network));
    }
  }

  /**
   * How often to ask for an outcome. A channel account is free for its next payment only once its
   * transaction is seen in a ledger, so on fast networks slow polling leaves ledgers unused.
   */
  private async pollInterval(network: StellarNetwork): Promise<number> {
    if (this.pollMs !== undefined) return this.pollMs;
    return Math.min(500, Math.max(100, Math.round((await network.ledgerCloseSeconds()) * 100)));
  }

  private async resend(net: SettlementNetwork, attempt: Attempt): Promise<void> {
    const { network } = net;
    try {
      const sent = await network.send(attempt.envelope);
      if (sent.status === "PENDING" || sent.status === "DUPLICATE") await Records.markSent(this.deps.db, attempt.id);
      this.deps.metrics.submissionRetries.inc({ network: network.id, cause: "resumed" });
    } catch (error) {
      if (error instanceof RpcUnavailableError) throw error;
      // Best effort: whatever the answer, polling to the time bounds decides the attempt's fate.
      this.deps.logger.warn({ attemptId: attempt.id, err: error }, "resending a resumed attempt failed");
    }
  }

  private async conclude(payment: Payment, attempt: Attempt, outcome: Exclude<Confirmation, { kind: "expired" }>): Promise<Payment | undefined> {
    const succeeded = outcome.kind === "success";
    return this.finish(
      payment,
      {
        status: succeeded ? "succeeded" : "failed",
        ...(succeeded ? {} : { reason: SettleReasons.transactionFailed }),
        txHash: attempt.txHash,
        ledger: outcome.ledger,
        feeChargedStroops: outcome.feeCharged,
        channelAccount: attempt.channelAccount,
      },
      { id: attempt.id, status: succeeded ? "succeeded" : "failed", ...(outcome.kind === "failed" ? { reason: outcome.code } : {}) },
    );
  }

  /** Makes the payment final; the final payment when this call did, undefined when another run had. */
  private async finish(payment: Payment, outcome: FinalOutcome, concluded?: ConcludedAttempt): Promise<Payment | undefined> {
    const final = await Records.finalize(this.deps.db, payment, outcome, concluded);
    if (final && outcome.feeChargedStroops) {
      this.deps.metrics.feesSpent.inc({ network: payment.network, tenant: payment.apiKeyId ? "keyed" : "anonymous" }, Number(outcome.feeChargedStroops));
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

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** A transaction's outcome from its raw getTransaction answer; undefined while it is not in a ledger. */
function concluded(got: rpc.Api.RawGetTransactionResponse): Exclude<Confirmation, { kind: "expired" }> | undefined {
  if (got.ledger === undefined || got.resultXdr === undefined) return undefined;
  const resultXdr = xdr.TransactionResult.fromXDR(got.resultXdr, "base64");
  const feeCharged = BigInt(resultXdr.feeCharged().toString());
  if (got.status === rpc.Api.GetTransactionStatus.SUCCESS) return { kind: "success", ledger: got.ledger, feeCharged };
  const result = resultXdr.result();
  const inner = result.switch().name === "txFeeBumpInnerFailed" ? result.innerResultPair().result().result().switch().name : undefined;
  return { kind: "failed", ledger: got.ledger, feeCharged, code: inner ?? result.switch().name };
}

function errorCode(sent: SendAnswer): string | undefined {
  const result = sent.errorResult?.result();
  if (!result) return undefined;
  const outer = result.switch().name;
  if (outer === "txFeeBumpInnerFailed") return result.innerResultPair().result().result().switch().name;
  return outer;
}

