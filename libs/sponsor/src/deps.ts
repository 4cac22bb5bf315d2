import type { Db } from "@quay/db";
import type { Metrics } from "@quay/metrics";
import type { OutcomeWaiter, SettleQueue } from "@quay/settlement";
import type { StellarNetwork } from "@quay/stellar";

/** A network the Channels API serves. */
export interface SponsorNetwork {
  readonly network: StellarNetwork;
  /** The account that pays every fee bump: the simulation's source, as OZ simulates. */
  readonly fundPublicKey: string;
  /** The served assets' contracts: a key's allow-list when it has none of its own. */
  readonly assets: readonly string[];
  /** Ceiling on one fee bump's fee: what a key's fee limit is charged up front (then settled to what the ledger charged). */
  readonly maxFeeStroops: bigint;
}

export interface SponsorDeps {
  readonly db: Db;
  readonly queue: SettleQueue;
  readonly waiter: OutcomeWaiter;
  readonly metrics: Metrics;
  readonly networks: ReadonlyMap<string, SponsorNetwork>;
  /** Quay's own accounts on a network (fund and channel accounts): never an authoriser or a source of a sponsored call. */
  readonly quayAddresses: (network: string) => Promise<ReadonlySet<string>>;
  /** How long a submit waits for the outcome before WAIT_TIMEOUT. */
  readonly waitMs: number;
  readonly authExpiryBufferLedgers: number;
  readonly maxTimeBoundOffsetSeconds: number;
  /** The management actions' secret; unset, they answer MANAGEMENT_DISABLED. */
  readonly adminSecret?: string;
  /** Reported by the `stats` action. */
  readonly leaseSeconds: number;
}
