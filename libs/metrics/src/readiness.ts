import { probe } from "@quay/health";
import { StellarNetwork } from "@quay/stellar";
import type { SystemState } from "./system";

/** One part of /readyz: whether it is ready, how long the check took, and what it saw. */
export interface ReadinessComponent {
  readonly ok: boolean;
  readonly latencyMs: number;
  /** A short code (e.g. stale_ledger, fund_balance_low), never a message that could carry a secret. */
  readonly error?: string;
  readonly detail?: Readonly<Record<string, string | number>>;
}

export interface ReadinessReport {
  readonly ok: boolean;
  readonly components: Readonly<Record<string, ReadinessComponent>>;
}

export interface ReadinessDeps {
  readonly state: SystemState;
  readonly postgres: { query(text: string): Promise<unknown> };
  readonly redis: { ping(): Promise<unknown> };
  readonly maxLedgerAgeSeconds: number;
  readonly timeoutMs?: number;
  /** Whether the network's fund account is over-committed now (the worker's engine knows). */
  readonly fundOvercommitted?: (network: string) => boolean;
}

/** A check that ran and found the part not ready. */
class NotReady extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

type Detail = Record<string, string | number>;

/**
 * /readyz: can this process do its work now? Postgres and Redis answer; for each network, the
 * RPC answers with a ledger closed less than READY_MAX_LEDGER_AGE_SECONDS ago, the fund account
 * holds at least FUND_MIN_BALANCE_STROOPS, and a channel account is free. Every part is
 * reported, ready or not, so an operator sees all that is wrong at once.
 */
export const Readiness = {
  async check(deps: ReadinessDeps): Promise<ReadinessReport> {
    const checks: Record<string, () => Promise<Detail | undefined>> = {
      postgres: async () => void (await deps.postgres.query("select 1")),
      redis: async () => void (await deps.redis.ping()),
    };
    for (const network of deps.state.networks()) {
      checks[`rpc:${network}`] = async () => {
        const ledger = await deps.state.ledger(network);
        if (!ledger.up) throw new NotReady("rpc_unavailable");
        const detail: Detail = {
          latestLedger: ledger.latestLedger ?? 0,
          ageSeconds: round(ledger.ageSeconds ?? Number.NaN),
          protocolVersion: ledger.protocolVersion ?? 0,
        };
        if (ledger.protocolVersion !== undefined && !StellarNetwork.knowsProtocol(ledger.protocolVersion)) {
          throw withDetail(new NotReady("unsupported_protocol"), detail);
        }
        if (ledger.ageSeconds === undefined || ledger.ageSeconds > deps.maxLedgerAgeSeconds) throw withDetail(new NotReady("stale_ledger"), detail);
        return detail;
      };
      checks[`fund:${network}`] = async () => {
        const { fundStroops, fundThresholdStroops } = await deps.state.balances(network);
        if (fundStroops === null) throw new NotReady("fund_account_missing");
        const detail: Detail = { balanceStroops: fundStroops.toString(), thresholdStroops: fundThresholdStroops.toString() };
        if (fundStroops < fundThresholdStroops) throw withDetail(new NotReady("fund_balance_low"), detail);
        if (deps.fundOvercommitted?.(network)) throw withDetail(new NotReady("fund_overcommitted"), detail);
        return detail;
      };
      checks[`pool:${network}`] = async () => {
        const counts = (await deps.state.poolCounts()).get(network) ?? { free: 0, leased: 0, disabled: 0 };
        const detail: Detail = { ...counts };
        if (counts.free === 0) throw withDetail(new NotReady("no_free_channel_account"), detail);
        return detail;
      };
    }

    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => run(checks[name]!, deps.timeoutMs)));
    return { ok: results.every((r) => r.ok), components: Object.fromEntries(names.map((name, i) => [name, results[i]!])) };
  },
};

async function run(check: () => Promise<Detail | undefined>, timeoutMs = 3_000): Promise<ReadinessComponent> {
  let detail: Detail | undefined;
  const health = await probe(async () => {
    try {
      detail = await check();
    } catch (error) {
      detail = (error as { detail?: Detail }).detail;
      throw error;
    }
  }, timeoutMs);
  return { ...health, ...(detail ? { detail } : {}) };
}

function withDetail(error: NotReady, detail: Detail): NotReady {
  return Object.assign(error, { detail });
}

function round(seconds: number): number {
  return Number.isFinite(seconds) ? Math.round(seconds * 10) / 10 : -1;
}
