import { StellarMppConfigError } from "./errors.js";
import type { RelayConfig } from "./relay-client.js";

/**
 * Quay as the fee payer, the way mppx's Tempo method takes a fee-payer service: `feePayer` is
 * Quay's URL, or `{ url, apiKey | headers: { authorization: "Bearer …" }, fetch? }`. With a bare
 * URL the key comes from `QUAY_API_KEY`. With no `feePayer` at all, `QUAY_URL` (and
 * `QUAY_API_KEY`) in the environment select Quay, as `MPP_SECRET_KEY` configures mppx, so code
 * written for @stellar/mpp runs against a Quay unchanged. Secrets are never echoed in errors.
 */
export type QuayFeePayer =
  | string
  | {
      readonly url: string;
      readonly apiKey?: string;
      readonly headers?: Readonly<Record<string, string>>;
      readonly fetch?: typeof globalThis.fetch;
      readonly timeoutMs?: number;
    };

export const Quay = {
  /** Whether `feePayer` names Quay (a URL) rather than local signers. */
  isFeePayer(value: unknown): value is QuayFeePayer {
    return typeof value === "string" || (typeof value === "object" && value !== null && typeof (value as { url?: unknown }).url === "string");
  },

  /** The relay configuration for a Quay fee payer (explicit, else from QUAY_URL / QUAY_API_KEY); undefined when none. */
  relay(feePayer: unknown, env: Readonly<Record<string, string | undefined>> = process.env): RelayConfig | undefined {
    const given = Quay.isFeePayer(feePayer) ? feePayer : feePayer === undefined && env.QUAY_URL ? env.QUAY_URL : undefined;
    if (given === undefined) return undefined;
    const options = typeof given === "string" ? { url: given } : given;
    const bearer = options.headers?.authorization ?? options.headers?.Authorization;
    const apiKey = options.apiKey ?? (bearer?.startsWith("Bearer ") ? bearer.slice(7) : undefined) ?? env.QUAY_API_KEY;
    if (!apiKey) throw new StellarMppConfigError("Quay as fee payer needs its API key: feePayer.apiKey, an authorization header, or QUAY_API_KEY");
    return {
      relayerUrl: options.url,
      apiKey,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    };
  },

  /** The RPC to use: given, else STELLAR_RPC_URL, else the network's default (undefined). */
  rpcUrl(given: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
    return given ?? (env.STELLAR_RPC_URL || undefined);
  },
} as const;
