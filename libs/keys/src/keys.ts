import { and, asc, eq, isNull, like, sql } from "drizzle-orm";
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

const listingColumns = {
  id: apiKeys.id,
  prefix: apiKeys.prefix,
  tenantId: apiKeys.tenantId,
  tenant: tenants.name,
  networks: apiKeys.networks,
  feeBudgetStroops: apiKeys.feeBudgetStroops,
  feeSpentStroops: apiKeys.feeSpentStroops,
  rateLimitPerMinute: apiKeys.rateLimitPerMinute,
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
  return { tenant, networks: validNetworks(input.networks), budget, rate };
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
  };
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

  /** Stroops the key may still spend on fees; null when it has no budget (unlimited). Never negative. */
  budgetLeft(key: Pick<AuthenticatedKey, "feeBudgetStroops" | "feeSpentStroops">): bigint | null {
    if (key.feeBudgetStroops === null) return null;
    const left = key.feeBudgetStroops - key.feeSpentStroops;
    return left > 0n ? left : 0n;
  },
};

