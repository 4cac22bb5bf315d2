import { Account, Asset, Keypair, Operation, StrKey, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { Accounts } from "./accounts";
import { applyTransaction } from "./apply";
import type { AppliedTx, ApplyContext } from "./apply";
import { USDC_ISSUER } from "./config";
import type { DevnetConfig, NetworkRules } from "./config";
import { Envelopes } from "./envelope";
import type { ParsedTx } from "./envelope";
import { FaultSwitch } from "./faults";
import type { Faults } from "./faults";
import { Headers, History } from "./history";
import type { LedgerRecord, TxRecord } from "./history";
import { Fees, TxQueue, laneOf } from "./queue";
import { Results } from "./results";
import { sha256 } from "./sha256";
import type { ExecuteSorobanOp, LedgerInfo } from "./soroban/host";
import { LedgerState } from "./state";
import { Validation } from "./validation";
import type { ValidationContext } from "./validation";
import { ChainViews } from "./view";
import type { ChainView, UndoRecord } from "./view";

/** What the pipeline needs from the Soroban host (apps/devnet/src/soroban). */
export interface SorobanHost {
  readonly executeSorobanOp: ExecuteSorobanOp;
  readonly installGenesisContracts: (state: LedgerState, ledger: LedgerInfo, opts: { usdcIssuer: string }) => unknown;
}

export type SendStatus = "PENDING" | "DUPLICATE" | "TRY_AGAIN_LATER" | "ERROR";

export interface SendOutcome {
  readonly status: SendStatus;
  readonly hash: string;
  readonly errorResult?: xdr.TransactionResult;
}

export class FriendbotError extends Error {
  override readonly name = "FriendbotError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface FriendbotOutcome {
  readonly record: TxRecord | undefined;
  readonly ledger: number;
}

const GENESIS_LEDGER = 1;
/** stellar-core's EXPECTED_CLOSE_TIME_MULT: admission wants maxTime 2 expected closes past the last one. */
const EXPECTED_CLOSE_TIME_MULT = 2n;
const NO_FROZEN_KEYS: ReadonlySet<string> = new Set();
/** XLM the USDC issuer's account starts with (it only needs its reserve). */
const ISSUER_BALANCE = 10_000n * 10_000_000n;

/**
 * The devnet's ledger: state, pending queue, ledger closing and history. The RPC server and the
 * friendbot are thin layers over this; everything here is synchronous, so a ledger close is atomic
 * with respect to requests.
 */
export class DevnetNode {
  readonly state = new LedgerState();
  readonly history: History;
  readonly queue = new TxQueue();
  readonly networkId: Buffer;
  readonly root: Keypair;
  faults: Faults = FaultSwitch.none();
  private readonly swallowed = new Set<string>();
  /** What each of the last ledgers overwrote, for ports that answer as of an earlier ledger. */
  private readonly undo: UndoRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private feePool = 0n;

  constructor(
    readonly config: DevnetConfig,
    private readonly soroban: SorobanHost | undefined,
  ) {
    this.history = new History(config.retentionLedgers);
    this.networkId = sha256(Buffer.from(config.networkPassphrase));
    this.root = Keypair.master(config.networkPassphrase);
    this.genesis();
  }

  get sorobanEnabled(): boolean {
    return this.soroban !== undefined;
  }

  latest(): LedgerRecord {
    return this.history.latest();
  }

  /** The chain as an RPC port sees it: in sync, or `lag` ledgers behind (at most ChainViews.MAX_LAG). */
  view(lag = 0): ChainView {
    if (lag <= 0) return ChainViews.current(this.history, this.state);
    return ChainViews.lagging(this.history, this.state, this.undo, Math.min(lag, ChainViews.MAX_LAG));
  }

  /** The rules in force: the devnet's settings under the fault switch's overrides. */
  get rules(): NetworkRules {
    const overrides = this.faults.rules;
    return overrides ? { ...this.config.rules, ...overrides } : this.config.rules;
  }

  minInclusionFee(): bigint {
    return this.faults.minInclusionFee ?? this.config.minInclusionFee;
  }

  ledgerInfo(sequence: number, closeTime: bigint): LedgerInfo {
    return {
      sequence,
      closeTime,
      networkPassphrase: this.config.networkPassphrase,
      networkId: this.networkId,
      protocolVersion: this.config.protocolVersion,
      minPersistentTtl: this.config.minPersistentTtl,
      minTemporaryTtl: this.config.minTemporaryTtl,
      maxEntryTtl: this.config.maxEntryTtl,
    };
  }

  /** Facts of the ledger that would close next (simulation and admission judge against it). */
  nextLedger(): { sequence: number; closeTime: bigint } {
    return ChainViews.nextAfter(this.latest());
  }

  /**
   * Closes a ledger every `ledgerCloseMs`, on a fixed cadence: like stellar-core, which triggers
   * the next ledger one timespan after the last trigger, the time a close takes (or a busy event
   * loop) does not stretch the interval. A devnet that fell more than a whole interval behind
   * starts a new cadence rather than closing a burst of ledgers to catch up.
   */
  start(): void {
    const interval = this.config.ledgerCloseMs;
    let due = performance.now() + interval;
    const schedule = (): void => {
      this.timer = setTimeout(() => {
        if (!this.faults.paused) {
          try {
            this.closeLedger();
          } catch (err) {
            this.config.logger.error({ err: (err as Error).message }, "ledger close failed");
          }
        }
        const now = performance.now();
        due = Closes.nextDue(due, now, interval);
        schedule();
      }, Math.max(0, due - performance.now()));
      this.timer.unref();
    };
    schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * sendTransaction: admission into the queue, in the order stellar-core's herder and queue judge
   * it (HerderImpl::recvTransaction, TransactionQueue::canAdd): one pending transaction per source
   * across the classic and Soroban queues, bans, duplicates, replace-by-fee, the queue's size
   * limit, validity, then the fee source's pending fees.
   */
  submit(envelopeXdr: string): SendOutcome {
    const tx = Envelopes.parse(envelopeXdr, this.config.networkPassphrase);
    const fault = FaultSwitch.takeSendFault(this.faults);
    if (fault) {
      return fault.status === "ERROR"
        ? { status: "ERROR", hash: tx.hash, errorResult: Results.plain(0n, { code: fault.code }) }
        : { status: "TRY_AGAIN_LATER", hash: tx.hash };
    }
    const rules = this.rules;
    const tryAgainLater: SendOutcome = { status: "TRY_AGAIN_LATER", hash: tx.hash };
    const pending = this.queue.pendingFor(tx.inner.source)?.tx;
    if (pending && pending.isSoroban !== tx.isSoroban) return tryAgainLater;
    if (this.queue.isBanned(tx.hash, rules.queueBanLedgers)) return tryAgainLater;
    if (this.queue.has(tx.hash) || this.swallowed.has(tx.hash)) return { status: "DUPLICATE", hash: tx.hash };
    // A pending fee bump of this very transaction holds it already (core's isDuplicateTx).
    if (pending?.feeBump && !tx.feeBump && pending.inner.hash.toString("hex") === tx.hash) return { status: "DUPLICATE", hash: tx.hash };
    if (pending) {
      const refusal = this.replacementRefusal(pending, tx, rules.replaceBySequence);
      if (refusal) return refusal;
    }
    const fit = this.queue.fit(tx, pending, rules.queueSizeMultiplier * this.config.maxTxPerLedger);
    if (!fit.ok) {
      // Refused for its fee, the transaction is banned like one evicted (core bans it in canAdd).
      this.queue.ban(tx.hash, rules.queueBanLedgers);
      if (fit.minFee === undefined) return tryAgainLater;
      return { status: "ERROR", hash: tx.hash, errorResult: Results.plain(fit.minFee, { code: "txInsufficientFee" }) };
    }
    const verdict = Validation.check(tx, this.admissionContext());
    if (!verdict.ok) {
      return { status: "ERROR", hash: tx.hash, errorResult: Results.rejection(this.wouldCharge(tx), verdict.failure, tx.inner.hash) };
    }
    if (rules.pendingFeeCheck && !this.coversPendingFees(tx, pending)) {
      return { status: "ERROR", hash: tx.hash, errorResult: Results.plain(0n, { code: "txInsufficientBalance" }) };
    }
    if (FaultSwitch.takeSwallow(this.faults)) {
      if (pending) this.queue.remove(pending.hash);
      this.swallowed.add(tx.hash);
      return { status: "PENDING", hash: tx.hash };
    }
    this.queue.evict(fit.evict, rules.queueBanLedgers);
    this.queue.put(tx);
    return { status: "PENDING", hash: tx.hash };
  }

  /**
   * Why `tx` may not replace its source's pending transaction, if it may not. The network: any
   * older sequence number is txBAD_SEQ, only a fee bump for the same sequence number may replace,
   * bidding 10x the pending rate. The relaxed rule wants a fee bump of the identical transaction.
   */
  private replacementRefusal(pending: ParsedTx, tx: ParsedTx, bySequence: boolean): SendOutcome | undefined {
    if (bySequence) {
      if (tx.inner.seqNum < pending.inner.seqNum) return { status: "ERROR", hash: tx.hash, errorResult: Results.plain(0n, { code: "txBadSeq" }) };
      if (!tx.feeBump || tx.inner.seqNum !== pending.inner.seqNum) return { status: "TRY_AGAIN_LATER", hash: tx.hash };
    } else if (!tx.feeBump || !pending.inner.hash.equals(tx.inner.hash)) {
      return { status: "TRY_AGAIN_LATER", hash: tx.hash };
    }
    if (Fees.canReplace(pending, tx)) return undefined;
    return { status: "ERROR", hash: tx.hash, errorResult: Results.plain(Fees.minReplacementFee(pending, tx), { code: "txInsufficientFee" }) };
  }

  /**
   * stellar-core's queue: the fee source's available balance less the new full fee must still
   * cover the full fees of everything it already has pending in that queue (a replaced transaction
   * of the same fee source counts once).
   */
  private coversPendingFees(tx: ParsedTx, replacing: ParsedTx | undefined): boolean {
    const feeSource = Accounts.peek(this.state, tx.feeSource);
    if (!feeSource) return false;
    const newFee = replacing && replacing.feeSource === tx.feeSource ? tx.feeBid - replacing.feeBid : tx.feeBid;
    return Accounts.available(feeSource, this.config.baseReserve) - newFee >= this.queue.pendingFees(laneOf(tx), tx.feeSource);
  }

  /**
   * Closes one ledger. Normally it takes the queue's best transactions up to the per-ledger cap
   * (surge pricing when more are valid); a privileged close (friendbot) holds only its own
   * transactions and leaves the queue alone.
   */
  closeLedger(privileged?: { txs: readonly ParsedTx[]; after?: (state: LedgerState, sequence: number) => void }): LedgerRecord {
    const prev = this.latest();
    const sequence = prev.sequence + 1;
    const closeTime = maxBig(nowSeconds(), prev.closeTime);
    this.state.beginJournal();
    const vctx = this.validationContext(sequence, closeTime);
    const minFee = vctx.minInclusionFee;
    const rules = this.rules;

    let chosen: ParsedTx[];
    let surge = false;
    if (privileged) {
      chosen = [...privileged.txs];
    } else {
      const valid: ParsedTx[] = [];
      for (const queued of this.queue.byFeeRate()) {
        const verdict = Validation.check(queued.tx, vctx);
        if (verdict.ok) valid.push(queued.tx);
        else {
          // Left out of the transaction set as invalid: core bans it (HerderImpl::triggerNextLedger).
          this.queue.ban(queued.tx.hash, rules.queueBanLedgers);
          this.config.logger.debug({ tx: queued.tx.hash, code: verdict.failure.failure.code }, "dropped invalid queued transaction");
        }
      }
      chosen = valid.slice(0, this.config.maxTxPerLedger);
      surge = valid.length > chosen.length;
    }
    const laneBaseFee = (soroban: boolean): bigint => {
      const lane = chosen.filter((t) => t.isSoroban === soroban);
      if (!surge || lane.length === 0) return minFee;
      return lane.map(Fees.ratePerOp).reduce((a, b) => (a < b ? a : b));
    };
    const baseFee = { classic: laneBaseFee(false), soroban: laneBaseFee(true) };

    const ledger = this.ledgerInfo(sequence, closeTime);
    const records: TxRecord[] = [];
    for (const tx of chosen) {
      this.queue.remove(tx.hash);
      // Earlier transactions of this ledger may have changed balances or sequence numbers: core
      // applies such a transaction as failed, charged (the relaxed rule leaves it out).
      const verdict = records.length > 0 ? Validation.check(tx, vctx) : undefined;
      if (verdict && !verdict.ok && !rules.chargeInvalidAtApply) continue;
      const ctx: ApplyContext = {
        state: this.state,
        ledger,
        baseReserve: this.config.baseReserve,
        baseFee: tx.isSoroban ? baseFee.soroban : baseFee.classic,
        soroban: this.soroban?.executeSorobanOp,
        logger: this.config.logger,
        networkResourceFees: rules.networkResourceFees,
        takeDrift: () => FaultSwitch.takeResourceDrift(this.faults),
      };
      const applied: AppliedTx = applyTransaction(tx, ctx, verdict && !verdict.ok ? verdict.failure : undefined);
      this.feePool += applied.feeCharged;
      records.push({ hash: tx.hash, ledger: sequence, closeTime, applicationOrder: records.length + 1, applied });
    }
    privileged?.after?.(this.state, sequence);
    this.undo.push({ sequence, before: this.state.endJournal() });
    if (this.undo.length > ChainViews.MAX_LAG) this.undo.shift();

    const { header, hash: ledgerHash } = Headers.make({
      protocolVersion: this.config.protocolVersion,
      sequence,
      closeTime,
      previousHash: prev.hash,
      txHashes: records.map((r) => r.hash),
      results: records.map((r) => r.applied.result),
      baseFee: baseFee.classic,
      baseReserve: this.config.baseReserve,
      maxTxSetSize: this.config.maxTxPerLedger,
      feePool: this.feePool,
    });
    const record: LedgerRecord = { sequence, closeTime, hash: ledgerHash, header, baseFee, txs: records };
    this.history.append(record);
    this.updateQueue(records, privileged !== undefined);
    this.config.logger.info(
      { ledger: sequence, txCount: records.length, failed: records.filter((r) => !r.applied.successful).length, queued: this.queue.size },
      "ledger closed",
    );
    return record;
  }

  /**
   * The queue after a close, as HerderImpl::updateTransactionQueue leaves it: applied transactions
   * (and older ones of their sources) out and banned, every pending one a ledger older (dropped and
   * banned once it waited queueTimeoutLedgers), and what the new state made invalid banned. A
   * friendbot close did not offer the queue's transactions a place, so it ages nothing.
   */
  private updateQueue(applied: readonly TxRecord[], privileged: boolean): void {
    const rules = this.rules;
    for (const record of applied) this.queue.removeApplied(record.applied.tx, rules.queueBanLedgers);
    if (!privileged) {
      for (const tx of this.queue.shift(rules.queueTimeoutLedgers, rules.queueBanLedgers)) {
        this.config.logger.debug({ tx: tx.hash }, "dropped a transaction not included in time");
      }
    }
    const ctx = this.admissionContext();
    for (const queued of this.queue.byFeeRate()) {
      if (!Validation.check(queued.tx, ctx).ok) this.queue.ban(queued.tx.hash, rules.queueBanLedgers);
    }
  }

  /**
   * Validity as admission judges it: against the ledger that would close next. stellar-core
   * (TransactionQueue::canAdd) judges time bounds against the last close: minTime must not lie
   * after it, and maxTime must reach past it by 2 expected close times plus the time since.
   */
  private admissionContext(): ValidationContext {
    const next = this.nextLedger();
    const ctx = this.validationContext(next.sequence, next.closeTime);
    if (!this.rules.closeTimeSlack) return ctx;
    const last = this.latest().closeTime;
    const now = nowSeconds();
    const drift = now > last ? now - last : 0n;
    // Whole seconds, as core's duration_cast<seconds> of the expected close time.
    const expected = BigInt(Math.floor(this.config.ledgerCloseMs / 1000));
    return { ...ctx, closeTime: last, maxTimeFloor: last + EXPECTED_CLOSE_TIME_MULT * expected + drift };
  }

  /**
   * Friendbot: creates `address` with XLM through a real createAccount transaction from the root
   * account, in a ledger closed right away, and (a devnet privilege, since the devnet has no issuer
   * key) writes a USDC trustline holding `usdc` base units directly in that same ledger.
   */
  friendbot(address: string, usdc: bigint | undefined): FriendbotOutcome {
    if (!StrKey.isValidEd25519PublicKey(address)) throw new FriendbotError(400, "invalid_address", "addr must be a G... account id");
    if (usdc !== undefined && usdc <= 0n) throw new FriendbotError(400, "invalid_usdc", "usdc must be a positive integer of base units");
    const exists = Accounts.load(this.state, address) !== undefined;
    if (exists && usdc === undefined) {
      throw new FriendbotError(400, "createAccountAlreadyExist", `account ${address} already exists (op_already_exists)`);
    }
    const txs: ParsedTx[] = [];
    if (!exists) {
      const rootAccount = Accounts.load(this.state, this.root.publicKey());
      if (!rootAccount) throw new FriendbotError(500, "no_root", "the root account is missing");
      const built = new TransactionBuilder(
        new Account(this.root.publicKey(), Accounts.seqNum(rootAccount).toString()),
        { fee: this.config.minInclusionFee.toString(), networkPassphrase: this.config.networkPassphrase },
      )
        .addOperation(Operation.createAccount({ destination: address, startingBalance: stroopsToXlm(this.config.friendbotStroops) }))
        .setTimeout(0)
        .build();
      built.sign(this.root);
      txs.push(Envelopes.parse(built.toXDR(), this.config.networkPassphrase));
    }
    const usdcAsset = new Asset("USDC", USDC_ISSUER);
    const record = this.closeLedger({
      txs,
      after: (state, sequence) => {
        if (usdc !== undefined) creditTrustline(state, address, usdcAsset, usdc, sequence);
      },
    });
    const txRecord = record.txs[0];
    if (txRecord && !txRecord.applied.successful) {
      throw new FriendbotError(500, "funding_failed", `friendbot transaction failed: ${Results.codeName(txRecord.applied.result)}`);
    }
    return { record: txRecord, ledger: record.sequence };
  }

  private validationContext(ledgerSeq: number, closeTime: bigint): ValidationContext {
    return {
      state: this.state,
      ledgerSeq,
      closeTime,
      baseReserve: this.config.baseReserve,
      minInclusionFee: this.minInclusionFee(),
      sorobanEnabled: this.sorobanEnabled,
      protocolVersion: this.config.protocolVersion,
      frozenKeys: this.faults.frozenKeys ?? NO_FROZEN_KEYS,
      resourceFeeCheck: this.rules.resourceFeeCheckAtSend ? { priceSize: this.rules.networkResourceFees } : undefined,
    };
  }

  /** The fee a rejected transaction would have been charged, as its error result reports. */
  private wouldCharge(tx: ParsedTx): bigint {
    const inclusion = this.minInclusionFee() * BigInt(tx.feeOps);
    return tx.inner.resourceFee + (tx.inclusionBid < inclusion ? tx.inclusionBid : inclusion);
  }

  private genesis(): void {
    const closeTime = nowSeconds();
    const issuerBalance = ISSUER_BALANCE;
    Accounts.store(this.state, rootAccount(this.root.publicKey(), Headers.TOTAL_COINS - issuerBalance), GENESIS_LEDGER);
    Accounts.store(this.state, Accounts.create(USDC_ISSUER, issuerBalance, GENESIS_LEDGER), GENESIS_LEDGER);
    this.soroban?.installGenesisContracts(this.state, this.ledgerInfo(GENESIS_LEDGER, closeTime), { usdcIssuer: USDC_ISSUER });
    const baseFee = { classic: this.config.minInclusionFee, soroban: this.config.minInclusionFee };
    const { header, hash: ledgerHash } = Headers.make({
      protocolVersion: this.config.protocolVersion,
      sequence: GENESIS_LEDGER,
      closeTime,
      previousHash: Buffer.alloc(32),
      txHashes: [],
      results: [],
      baseFee: baseFee.classic,
      baseReserve: this.config.baseReserve,
      maxTxSetSize: this.config.maxTxPerLedger,
      feePool: 0n,
    });
    this.history.append({ sequence: GENESIS_LEDGER, closeTime, hash: ledgerHash, header, baseFee, txs: [] });
  }
}

/** The network root starts at sequence 0 and holds every lumen. */
function rootAccount(accountId: string, balance: bigint): xdr.AccountEntry {
  const account = Accounts.create(accountId, balance, 0);
  Accounts.setSeqNum(account, 0n);
  return account;
}

function creditTrustline(state: LedgerState, accountId: string, asset: Asset, amount: bigint, sequence: number): void {
  const account = Accounts.load(state, accountId);
  if (!account) throw new FriendbotError(500, "no_account", `account ${accountId} is missing after funding`);
  const existing = Accounts.loadTrustline(state, accountId, asset);
  if (existing) {
    const after = Accounts.trustlineBalance(existing) + amount;
    if (after > Accounts.trustlineLimit(existing)) throw new FriendbotError(400, "line_full", "USDC amount exceeds the trustline limit");
    Accounts.setTrustlineBalance(existing, after);
    Accounts.storeTrustline(state, existing, asset, sequence);
    return;
  }
  account.numSubEntries(account.numSubEntries() + 1);
  Accounts.store(state, account, sequence);
  Accounts.storeTrustline(state, Accounts.newTrustline(accountId, asset, Accounts.INT64_MAX, amount), asset, sequence);
}

function stroopsToXlm(stroops: bigint): string {
  const whole = stroops / 10_000_000n;
  const frac = (stroops % 10_000_000n).toString().padStart(7, "0");
  return `${whole}.${frac}`;
}

const nowSeconds = (): bigint => BigInt(Math.floor(Date.now() / 1000));
const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

export const Closes = {
  /** When the ledger after one due at `due` is due, seen at `now`: one interval on, or a new cadence from now when a whole interval behind. */
  nextDue(due: number, now: number, interval: number): number {
    const next = due + interval;
    return next <= now ? now + interval : next;
  },
};
