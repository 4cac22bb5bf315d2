import { createHash, timingSafeEqual } from "node:crypto";
import { ApiKeys } from "@quay/keys";
import { PoolAdmin } from "@quay/pool";
import { MIN_INCLUSION_FEE } from "@quay/stellar";
import { ChannelsApiError } from "./errors";
import type { SponsorDeps, SponsorNetwork } from "./deps";
import { stroops } from "./submit";

/**
 * `{management: {action, adminSecret, ...}}`: OZ's operator actions, answered from Quay's own
 * state. Fee limits are Quay's per-key fee budgets (`apiKey` in the body is the key itself, found
 * by its hash); the channel accounts are Quay's pool, listed by public key and managed with
 * `quay pool`, so `setChannelAccounts` is refused.
 */
export async function manage(
  deps: SponsorDeps,
  net: SponsorNetwork,
  request: { readonly action: string; readonly adminSecret: unknown; readonly payload: Readonly<Record<string, unknown>> },
): Promise<unknown> {
  if (deps.adminSecret === undefined) throw new ChannelsApiError("MANAGEMENT_DISABLED", "management is disabled: set CHANNELS_ADMIN_SECRET to enable it");
  if (typeof request.adminSecret !== "string" || !sameSecret(request.adminSecret, deps.adminSecret)) {
    throw new ChannelsApiError("UNAUTHORIZED", "wrong adminSecret");
  }
  const { payload } = request;
  switch (request.action) {
    case "listChannelAccounts":
      return { relayerIds: await PoolAdmin.addresses({ db: deps.db, network: net.network }) };
    case "setChannelAccounts":
      throw new ChannelsApiError("INVALID_ACTION", "Quay's channel accounts are its own keys: manage them with `quay pool create|drain|enable`");
    case "getFeeUsage": {
      const usage = await ApiKeys.feeUsage(deps.db, await keyId(deps, payload));
      return {
        consumed: stroops(usage!.consumed),
        ...(usage!.limit !== null ? { limit: stroops(usage!.limit), remaining: stroops(usage!.remaining!) } : {}),
        ...(usage!.periodStartAt ? { periodStartAt: usage!.periodStartAt.toISOString() } : {}),
        ...(usage!.periodEndsAt ? { periodEndsAt: usage!.periodEndsAt.toISOString() } : {}),
      };
    }
    case "getFeeLimit": {
      const usage = await ApiKeys.feeUsage(deps.db, await keyId(deps, payload));
      return usage!.limit === null ? {} : { limit: stroops(usage!.limit) };
    }
    case "setFeeLimit": {
      const id = await keyId(deps, payload);
      const limit = payload.limit;
      if (typeof limit !== "number" || !Number.isFinite(limit) || limit < 0 || limit > Number.MAX_SAFE_INTEGER) {
        throw new ChannelsApiError("INVALID_PAYLOAD", "limit must be a finite number of stroops, 0 or more");
      }
      const floored = BigInt(Math.floor(limit));
      await ApiKeys.setFeeLimit(deps.db, id, floored);
      return { ok: true, limit: stroops(floored) };
    }
    case "deleteFeeLimit":
      await ApiKeys.setFeeLimit(deps.db, await keyId(deps, payload), null);
      return { ok: true };
    case "stats": {
      const { size, leased } = await PoolAdmin.occupancy({ db: deps.db, network: net.network });
      return {
        pool: { size, locked: leased, available: size - leased },
        config: { network: net.network.id, lockTtlSeconds: deps.leaseSeconds, contractCapacityRatio: 1, limitedContracts: [] },
        fees: { inclusionFeeDefault: stroops(MIN_INCLUSION_FEE), inclusionFeeLimited: stroops(MIN_INCLUSION_FEE) },
      };
    }
    default:
      throw new ChannelsApiError("INVALID_ACTION", `unknown management action ${JSON.stringify(request.action.slice(0, 64))}`);
  }
}

/** Compared as hashes, so the time taken says nothing of how much of the secret matched. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}

async function keyId(deps: SponsorDeps, payload: Readonly<Record<string, unknown>>): Promise<string> {
  if (typeof payload.apiKey !== "string" || payload.apiKey === "") throw new ChannelsApiError("INVALID_PAYLOAD", "apiKey must be a Quay API key");
  const result = await ApiKeys.authenticate(deps.db, payload.apiKey);
  if (!result.ok) throw new ChannelsApiError("INVALID_PAYLOAD", "apiKey is not an active Quay API key");
  return result.key.id;
}
