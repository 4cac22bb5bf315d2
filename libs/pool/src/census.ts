import { and, eq, gte, isNotNull, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import { schema, type Db } from "@quay/db";

const { channelAccounts } = schema;

/** Channel accounts by state: free to lease, leased now, taken out of service. */
export interface PoolCounts {
  readonly free: number;
  readonly leased: number;
  readonly disabled: number;
}

const enabled = isNull(channelAccounts.disabledAt);
/** In service and not leased now (never leased, or its lease expired). */
export const isFreeToLease = and(enabled, or(isNull(channelAccounts.leaseExpiresAt), lt(channelAccounts.leaseExpiresAt, sql`now()`)));
const countWhere = (condition: SQL | undefined) => sql<number>`(count(*) filter (where ${condition}))::int`;

/** The three counts as select columns, one definition for the lease code and for monitoring. */
export const POOL_COUNT_COLUMNS = {
  free: countWhere(isFreeToLease),
  leased: countWhere(and(enabled, gte(channelAccounts.leaseExpiresAt, sql`now()`))),
  disabled: countWhere(isNotNull(channelAccounts.disabledAt)),
};

/** What monitoring reads of the pool (the state gauges, /readyz): the pool's own reads of its table. */
export const PoolCensus = {
  /** Every network's counts, in one statement; a network without accounts is absent. */
  async countsByNetwork(db: Db): Promise<Map<string, PoolCounts>> {
    const rows = await db
      .select({ network: channelAccounts.network, ...POOL_COUNT_COLUMNS })
      .from(channelAccounts)
      .groupBy(channelAccounts.network);
    return new Map(rows.map(({ network, ...counts }) => [network, counts]));
  },

  /** Public keys of the network's accounts in service (leased or free): those whose balances matter. */
  async enabledAccounts(db: Db, network: string): Promise<string[]> {
    const rows = await db
      .select({ publicKey: channelAccounts.publicKey })
      .from(channelAccounts)
      .where(and(eq(channelAccounts.network, network), enabled));
    return rows.map((r) => r.publicKey);
  },
};
