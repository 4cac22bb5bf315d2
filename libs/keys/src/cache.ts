import type { DbLike } from "@quay/db";
import { ApiKeys, type AuthResult } from "./keys";
import { KeySecret } from "./secret";

export interface CachedAuthenticatorOptions {
  /**
   * How long an answer is reused. This is also the bound on how late a revocation, or a fee
   * budget running out, takes effect in a running api: at most this long after the database says so.
   */
  readonly ttlMs?: number;
  /** Entries kept; the oldest go first. Bounds memory under a flood of made-up keys. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export const DEFAULT_AUTH_CACHE_TTL_MS = 5_000;
const DEFAULT_MAX_ENTRIES = 10_000;

interface Entry {
  readonly expiresAt: number;
  readonly result: Promise<AuthResult>;
}

/**
 * `ApiKeys.authenticate` with a short in-process memory, so a busy key costs one database read
 * every few seconds instead of one per request. Entries are keyed by the key's hash, never the key;
 * concurrent requests with the same key share one lookup, and a failed lookup is not remembered.
 */
export class CachedAuthenticator {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly db: DbLike,
    options: CachedAuthenticatorOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_AUTH_CACHE_TTL_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.now = options.now ?? Date.now;
  }

  authenticate(presented: string): Promise<AuthResult> {
    if (!KeySecret.isWellFormed(presented)) return Promise.resolve({ ok: false, reason: "malformed" });
    if (this.ttlMs <= 0) return ApiKeys.authenticate(this.db, presented);
    const hash = KeySecret.hash(presented);
    const now = this.now();
    const cached = this.entries.get(hash);
    if (cached && cached.expiresAt > now) return cached.result;
    if (cached) this.entries.delete(hash);
    const result = ApiKeys.authenticate(this.db, presented);
    result.catch(() => {
      if (this.entries.get(hash)?.result === result) this.entries.delete(hash);
    });
    this.entries.set(hash, { expiresAt: now + this.ttlMs, result });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return result;
  }

  /** Forgets every answer (after a revocation made in this process, for instance). */
  clear(): void {
    this.entries.clear();
  }
}
