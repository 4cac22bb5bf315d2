/** What a run measures: configurations (ledger time × pool size), load levels, and how long each lasts. */
export interface Profile {
  readonly name: string;
  readonly ledgerMs: readonly number[];
  readonly poolSizes: readonly number[];
  /** Offered load as fractions of the pool's limit (N per ledger), rising. */
  readonly loads: readonly number[];
  /** Seconds of offered load per level, for a ledger time. */
  levelSeconds(ledgerMs: number): number;
  /** The first seconds of a level, not counted in its steady settled/s. */
  warmupSeconds(ledgerMs: number): number;
  readonly payers: number;
  readonly verifySamples: number;
}

export class UnknownProfile extends Error {
  override readonly name = "UnknownProfile";
  constructor(name: string) {
    super(`unknown profile "${name}": use smoke or full`);
  }
}

export const Profiles: Readonly<Record<string, Profile>> = {
  /** Seconds, not minutes: proves every part works (processes, payloads, load, audit, report). */
  smoke: {
    name: "smoke",
    ledgerMs: [1000],
    poolSizes: [1, 2],
    loads: [0.8, 1.5],
    levelSeconds: () => 6,
    warmupSeconds: () => 2,
    payers: 4,
    verifySamples: 20,
  },
  /**
   * The matrix, bounded to about 25 minutes on two cores: 3 levels (80 %, 100 %, 130 % of
   * the limit) of 4 ledgers at 5 s and 15 ledgers at 1 s (where a pool of 50 takes several ledgers
   * to settle into its rhythm), each after an unmeasured warm-up. Building the payloads (about
   * 6 000, both facilitators) is the other big share of the time.
   */
  full: {
    name: "full",
    ledgerMs: [5000, 1000],
    poolSizes: [1, 10, 50],
    loads: [0.8, 1.0, 1.3],
    levelSeconds: (ledgerMs) => (ledgerMs >= 5000 ? 20 : 15),
    warmupSeconds: (ledgerMs) => (ledgerMs >= 5000 ? 5 : 2),
    payers: 32,
    verifySamples: 200,
  },
};

export function profileNamed(name: string): Profile {
  const profile = Profiles[name];
  if (!profile) throw new UnknownProfile(name);
  return profile;
}

export class BadProfileOverride extends Error {
  override readonly name = "BadProfileOverride";
}

/** "1,10,50" as numbers, each checked by `valid`; a clear error naming the flag otherwise. */
function list(flag: string, raw: string, valid: (n: number) => boolean, expected: string): number[] {
  const values = raw.split(",").map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || !valid(v))) {
    throw new BadProfileOverride(`--${flag} must be a comma-separated list of ${expected}, got "${raw}"`);
  }
  return values;
}

/** A profile with some of its matrix replaced from the command line (e.g. one configuration of the full profile). */
export function withOverrides(profile: Profile, overrides: { ledgerMs?: string; poolSizes?: string; loads?: string }): Profile {
  return {
    ...profile,
    ...(overrides.ledgerMs ? { ledgerMs: list("ledger-ms", overrides.ledgerMs, (n) => Number.isInteger(n) && n >= 100, "whole milliseconds ≥ 100") } : {}),
    ...(overrides.poolSizes ? { poolSizes: list("pool-sizes", overrides.poolSizes, (n) => Number.isInteger(n) && n >= 1 && n <= 100, "whole numbers from 1 to 100") } : {}),
    ...(overrides.loads
      ? { loads: list("loads", overrides.loads, (n) => n > 0 && n <= 5, "fractions of the limit in (0, 5]").sort((a, b) => a - b) }
      : {}),
  };
}
