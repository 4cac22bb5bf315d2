import { Keypair, StrKey, xdr } from "@stellar/stellar-sdk";
import { sql } from "drizzle-orm";
import type { QuayConfig } from "@quay/config";
import type { Db } from "@quay/db";
import type { StellarNetwork } from "@quay/stellar";
import type { Balances, FeeBids, LedgerState, PoolCounts, StateReader } from "./metrics";

export type { Balances, LedgerState, PoolCounts };

/** A network whose state is reported: its RPC and the fund account that pays its fee bumps. */
export interface StateNetwork {
  readonly network: Pick<StellarNetwork, "id" | "rpc" | "call" | "latestLedger">;
  readonly fundPublicKey: string;
}

/** A queue whose depth is reported (a BullMQ Queue fits). */
export interface CountedQueue {
  readonly name: string;
  getJobCounts(...states: Array<"waiting" | "active" | "delayed" | "prioritized" | "failed">): Promise<Record<string, number>>;
}

export interface SystemStateDeps {
  readonly db: Db;
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
    db: Db,
    networks: readonly StateNetwork["network"][],
    queues: readonly CountedQueue[] = [],
  ): SystemState {
    const fundOf = new Map(config.networks.map((n) => [n.id as string, Keypair.fromSecret(n.fundSecret).publicKey()]));
    return new SystemState({
      db,
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
      const { rows } = await this.deps.db.execute<{ network: string; free: number; leased: number; disabled: number }>(sql`
        select network,
               count(*) filter (where disabled_at is null and (lease_expires_at is null or lease_expires_at < now()))::int as free,
               count(*) filter (where disabled_at is null and lease_expires_at >= now())::int as leased,
               count(*) filter (where disabled_at is not null)::int as disabled
          from channel_accounts
         group by network`);
      const counts = new Map<string, PoolCounts>(this.networks().map((id) => [id, { free: 0, leased: 0, disabled: 0 }]));
      for (const row of rows) counts.set(row.network, { free: row.free, leased: row.leased, disabled: row.disabled });
      return counts;
    });
  }

  /** Never throws: an RPC that does not answer is `{ up: false }`. */
  ledger(network: string): Promise<LedgerState> {
    return this.cached(`ledger:${network}`, this.cacheMs, async () => {
      const { network: net } = this.network(network);
      try {
        const sequence = await net.latestLedger();
        // getLatestLedger has no close time in every RPC version; getLedgers reports it for the latest ledger.
        const page = await net.call("getLedgers", () => net.rpc._getLedgers({ startLedger: sequence, pagination: { limit: 1 } }));
        const closedAt = Number(page.latestLedgerCloseTime);
        const ageSeconds = Number.isFinite(closedAt) && closedAt > 0 ? Math.max(0, this.now() / 1000 - closedAt) : undefined;
        return { up: true, latestLedger: Math.max(sequence, Number(page.latestLedger) || 0), ...(ageSeconds === undefined ? {} : { ageSeconds }) };
      } catch {
        return { up: false };
      }
    });
  }

  balances(network: string): Promise<Balances> {
    return this.cached(`balances:${network}`, this.balanceCacheMs, async () => {
      const { network: net, fundPublicKey } = this.network(network);
      const { rows } = await this.deps.db.execute<{ public_key: string }>(
        sql`select public_key from channel_accounts where network = ${network} and disabled_at is null`,
      );
      const held = await accountBalances(net, [fundPublicKey, ...rows.map((r) => r.public_key)]);
      return {
        fundStroops: held.get(fundPublicKey) ?? null,
        fundThresholdStroops: this.deps.fundMinBalanceStroops,
        channelStroops: rows.flatMap((r) => (held.has(r.public_key) ? [held.get(r.public_key)!] : [])),
        channelThresholdStroops: this.deps.channelMinBalanceStroops,
      };
    });
  }

  networkFees(network: string): Promise<Readonly<Record<string, bigint>>> {
    return this.cached(`fees:${network}`, this.cacheMs, async () => {
      const { network: net } = this.network(network);
      const stats = await net.call("getFeeStats", () => net.rpc.getFeeStats());
      const fees = stats.sorobanInclusionFee as unknown as Record<string, string | undefined>;
      return Object.fromEntries(FEE_PERCENTILES.map((p) => [p, BigInt(fees[p] || "0")]));
    });
  }

  feeBids(): Promise<ReadonlyMap<string, FeeBids>> {
    return this.cached("bids", this.cacheMs, async () => {
      const { rows } = await this.deps.db.execute<{ network: string; p50: string; p90: string; max: string }>(sql`
        select p.network,
               (percentile_disc(0.5) within group (order by a.fee_bid_stroops))::text as p50,
               (percentile_disc(0.9) within group (order by a.fee_bid_stroops))::text as p90,
               max(a.fee_bid_stroops)::text as max
          from payment_attempts a join payments p on p.id = a.payment_id
         where a.created_at > now() - interval '15 minutes'
         group by p.network`);
      return new Map(rows.map((r) => [r.network, { p50: BigInt(r.p50), p90: BigInt(r.p90), max: BigInt(r.max) }]));
    });
  }

  tenantFees(): Promise<ReadonlyArray<{ tenant: string; stroops: bigint }>> {
    return this.cached("tenants", this.cacheMs, async () => {
      const { rows } = await this.deps.db.execute<{ tenant: string; stroops: string }>(sql`
        select t.name as tenant, coalesce(sum(k.fee_spent_stroops), 0)::text as stroops
          from tenants t join api_keys k on k.tenant_id = t.id
         group by t.name`);
      return rows.map((r) => ({ tenant: r.tenant, stroops: BigInt(r.stroops) }));
    });
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
    const answer = await network.call("getLedgerEntries", () => network.rpc.getLedgerEntries(...keys));
    for (const entry of answer.entries) {
      const account = entry.val.account();
      held.set(StrKey.encodeEd25519PublicKey(account.accountId().ed25519()), BigInt(account.balance().toString()));
    }
  }
  return held;
}
