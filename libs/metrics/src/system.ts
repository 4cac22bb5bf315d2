import { Keypair, StrKey, xdr } from "@stellar/stellar-sdk";
import type { QuayConfig } from "@quay/config";
import type { StellarNetwork } from "@quay/stellar";
import type { Balances, FeeBids, LedgerState, PoolCounts, StateReader } from "./metrics";

export type { Balances, LedgerState, PoolCounts };

/** A network whose state is reported: its RPC and the fund account that pays its fee bumps. */
export interface StateNetwork {
  readonly network: Pick<StellarNetwork, "id" | "latestLedgerInfo" | "getLedgers" | "getFeeStats" | "getLedgerEntries">;
  readonly fundPublicKey: string;
}

/**
 * What the state reads from other libraries' tables, through reads their owners provide (the app
 * wires them: @quay/pool's PoolCensus, @quay/settlement's Records, @quay/keys' ApiKeys). Metrics
 * runs no SQL of its own.
 */
export interface StateSources {
  /** Channel accounts by state, per network; a network without accounts may be absent. */
  poolCounts(): Promise<ReadonlyMap<string, PoolCounts>>;
  /** Public keys of the network's channel accounts in service, whose balances are reported. */
  channelAccounts(network: string): Promise<readonly string[]>;
  /** Fee bids of recent attempts, per network. */
  recentFeeBids(): Promise<ReadonlyMap<string, FeeBids>>;
  /** Fees each tenant has spent. */
  tenantFees(): Promise<ReadonlyArray<{ tenant: string; stroops: bigint }>>;
}

/** A queue whose depth is reported (a BullMQ Queue fits). */
export interface CountedQueue {
  readonly name: string;
  getJobCounts(...states: Array<"waiting" | "active" | "delayed" | "prioritized" | "failed">): Promise<Record<string, number>>;
}

export interface SystemStateDeps {
  readonly sources: StateSources;
  readonly networks: readonly StateNetwork[];
  readonly queues?: readonly CountedQueue[];
  readonly fundMinBalanceStroops: bigint;
  readonly channelMinBalanceStroops: bigint;
  /** How long a read is reused: scrapes and readiness probes every second cost one read per this. */
  readonly cacheMs?: number;
  /** Balances take one RPC call per 200 accounts, so they are reused longer. */
  readonly balanceCacheMs?: number;
  readonly now?: () => number;
}

const QUEUE_STATES = ["waiting", "active", "delayed", "prioritized", "failed"] as const;
const FEE_PERCENTILES = ["p10", "p50", "p90", "p99"] as const;
/** getLedgerEntries takes at most 200 keys per call. */
const LEDGER_KEYS_PER_CALL = 200;

/**
 * Quay's state as monitoring sees it, read from where it lives (Postgres, BullMQ, the RPC) when
 * asked, with a short cache: the state gauges (createMetrics' observeState) and /readyz both
 * read through it. Each read stands alone, so one source being down fails only its own part.
 */
export class SystemState implements StateReader {
  private readonly cache = new Map<string, { value: Promise<unknown>; until: number }>();
  private readonly byId: ReadonlyMap<string, StateNetwork>;
  private readonly cacheMs: number;
  private readonly balanceCacheMs: number;
  private readonly now: () => number;

  /** The state of a process wired from the configuration: its networks (by their RPC clients), its queues, the configured thresholds. */
  static forConfig(
    config: Pick<QuayConfig, "networks" | "ops">,
    sources: StateSources,
    networks: readonly StateNetwork["network"][],
    queues: readonly CountedQueue[] = [],
  ): SystemState {
    const fundOf = new Map(config.networks.map((n) => [n.id as string, Keypair.fromSecret(n.fundSecret).publicKey()]));
    return new SystemState({
      sources,
      networks: networks.flatMap((network) => {
        const fundPublicKey = fundOf.get(network.id);
        return fundPublicKey ? [{ network, fundPublicKey }] : [];
      }),
      queues,
      fundMinBalanceStroops: config.ops.fundMinBalanceStroops,
      channelMinBalanceStroops: config.ops.channelMinBalanceStroops,
    });
  }

  constructor(private readonly deps: SystemStateDeps) {
    this.byId = new Map(deps.networks.map((n) => [n.network.id, n]));
    this.cacheMs = deps.cacheMs ?? 5_000;
    this.balanceCacheMs = deps.balanceCacheMs ?? 15_000;
    this.now = deps.now ?? Date.now;
  }

  networks(): readonly string[] {
    return [...this.byId.keys()];
  }

  poolCounts(): Promise<ReadonlyMap<string, PoolCounts>> {
    return this.cached("pool", this.cacheMs, async () => {
      const counts = new Map<string, PoolCounts>(this.networks().map((id) => [id, { free: 0, leased: 0, disabled: 0 }]));
      for (const [network, count] of await this.deps.sources.poolCounts()) counts.set(network, count);
      return counts;
    });
  }

  /** Never throws: an RPC that does not answer is `{ up: false }`. */
  ledger(network: string): Promise<LedgerState> {
    return this.cached(`ledger:${network}`, this.cacheMs, async () => {
      const { network: net } = this.network(network);
      try {
        const { sequence, protocolVersion } = await net.latestLedgerInfo();
        // getLatestLedger has no close time in every RPC version; getLedgers reports it for the latest ledger.
        const page = await net.getLedgers(sequence, 1);
        const closedAt = Number(page.latestLedgerCloseTime);
        const ageSeconds = Number.isFinite(closedAt) && closedAt > 0 ? Math.max(0, this.now() / 1000 - closedAt) : undefined;
        return {
          up: true,
          latestLedger: Math.max(sequence, Number(page.latestLedger) || 0),
          protocolVersion,
          ...(ageSeconds === undefined ? {} : { ageSeconds }),
        };
      } catch {
        return { up: false };
      }
    });
  }

  balances(network: string): Promise<Balances> {
    return this.cached(`balances:${network}`, this.balanceCacheMs, async () => {
      const { network: net, fundPublicKey } = this.network(network);
      const channels = await this.deps.sources.channelAccounts(network);
      const held = await accountBalances(net, [fundPublicKey, ...channels]);
      return {
        fundStroops: held.get(fundPublicKey) ?? null,
        fundThresholdStroops: this.deps.fundMinBalanceStroops,
        channelStroops: channels.flatMap((account) => (held.has(account) ? [held.get(account)!] : [])),
        channelThresholdStroops: this.deps.channelMinBalanceStroops,
      };
    });
  }

  networkFees(network: string): Promise<Readonly<Record<string, bigint>>> {
    return this.cached(`fees:${network}`, this.cacheMs, async () => {
      const { network: net } = this.network(network);
      const stats = await net.getFeeStats();
      const fees = stats.sorobanInclusionFee as unknown as Record<string, string | undefined>;
      return Object.fromEntries(FEE_PERCENTILES.map((p) => [p, BigInt(fees[p] || "0")]));
    });
  }

  feeBids(): Promise<ReadonlyMap<string, FeeBids>> {
    return this.cached("bids", this.cacheMs, () => this.deps.sources.recentFeeBids());
  }

  tenantFees(): Promise<ReadonlyArray<{ tenant: string; stroops: bigint }>> {
    return this.cached("tenants", this.cacheMs, () => this.deps.sources.tenantFees());
  }

  queueCounts(): Promise<ReadonlyArray<{ queue: string; counts: Readonly<Record<string, number>> }>> {
    return this.cached("queues", this.cacheMs, async () =>
      Promise.all((this.deps.queues ?? []).map(async (q) => ({ queue: q.name, counts: await q.getJobCounts(...QUEUE_STATES) }))),
    );
  }

  private network(id: string): StateNetwork {
    const found = this.byId.get(id);
    if (!found) throw new Error(`network ${id} is not served by this process`);
    return found;
  }

  /** One read per key per `ttlMs`, shared by concurrent callers; a failed read is not kept. */
  private cached<T>(key: string, ttlMs: number, read: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.value as Promise<T>;
    const value = read();
    this.cache.set(key, { value, until: this.now() + ttlMs });
    value.catch(() => {
      if (this.cache.get(key)?.value === value) this.cache.delete(key);
    });
    return value;
  }
}

/** XLM balances of the accounts found on the ledger, in stroops, batched into getLedgerEntries calls. */
async function accountBalances(network: StateNetwork["network"], accounts: readonly string[]): Promise<Map<string, bigint>> {
  const unique = [...new Set(accounts)].filter((a) => StrKey.isValidEd25519PublicKey(a));
  const held = new Map<string, bigint>();
  for (let i = 0; i < unique.length; i += LEDGER_KEYS_PER_CALL) {
    const keys = unique
      .slice(i, i + LEDGER_KEYS_PER_CALL)
      .map((a) => xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: Keypair.fromPublicKey(a).xdrAccountId() })));
    const answer = await network.getLedgerEntries(...keys);
    for (const entry of answer.entries) {
      const account = entry.val.account();
      held.set(StrKey.encodeEd25519PublicKey(account.accountId().ed25519()), BigInt(account.balance().toString()));
    }
  }
  return held;
}
