import { Keypair } from "@stellar/stellar-sdk";
import type { NetworkConfig } from "@quay/config";
import type { Db } from "@quay/db";
import type { Metrics } from "@quay/metrics";
import { PoolAdmin } from "@quay/pool";
import type { StellarNetwork } from "@quay/stellar";
import type { NetworkVerifyContext, VerifierContext } from "@quay/x402";

export interface ServedNetwork {
  readonly config: NetworkConfig;
  readonly network: StellarNetwork;
}

/**
 * What verify needs to know of Quay itself: per network, its fund account and every channel
 * account (none may ever be a payer, a source or an auth address). The pool changes rarely, so
 * the address set is re-read from Postgres at most every `refreshMs`.
 */
export class VerifierContexts {
  private cached: { value: VerifierContext; until: number } | undefined;
  private loading: Promise<VerifierContext> | undefined;

  constructor(
    private readonly db: Db,
    private readonly served: readonly ServedNetwork[],
    private readonly metrics: Metrics,
    private readonly refreshMs = 10_000,
  ) {}

  async current(): Promise<VerifierContext> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.value;
    this.loading ??= this.load()
      .then((value) => {
        this.cached = { value, until: Date.now() + this.refreshMs };
        return value;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private async load(): Promise<VerifierContext> {
    const networks = new Map<string, NetworkVerifyContext>();
    for (const { config, network } of this.served) {
      const channelAccounts = await PoolAdmin.addresses({ db: this.db, network });
      networks.set(config.id, {
        network,
        quayAddresses: new Set([Keypair.fromSecret(config.fundSecret).publicKey(), ...channelAccounts]),
        assets: config.assets,
        maxFeeStroops: config.maxFeeStroops,
      });
    }
    return { metrics: this.metrics, networks };
  }
}
