import { StrKey } from "@stellar/stellar-sdk";
import { and, asc, eq, isNotNull, isNull, like, sql } from "drizzle-orm";
import { Config, type NetworkId } from "@quay/config";
import { schema, type Db, type DbLike } from "@quay/db";
import { AmbiguousApiKeyError, ApiKeyInputError, UnknownApiKeyError } from "./errors";
import { KeySecret } from "./secret";

const { apiKeys, tenants } = schema;

export interface CreateKeyInput {
  /** The tenant's name; the tenant is created if it does not exist yet. */
  readonly tenant: string;
  /** Networks the key may be used on; a request for any other network is refused. */
  readonly networks: readonly string[];
  /** Ceiling on the fees Quay pays on the key's behalf, in stroops; absent means no ceiling. */
  readonly feeBudgetStroops?: bigint;
  /** Requests per minute; absent means the api's default (RATE_LIMIT_PER_MINUTE). */
  readonly rateLimitPerMinute?: number;
  /** Contracts the Channels API may sponsor calls to for this key; absent means the network's served assets only. */
  readonly allowedContracts?: readonly string[];
  /** The share (1-100 %) of the channel accounts one contract's calls of this key may hold at once; absent: no limit. */
  readonly contractCapacityPercent?: number;
  /** The fee budget renews every this many seconds; absent: it is for the key's life. */
  readonly feeResetPeriodSeconds?: number;
}

export interface CreatedKey {
  readonly id: string;
  /** The bearer secret. Returned here once and never again: only its hash is stored. */
  readonly key: string;
  readonly prefix: string;
  readonly tenantId: string;
}

/** A key that authenticated: what a request is allowed to do on its tenant's behalf. */
export interface AuthenticatedKey {
  readonly id: string;
  readonly prefix: string;
  readonly tenantId: string;
  readonly tenant: string;
  readonly networks: readonly NetworkId[];
  readonly feeBudgetStroops: bigint | null;
  readonly feeSpentStroops: bigint;
  readonly rateLimitPerMinute: number | null;
  /** Null: the served assets' contracts only. */
  readonly allowedContracts: readonly string[] | null;
  readonly contractCapacityPercent: number | null;
  readonly feeResetPeriodSeconds: number | null;
  readonly feePeriodStartedAt: Date | null;
}

/** A key's fee budget as the Channels API's management actions show it (OZ's `getFeeUsage`). */
export interface FeeUsage {
  /** Fees charged in the current period (stroops). */
  readonly consumed: bigint;
  /** Reserved by submissions in flight: the most they may still cost. */
  readonly reserved: bigint;
  readonly limit: bigint | null;
  readonly remaining: bigint | null;
  readonly periodStartAt: Date | null;
  readonly periodEndsAt: Date | null;
}

export type AuthFailure = "malformed" | "unknown" | "revoked";

export type AuthResult = { readonly ok: true; readonly key: AuthenticatedKey } | { readonly ok: false; readonly reason: AuthFailure };

/** One row of a listing: everything about a key except the key and its hash. */
export interface KeyListing extends AuthenticatedKey {
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

export interface RevokedKey {
  readonly id: string;
  readonly prefix: string;
  readonly tenant: string;
  readonly revokedAt: Date;
  /** It had been revoked before this call; the original time is kept. */
  readonly alreadyRevoked: boolean;
}

const TENANT_NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._@-]{0,99}$/u;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Far above any sane setting; catches a typo'd extra digits before it becomes "unlimited". */
const MAX_RATE_LIMIT_PER_MINUTE = 1_000_000;
/** bigint column: a budget must fit in it. */
const MAX_STROOPS = 2n ** 63n - 1n;
const MAX_INT32 = 2 ** 31 - 1;

const listingColumns = {
  id: apiKeys.id,
  prefix: apiKeys.prefix,
  tenantId: apiKeys.tenantId,
  tenant: tenants.name,
  networks: apiKeys.networks,
  feeBudgetStroops: apiKeys.feeBudgetStroops,
  feeSpentStroops: apiKeys.feeSpentStroops,
  rateLimitPerMinute: apiKeys.rateLimitPerMinute,
  allowedContracts: apiKeys.allowedContracts,
  contractCapacityPercent: apiKeys.contractCapacityPercent,
  feeResetPeriodSeconds: apiKeys.feeResetPeriodSeconds,
  feePeriodStartedAt: apiKeys.feePeriodStartedAt,
  createdAt: apiKeys.createdAt,
  revokedAt: apiKeys.revokedAt,
};

function validNetworks(networks: readonly string[]): NetworkId[] {
  const known: readonly string[] = Config.networkIds();
  const unique = [...new Set(networks.map((n) => n.trim()).filter(Boolean))];
  if (unique.length === 0) throw new ApiKeyInputError("networks", `a key needs at least one network (${known.join(", ")})`);
  for (const network of unique) {
    if (!known.includes(network)) throw new ApiKeyInputError("networks", `unknown network "${network}" (known: ${known.join(", ")})`);
  }
  return unique as NetworkId[];
}

function validate(input: CreateKeyInput) {
  const tenant = input.tenant.trim();
  if (!TENANT_NAME.test(tenant)) {
    throw new ApiKeyInputError("tenant", "a tenant name is 1 to 100 letters, digits, spaces or . _ @ -, starting with a letter or digit");
  }
  const budget = input.feeBudgetStroops;
  if (budget !== undefined && (budget < 0n || budget > MAX_STROOPS)) {
    throw new ApiKeyInputError("feeBudgetStroops", "the fee budget must be a whole number of stroops, 0 or more");
  }
  const rate = input.rateLimitPerMinute;
  if (rate !== undefined && !(Number.isInteger(rate) && rate >= 1 && rate <= MAX_RATE_LIMIT_PER_MINUTE)) {
    throw new ApiKeyInputError("rateLimitPerMinute", `the rate limit must be a whole number of requests per minute, 1 to ${MAX_RATE_LIMIT_PER_MINUTE}`);
  }
  const contracts = input.allowedContracts === undefined ? undefined : [...new Set(input.allowedContracts.map((c) => c.trim()))];
  for (const contract of contracts ?? []) {
    if (!StrKey.isValidContract(contract)) throw new ApiKeyInputError("allowedContracts", `"${contract.slice(0, 64)}" is not a contract address (C...)`);
  }
  const share = input.contractCapacityPercent;
  if (share !== undefined && !(Number.isInteger(share) && share >= 1 && share <= 100)) {
    throw new ApiKeyInputError("contractCapacityPercent", "the contract capacity share is a whole percentage, 1 to 100");
  }
  const period = input.feeResetPeriodSeconds;
  if (period !== undefined && !(Number.isInteger(period) && period >= 1 && period <= MAX_INT32)) {
    throw new ApiKeyInputError("feeResetPeriodSeconds", "the fee reset period is a whole number of seconds, 1 or more");
  }
  return { tenant, networks: validNetworks(input.networks), budget, rate, contracts, share, period };
}

type ListingRow = Omit<KeyListing, "networks"> & { readonly networks: readonly string[] };

/** Rows only ever hold networks that `create` validated against the known ids. */
function toAuthenticated(row: ListingRow): AuthenticatedKey {
  return {
    id: row.id,
    prefix: row.prefix,
    tenantId: row.tenantId,
    tenant: row.tenant,
    networks: row.networks as NetworkId[],
    feeBudgetStroops: row.feeBudgetStroops,
    feeSpentStroops: row.feeSpentStroops,
    rateLimitPerMinute: row.rateLimitPerMinute,
    allowedContracts: row.allowedContracts,
    contractCapacityPercent: row.contractCapacityPercent,
    feeResetPeriodSeconds: row.feeResetPeriodSeconds,
    feePeriodStartedAt: row.feePeriodStartedAt,
  };
}

/** Whether the key's fee period has run out, so what it spent no longer counts. */
function periodOver(key: Partial<Pick<AuthenticatedKey, "feeResetPeriodSeconds" | "feePeriodStartedAt">>, now: number): boolean {
  const { feeResetPeriodSeconds: period, feePeriodStartedAt: start } = key;
  return period != null && start != null && start.getTime() + period * 1000 <= now;
}

/** Tenants' bearer keys: issuing, checking, listing, revoking, and the fee budget each one carries. */
export const ApiKeys = {
  async create(db: Db, input: CreateKeyInput): Promise<CreatedKey> {
    const valid = validate(input);
    const key = KeySecret.generate();
    const prefix = KeySecret.prefix(key);
    return db.transaction(async (tx) => {
      await tx.insert(tenants).values({ name: valid.tenant }).onConflictDoNothing({ target: tenants.name });
      const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, valid.tenant));
      const [row] = await tx
        .insert(apiKeys)
        .values({
          tenantId: tenant!.id,
          keyHash: KeySecret.hash(key),
          prefix,
          networks: valid.networks,
          feeBudgetStroops: valid.budget ?? null,
          rateLimitPerMinute: valid.rate ?? null,
          allowedContracts: valid.contracts ?? null,
          contractCapacityPercent: valid.share ?? null,
          feeResetPeriodSeconds: valid.period ?? null,
        })
        .returning({ id: apiKeys.id });
      return { id: row!.id, key, prefix, tenantId: tenant!.id };
    });
  },

  /**
   * Checks a presented bearer secret. The lookup is by hash (unique index); the stored hash is
   * compared again in constant time so the answer never depends on how much of a hash matched.
   */
  async authenticate(db: DbLike, presented: string): Promise<AuthResult> {
    if (!KeySecret.isWellFormed(presented)) return { ok: false, reason: "malformed" };
    const hash = KeySecret.hash(presented);
    const [row] = await db
      .select({ ...listingColumns, keyHash: apiKeys.keyHash })
      .from(apiKeys)
      .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
      .where(eq(apiKeys.keyHash, hash));
    if (!row || !KeySecret.hashesEqual(row.keyHash, hash)) return { ok: false, reason: "unknown" };
    if (row.revokedAt !== null) return { ok: false, reason: "revoked" };
    return { ok: true, key: toAuthenticated(row) };
  },

  async list(db: DbLike): Promise<KeyListing[]> {
    const rows = await db
      .select(listingColumns)
      .from(apiKeys)
      .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
      .orderBy(asc(tenants.name), asc(apiKeys.createdAt));
    return rows.map((row) => ({ ...toAuthenticated(row), createdAt: row.createdAt, revokedAt: row.revokedAt }));
  },

  /** Revokes by id, or by the prefix a listing shows (when only one key has it). Revoking twice keeps the first time. */
  async revoke(db: Db, idOrPrefix: string): Promise<RevokedKey> {
    const reference = idOrPrefix.trim();
    if (reference.length < 4) throw new UnknownApiKeyError(reference);
    const match = UUID.test(reference)
      ? eq(apiKeys.id, reference)
      : like(apiKeys.prefix, `${reference.replace(/[\\%_]/g, "\\$&")}%`);
    return db.transaction(async (tx) => {
      const found = await tx.select({ id: apiKeys.id }).from(apiKeys).where(match).for("update");
      if (found.length === 0) throw new UnknownApiKeyError(reference);
      if (found.length > 1) throw new AmbiguousApiKeyError(reference, found.map((f) => f.id));
      const id = found[0]!.id;
      const [before] = await tx.select({ revokedAt: apiKeys.revokedAt }).from(apiKeys).where(eq(apiKeys.id, id));
      await tx.update(apiKeys).set({ revokedAt: sql`now()` }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
      const [row] = await tx
        .select({ id: apiKeys.id, prefix: apiKeys.prefix, tenant: tenants.name, revokedAt: apiKeys.revokedAt })
        .from(apiKeys)
        .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
        .where(eq(apiKeys.id, id));
      return { ...row!, revokedAt: row!.revokedAt!, alreadyRevoked: before!.revokedAt !== null };
    });
  },

  /**
   * What the key's budget has left right now, read from the database (not a cached key): budget
   * minus spent (this period's) minus what submissions in flight have reserved. Null when it has
   * no budget; never negative.
   */
  async budgetLeftNow(db: DbLike, id: string): Promise<bigint | null> {
    const usage = await ApiKeys.feeUsage(db, id);
    if (!usage || usage.limit === null) return null;
    const left = usage.limit - usage.consumed - usage.reserved;
    return left > 0n ? left : 0n;
  },

  /** Fees each tenant's keys have spent, in stroops, for every tenant with a key: what the state gauges report. */
  async feesSpentByTenant(db: DbLike): Promise<Array<{ tenant: string; stroops: bigint }>> {
    const rows = await db
      .select({ tenant: tenants.name, stroops: sql<string>`coalesce(sum(${apiKeys.feeSpentStroops}), 0)::text` })
      .from(tenants)
      .innerJoin(apiKeys, eq(apiKeys.tenantId, tenants.id))
      .groupBy(tenants.name);
    return rows.map((r) => ({ tenant: r.tenant, stroops: BigInt(r.stroops) }));
  },

  /** Stroops the key may still spend on fees; null when it has no budget (unlimited). Never negative. */
  budgetLeft(key: Pick<AuthenticatedKey, "feeBudgetStroops" | "feeSpentStroops"> & Partial<Pick<AuthenticatedKey, "feeResetPeriodSeconds" | "feePeriodStartedAt">>): bigint | null {
    if (key.feeBudgetStroops === null) return null;
    const left = key.feeBudgetStroops - (periodOver(key, Date.now()) ? 0n : key.feeSpentStroops);
    return left > 0n ? left : 0n;
  },

  /** The key's fee budget and use; undefined for an unknown id. */
  async feeUsage(db: DbLike, id: string): Promise<FeeUsage | undefined> {
    const [row] = await db
      .select({
        limit: apiKeys.feeBudgetStroops,
        spent: apiKeys.feeSpentStroops,
        reserved: apiKeys.feeReservedStroops,
        feeResetPeriodSeconds: apiKeys.feeResetPeriodSeconds,
        feePeriodStartedAt: apiKeys.feePeriodStartedAt,
      })
      .from(apiKeys)
      .where(eq(apiKeys.id, id));
    if (!row) return undefined;
    const over = periodOver(row, Date.now());
    const consumed = over ? 0n : row.spent;
    const left = row.limit === null ? null : row.limit - consumed - row.reserved;
    const start = over ? null : row.feePeriodStartedAt;
    return {
      consumed,
      reserved: row.reserved,
      limit: row.limit,
      remaining: left === null ? null : left > 0n ? left : 0n,
      periodStartAt: start,
      periodEndsAt: start && row.feeResetPeriodSeconds !== null ? new Date(start.getTime() + row.feeResetPeriodSeconds * 1000) : null,
    };
  },

  /**
   * Starts the key's fee period if it has none running: the first use of a key with a reset
   * period starts it, and a use after it ran out starts the next one with nothing spent. Run in
   * the transaction that reserves fees, before the reservation.
   */
  async startFeePeriod(db: DbLike, id: string): Promise<void> {
    const ended = sql`(${apiKeys.feePeriodStartedAt} is null or ${apiKeys.feePeriodStartedAt} + make_interval(secs => ${apiKeys.feeResetPeriodSeconds}) <= now())`;
    await db
      .update(apiKeys)
      .set({
        feeSpentStroops: sql`case when ${apiKeys.feePeriodStartedAt} is null then ${apiKeys.feeSpentStroops} else 0 end`,
        feePeriodStartedAt: sql`now()`,
      })
      .where(and(eq(apiKeys.id, id), isNotNull(apiKeys.feeResetPeriodSeconds), ended));
  },

  /** Sets the key's fee budget (null: none). False for an unknown id. */
  async setFeeLimit(db: DbLike, id: string, limit: bigint | null): Promise<boolean> {
    if (limit !== null && (limit < 0n || limit > MAX_STROOPS)) throw new ApiKeyInputError("feeBudgetStroops", "the fee budget must be a whole number of stroops, 0 or more");
    const rows = await db.update(apiKeys).set({ feeBudgetStroops: limit }).where(eq(apiKeys.id, id)).returning({ id: apiKeys.id });
    return rows.length > 0;
  },
};
