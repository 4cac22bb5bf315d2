import type { Percentiles } from "./stats";

/** The shape of `latest.json`: everything a run measured, per configuration and load level. */

export type FacilitatorName = "quay" | "peer";
export const FACILITATORS: readonly FacilitatorName[] = ["quay", "peer"];

export interface ProcessUsage {
  /** Resident set size over the level, sampled every half second (MiB). */
  readonly peakRssMiB: number | null;
  readonly meanRssMiB: number | null;
  /** User + system CPU the process used during the level (seconds). */
  readonly cpuSeconds: number | null;
}

export interface LevelResult {
  readonly facilitator: FacilitatorName;
  /** Offered load as a fraction of the pool's limit (N per ledger). */
  readonly offeredFraction: number;
  readonly offeredPerSecond: number;
  readonly durationSeconds: number;
  readonly sent: number;
  /** /settle answers: success, a definitive failure, Quay's settlement_pending, or none at all (timeout, connection error). */
  readonly answers: { readonly success: number; readonly failed: number; readonly pending: number; readonly none: number };
  /** Successful answers per second inside the steady window (the level minus its warm-up). */
  readonly settledPerSecond: number;
  readonly settledFractionOfLimit: number;
  /**
   * The ledger's view: settled payments' transfers per ledger over the steady window, per nominal
   * second. The window is the ledgers strictly between the first and the last holding one (the
   * first held what arrived before it began, the last the backlog's remainder); it covers the
   * drain after the load stops, so an overloaded facilitator shows its capacity. Null when they
   * all landed in one ledger.
   */
  readonly chainSettledPerSecond: number | null;
  readonly chainSettledFractionOfLimit: number | null;
  /** Mean seconds between the ledgers above by their close times (whole seconds; a busy devnet closes late). */
  readonly observedLedgerSeconds: number | null;
  /** Settled payments landed in each ledger, from the first holding one to the last (N per ledger is full). */
  readonly ledgerFill: readonly number[];
  /** From the /settle call to its answer, every answered request. */
  readonly latencyMs: Percentiles;
  readonly successLatencyMs: Percentiles;
  /** errorReason of failed answers; http_<status> or no_answer:<cause> otherwise. */
  readonly errors: Readonly<Record<string, number>>;
  readonly chain: {
    /** Payments whose transfer is on the ledger (SAC transfer events to this level's payee). */
    readonly landed: number;
    /** Payments whose transfer is on the ledger more than once. Must be 0. */
    readonly double: number;
    /** Answered success without a transfer on the ledger, or neither settled nor reported failed. Must be 0. */
    readonly lost: number;
    /** Answered as failed (or never answered) although the transfer landed: the payer paid, the seller was told no. */
    readonly paidButNotSuccess: number;
    /** Transfers on the ledger per payment, as {"0": n, "1": m, ...}. */
    readonly landingsPerPayment: Readonly<Record<string, number>>;
  };
  /** Quay only (submission_attempts): transactions built and sent per payment, and the final status of its rows. */
  readonly quayRecords?: {
    readonly submissionsPerPayment: Readonly<Record<string, number>>;
    readonly attemptStatuses: Readonly<Record<string, number>>;
    readonly paymentStatuses: Readonly<Record<string, number>>;
    /** Accepted by the api → attempt built (queue and lease wait). */
    readonly waitMs: Percentiles;
    /** Attempt built → concluded (simulate, sign, send, ledger close, noticing it). */
    readonly attemptMs: Percentiles;
    /** A channel account's previous attempt concluded → its next built: the account unused. */
    readonly channelIdleMs: Percentiles;
    /**
     * From the api's and worker's /metrics over the level: `stage:<stage>` (the worker's settlement
     * stages) and `rpc:<process>/<method>` (Stellar RPC calls), each with its count and mean.
     */
    readonly metrics: Readonly<Record<string, { readonly count: number; readonly meanMs: number }>>;
  };
  readonly processes: Readonly<Record<string, ProcessUsage>>;
  /** Share of the machine's CPU (all cores, every process) busy from the level's first call to its last answer. */
  readonly machineCpuBusy: number | null;
}

export interface ConfigurationResult {
  readonly ledgerMs: number;
  readonly poolSize: number;
  /** The pool's limit: N transactions per ledger. */
  readonly limitPerSecond: number;
  readonly levels: readonly LevelResult[];
  /** Levels not run because the facilitator was already clearly saturated. */
  readonly skipped: readonly { readonly facilitator: FacilitatorName; readonly offeredFraction: number; readonly reason: string }[];
  readonly targets: Readonly<Record<FacilitatorName, TargetCheck>>;
  /** peer / Quay: best settled/s, and failure rate at each level both ran. */
  readonly peerVsQuay: {
    readonly throughputRatio: number | null;
    readonly failureRates: readonly { readonly offeredFraction: number; readonly quay: number | null; readonly peer: number | null }[];
  };
}

export interface TargetCheck {
  /** Best on-chain settled/s (chainSettledPerSecond) over the levels, against N / ledger time (target ≥ 0.9). */
  readonly sustainedFraction: number | null;
  readonly sustainedMet: boolean;
  readonly doubleSubmissions: number;
  readonly lost: number;
  /** p99 latency at the 0.8 level, in ledger times (target ≤ 2). */
  readonly p99AtEightyPercentLedgers: number | null;
  readonly p99Met: boolean | null;
}

export interface VerifyCost {
  readonly facilitator: FacilitatorName;
  readonly samples: number;
  /** /verify round trip, one request at a time. */
  readonly verifyMs: Percentiles;
  /** simulateTransaction of the same transaction straight against the devnet, just before each /verify. */
  readonly simulateMs: Percentiles;
  /** verify − simulate, per sample. */
  readonly addedMs: Percentiles;
  /** CPU (user + system) of the facilitator's api process per /verify. */
  readonly cpuMsPerVerify: number | null;
  /** 1000 / cpuMsPerVerify: what one core of the api process could verify, the simulation aside. */
  readonly verifiesPerSecondPerCore: number | null;
  readonly valid: number;
}

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly loadAverageAtStart: readonly number[];
  readonly date: string;
}

export interface BenchResult {
  readonly profile: string;
  readonly machine: Machine;
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly method: Readonly<Record<string, string | number>>;
  readonly configurations: readonly ConfigurationResult[];
  readonly verifyCost: readonly VerifyCost[];
  readonly notes: readonly string[];
}
