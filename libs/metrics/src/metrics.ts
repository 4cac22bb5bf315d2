import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Quay's metrics, all prefixed `quay_`, with low-cardinality labels only: never a payer, an
 * address, a tx hash or a key as a label (networks, routes, reasons, tenants and stages are
 * bounded sets the operator controls). One registry per process; `/metrics` serves it.
 *
 * Two kinds live here. Events (requests, verifications, settlements, RPC calls, retries, fees)
 * are counted where they happen. State (pool, balances, queue depth, ledger lag, fee levels) is
 * read when Prometheus scrapes, through a StateReader attached with `observeState` (the worker
 * attaches one; see SystemState), so it is never stale and costs nothing between scrapes.
 * Every metric the dashboard and the alert rules use is declared here, including the MPP ones
 * the channel engine records.
 */
export const PREFIX = "quay_";

export interface PoolCounts {
  readonly free: number;
  readonly leased: number;
  readonly disabled: number;
}

export interface LedgerState {
  /** The RPC answered both calls. */
  readonly up: boolean;
  readonly latestLedger?: number;
  /** The protocol the network runs, as the RPC reports it. */
  readonly protocolVersion?: number;
  /** Seconds since the latest ledger the RPC knows closed. */
  readonly ageSeconds?: number;
}

export interface Balances {
  /** null: the fund account is not on the ledger. */
  readonly fundStroops: bigint | null;
  readonly fundThresholdStroops: bigint;
  /** Enabled channel accounts found on the ledger. */
  readonly channelStroops: readonly bigint[];
  readonly channelThresholdStroops: bigint;
}

export interface FeeBids {
  readonly p50: bigint;
  readonly p90: bigint;
  readonly max: bigint;
}

/** What the state gauges read at scrape time. Implemented by SystemState; any part may throw when its source is down. */
export interface StateReader {
  networks(): readonly string[];
  poolCounts(): Promise<ReadonlyMap<string, PoolCounts>>;
  ledger(network: string): Promise<LedgerState>;
  balances(network: string): Promise<Balances>;
  /** The network's recent Soroban inclusion fees per operation, by percentile (p10, p50, p90, p99). */
  networkFees(network: string): Promise<Readonly<Record<string, bigint>>>;
  /** Quay's own recent bids per operation, by network. */
  feeBids(): Promise<ReadonlyMap<string, FeeBids>>;
  /** Fees charged to each tenant's API keys since they were created. */
  tenantFees(): Promise<ReadonlyArray<{ readonly tenant: string; readonly stroops: bigint }>>;
  queueCounts(): Promise<ReadonlyArray<{ readonly queue: string; readonly counts: Readonly<Record<string, number>> }>>;
}

/** Gauges are floats: stroops past 2^53 (900 million XLM) lose precision here, never in the ledger or the database. */
const num = (value: bigint): number => Number(value);

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const registers = [registry];
  const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
  let reader: StateReader | undefined;

  /** A gauge's collect(): clears it, then sets it from the reader; a part that cannot be read leaves no sample. */
  const fromState =
    (fill: (gauge: Gauge<string>, state: StateReader) => Promise<void>) =>
    async function collect(this: Gauge<string>): Promise<void> {
      this.reset();
      if (!reader) return;
      try {
        await fill(this, reader);
      } catch {
        // The source is down: no sample rather than a stale one, and the scrape still succeeds.
        // quay_rpc_up and /readyz say which part is down.
      }
    };
  /** Runs `fill` for every network, each on its own, so one network's outage leaves the others' samples. */
  const perNetwork =
    (fill: (gauge: Gauge<string>, state: StateReader, network: string) => Promise<void>) =>
    async (gauge: Gauge<string>, state: StateReader): Promise<void> => {
      await Promise.allSettled(state.networks().map((network) => fill(gauge, state, network)));
    };

  return {
    registry,
    /** Attaches the scrape-time source of the state gauges (pool, balances, queue, ledger, fees). */
    observeState(state: StateReader): void {
      reader = state;
    },

    // --- HTTP -------------------------------------------------------------------------------
    httpRequests: new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: "HTTP requests by method, route (the route pattern, or 'unmatched') and status",
      labelNames: ["method", "route", "status"] as const,
      buckets: seconds,
      registers,
    }),

    // --- x402 ---------------------------------------------------------------------------------
    verifyOutcomes: new Counter({
      name: `${PREFIX}verify_total`,
      help: "x402 verifications by network and outcome (valid, or the invalid reason)",
      labelNames: ["network", "outcome"] as const,
      registers,
    }),
    settleOutcomes: new Counter({
      name: `${PREFIX}settle_total`,
      help: "x402 settlements answered, by network and outcome (success, settlement_pending, or the error reason)",
      labelNames: ["network", "outcome"] as const,
      registers,
    }),

    channelsRequests: new Counter({
      name: `${PREFIX}channels_requests_total`,
      help: "OZ Channels API requests answered, by network, operation (func, xdr, get_transaction, management) and result (a status such as confirmed, pending, readonly, ok, or the error code)",
      labelNames: ["network", "operation", "result"] as const,
      registers,
    }),

    // --- settlement ---------------------------------------------------------------------------
    settleStage: new Histogram({
      name: `${PREFIX}settle_stage_duration_seconds`,
      help: "Time spent in each settlement stage (lease_wait, simulate, submit, confirm)",
      labelNames: ["network", "stage"] as const,
      buckets: seconds,
      registers,
    }),
    queueWait: new Histogram({
      name: `${PREFIX}queue_wait_seconds`,
      help: "Time a job waited in its queue before a worker took it (first attempt; retries wait their backoff)",
      labelNames: ["queue"] as const,
      buckets: seconds,
      registers,
    }),
    settleBuilds: new Counter({
      name: `${PREFIX}settle_builds_total`,
      help: "Settlement transactions built, by where their sequence (known from the last use, or read) and resources (reused from verify, or simulated) came from",
      labelNames: ["network", "sequence", "resources"] as const,
      registers,
    }),
    settleInferred: new Counter({
      name: `${PREFIX}settle_inferred_total`,
      help: "Attempts whose outcome was read from the ledger's state (its channel account's sequence, the payer's nonce) because the RPC's history no longer had them: success, unspent (nothing moved; built again), unresolved",
      labelNames: ["network", "outcome"] as const,
      registers,
    }),
    settleUnresolved: new Counter({
      name: `${PREFIX}settle_unresolved_total`,
      help: "Submissions left to an operator: the payer's authorisation was spent by a transaction Quay cannot find (money moved), or the ledger can no longer tell",
      labelNames: ["network", "kind"] as const,
      registers,
    }),
    settleSweeps: new Counter({
      name: `${PREFIX}settle_sweep_total`,
      help: "Payments the worker's sweep found without a live job and queued again (outcome: queued), or could not queue (outcome: failed, e.g. Redis down)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    submissionOutcomes: new Counter({
      name: `${PREFIX}submissions_total`,
      help: "Submissions the settlement engine made final, by network, kind (x402, mpp_charge, mpp_close, ttl_bump, channels) and outcome (succeeded, failed, unresolved)",
      labelNames: ["network", "kind", "outcome"] as const,
      registers,
    }),
    submissionRetries: new Counter({
      name: `${PREFIX}submission_retries_total`,
      help: "Transaction resubmissions by cause",
      labelNames: ["network", "cause"] as const,
      registers,
    }),
    feesSpent: new Counter({
      name: `${PREFIX}fees_spent_stroops_total`,
      help: "Fees charged on chain for Quay's transactions, in stroops, by network, submission kind and tenant kind (keyed or anonymous)",
      labelNames: ["network", "kind", "tenant"] as const,
      registers,
    }),
    tenantFees: new Gauge({
      name: `${PREFIX}tenant_fees_spent_stroops`,
      help: "Fees charged to each tenant's API keys since they were created, in stroops (from the database)",
      labelNames: ["tenant"] as const,
      registers,
      collect: fromState(async (gauge, state) => {
        for (const { tenant, stroops } of await state.tenantFees()) gauge.set({ tenant }, num(stroops));
      }),
    }),
    networkFees: new Gauge({
      name: `${PREFIX}network_fee_stroops`,
      help: "The network's recent Soroban inclusion fee per operation, by percentile (from the RPC's getFeeStats)",
      labelNames: ["network", "percentile"] as const,
      registers,
      collect: fromState(
        perNetwork(async (gauge, state, network) => {
          for (const [percentile, fee] of Object.entries(await state.networkFees(network))) gauge.set({ network, percentile }, num(fee));
        }),
      ),
    }),
    feeBids: new Gauge({
      name: `${PREFIX}fee_bid_stroops`,
      help: "Quay's inclusion-fee bids per operation over the last 15 minutes (stat: p50, p90, max)",
      labelNames: ["network", "stat"] as const,
      registers,
      collect: fromState(async (gauge, state) => {
        for (const [network, bids] of await state.feeBids()) {
          gauge.set({ network, stat: "p50" }, num(bids.p50));
          gauge.set({ network, stat: "p90" }, num(bids.p90));
          gauge.set({ network, stat: "max" }, num(bids.max));
        }
      }),
    }),

    // --- the channel-account pool ---------------------------------------------------------------
    poolAccounts: new Gauge({
      name: `${PREFIX}pool_accounts`,
      help: "Channel accounts by state (free, leased, disabled)",
      labelNames: ["network", "state"] as const,
      registers,
      collect: fromState(async (gauge, state) => {
        for (const [network, counts] of await state.poolCounts()) {
          for (const key of ["free", "leased", "disabled"] as const) gauge.set({ network, state: key }, counts[key]);
        }
      }),
    }),
    poolBalance: new Gauge({
      name: `${PREFIX}pool_balance_stroops`,
      help: "XLM held by the enabled channel accounts, in stroops (stat: min, sum)",
      labelNames: ["network", "stat"] as const,
      registers,
      collect: fromState(
        perNetwork(async (gauge, state, network) => {
          const { channelStroops } = await state.balances(network);
          if (channelStroops.length === 0) return;
          gauge.set({ network, stat: "min" }, num(channelStroops.reduce((a, b) => (b < a ? b : a))));
          gauge.set({ network, stat: "sum" }, num(channelStroops.reduce((a, b) => a + b, 0n)));
        }),
      ),
    }),
    poolLowBalance: new Gauge({
      name: `${PREFIX}pool_accounts_low_balance`,
      help: "Enabled channel accounts holding less than CHANNEL_MIN_BALANCE_STROOPS",
      labelNames: ["network"] as const,
      registers,
      collect: fromState(
        perNetwork(async (gauge, state, network) => {
          const { channelStroops, channelThresholdStroops } = await state.balances(network);
          gauge.set({ network }, channelStroops.filter((b) => b < channelThresholdStroops).length);
        }),
      ),
    }),
    poolBalanceThreshold: new Gauge({
      name: `${PREFIX}pool_balance_threshold_stroops`,
      help: "CHANNEL_MIN_BALANCE_STROOPS: the balance below which a channel account counts as low",
      labelNames: ["network"] as const,
      registers,
      collect: fromState(
        perNetwork(async (gauge, state, network) => {
          gauge.set({ network }, num((await state.balances(network)).channelThresholdStroops));
        }),
      ),
    }),

    // --- the fund account -------------------------------------------------------------------------
    fundBalance: new Gauge({
      name: `${PREFIX}fund_balance_stroops`,
      help: "XLM held by the fund account that pays every fee bump, in stroops (0 when it is not on the ledger)",
      labelNames: ["network"] as const,
      registers,
      collect: fromState(
        perNetwork(async (gauge, state, network) => {
          gauge.set({ network }, num((await state.balances(network)).fundStroops ?? 0n));
        }),
      ),
    }),
    fundBalanceThreshold: new Gauge({
      name: `${PREFIX}fund_balance_threshold_stroops`,
      help: "FUND_MIN_BALANCE_STROOPS: below it /readyz fails and the fund-balance alert fires",
      labelNames: ["network"] as const,
      registers,
      collect: fromState(
        perNetwork(async (gauge, state, network) => {
          gauge.set({ network }, num((await state.balances(network)).fundThresholdStroops));
        }),
      ),
    }),

    // --- queues -------------------------------------------------------------------------------------
    queueJobs: new Gauge({
      name: `${PREFIX}queue_jobs`,
      help: "Jobs in each queue by state (waiting, active, delayed, prioritized, failed)",
      labelNames: ["queue", "state"] as const,
      registers,
      collect: fromState(async (gauge, state) => {
        for (const { queue, counts } of await state.queueCounts()) {
          for (const [key, count] of Object.entries(counts)) gauge.set({ queue, state: key }, count);
        }
      }),
    }),

    // --- Stellar RPC ----------------------------------------------------------------------------------
    rpcCalls: new Histogram({
      name: `${PREFIX}rpc_call_duration_seconds`,
      help: "Stellar RPC calls by network, method and outcome (ok or an error class)",
      labelNames: ["network", "method", "outcome"] as const,
      buckets: seconds,
      registers,
    }),
    rpcFailovers: new Counter({
      name: `${PREFIX}rpc_failovers_total`,
      help: "Calls that went on to the network's next RPC (STELLAR_<NET>_RPC_URLS) because one did not answer",
      labelNames: ["network", "method"] as const,
      registers,
    }),
    rpcUp: new Gauge({
      name: `${PREFIX}rpc_up`,
      help: "1 when the network's RPC answered the last probe, else 0",
      labelNames: ["network"] as const,
      registers,
      collect: fromState(
        perNetwork(async (gauge, state, network) => {
          gauge.set({ network }, (await state.ledger(network)).up ? 1 : 0);
        }),
      ),
    }),
    latestLedger: new Gauge({
      name: `${PREFIX}rpc_latest_ledger`,
      help: "The latest ledger sequence the network's RPC knows",
      labelNames: ["network"] as const,
      registers,
      collect: fromState(
        perNetwork(async (gauge, state, network) => {
          const { latestLedger } = await state.ledger(network);
          if (latestLedger !== undefined) gauge.set({ network }, latestLedger);
        }),
      ),
    }),
    networkProtocol: new Gauge({
      name: `${PREFIX}network_protocol_version`,
      help: "The protocol version the network runs, as its RPC reports it (Quay knows 23 to 28)",
      labelNames: ["network"] as const,
      registers,
      collect: fromState(
        perNetwork(async (gauge, state, network) => {
          const { protocolVersion } = await state.ledger(network);
          if (protocolVersion !== undefined) gauge.set({ network }, protocolVersion);
        }),
      ),
    }),
    ledgerAge: new Gauge({
      name: `${PREFIX}rpc_ledger_age_seconds`,
      help: "Seconds since the latest ledger the RPC knows closed: the RPC's lag behind the network",
      labelNames: ["network"] as const,
      registers,
      collect: fromState(
        perNetwork(async (gauge, state, network) => {
          const { ageSeconds } = await state.ledger(network);
          if (ageSeconds !== undefined) gauge.set({ network }, ageSeconds);
        }),
      ),
    }),

    // --- MPP channels (recorded by the MPP engine) --------------------------------------------------------
    mppChannels: new Gauge({
      name: `${PREFIX}mpp_channels`,
      help: "MPP payment channels by state (open, closing, closed)",
      labelNames: ["network", "state"] as const,
      registers,
    }),
    mppUnsettled: new Gauge({
      name: `${PREFIX}mpp_unsettled_value`,
      help: "Value committed off chain and not yet settled on chain (at risk if a channel expires), in the asset's base units",
      labelNames: ["network", "asset"] as const,
      registers,
    }),
    mppCloses: new Counter({
      name: `${PREFIX}mpp_channel_closes_total`,
      help: "MPP channel closes by kind (cooperative: Quay closed with the highest commitment; unilateral: the funder started a close)",
      labelNames: ["network", "kind"] as const,
      registers,
    }),
    mppTtlBumps: new Counter({
      name: `${PREFIX}mpp_ttl_bumps_total`,
      help: "TTL extensions of channel contracts' storage, by outcome (ok, failed)",
      labelNames: ["network", "outcome"] as const,
      registers,
    }),
    mppMinTtl: new Gauge({
      name: `${PREFIX}mpp_channel_ttl_min_ledgers`,
      help: "The lowest remaining TTL, in ledgers, among open channels' contract storage",
      labelNames: ["network"] as const,
      registers,
    }),
    mppDisputes: new Counter({
      name: `${PREFIX}mpp_disputes_total`,
      help: "Unilateral closes Quay answered with its highest commitment, by outcome (answered, missed)",
      labelNames: ["network", "outcome"] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
