/** What the MPP part measures, and for how long (a few minutes at most). */
export interface MppProfile {
  readonly name: string;
  readonly ledgerMs: number;
  /** Channels opened per path (relay, mppx local, mppx relay): the number of vouchers in flight at most. */
  readonly channelsPerSet: number;
  /** Offered vouchers per second, rising; the same for every path. */
  readonly voucherRates: readonly number[];
  /** Seconds per level straight through Quay's relayer API (the headline path). */
  readonly relaySeconds: number;
  /** Seconds per level through the mppx servers (each voucher needs a challenge fetched beforehand). */
  readonly mppxSeconds: number;
  /** The restart phase: vouchers through the relay while the api is killed and started again. */
  readonly restart: { readonly perSecond: number; readonly seconds: number; readonly killAtSeconds: number };
  /** Sponsored charges through an mppx server in relay mode: a pool of N, loads as fractions of N per ledger. */
  readonly charges: { readonly poolSize: number; readonly loads: readonly number[]; readonly seconds: number; readonly payers: number };
}

/** The MPP target on a 2-core machine: vouchers per second sustained through the relay, and their p99. */
export const MPP_TARGET = { vouchersPerSecond: 2_000, p99Ms: 25 } as const;

export const MppProfiles: Readonly<Record<"full" | "smoke", MppProfile>> = {
  full: {
    name: "mpp",
    ledgerMs: 1000,
    channelsPerSet: 32,
    voucherRates: [100, 250, 500, 1000, 2000],
    relaySeconds: 12,
    mppxSeconds: 5,
    restart: { perSecond: 1000, seconds: 12, killAtSeconds: 4 },
    charges: { poolSize: 4, loads: [0.8, 1.2], seconds: 10, payers: 8 },
  },
  smoke: {
    name: "mpp-smoke",
    ledgerMs: 1000,
    channelsPerSet: 8,
    voucherRates: [200, 500],
    relaySeconds: 3,
    mppxSeconds: 2,
    restart: { perSecond: 300, seconds: 8, killAtSeconds: 2 },
    charges: { poolSize: 2, loads: [1], seconds: 4, payers: 4 },
  },
};

/** The MPP profile for a run's profile name (smoke → the short one; anything else → the full one). */
export function mppProfileFor(profileName: string): MppProfile {
  return profileName === "smoke" ? MppProfiles.smoke : MppProfiles.full;
}
