import { createHash } from "node:crypto";
import type { Receipt as MppxReceipt } from "mppx";
import { isMppErrorCode, StellarMppConfigError, StellarMppError } from "./errors.js";
import { Receipt } from "./receipt.js";

/**
 * The client of Quay's relayer API (the MPP server side of RELAY mode). Every answer is mapped to a
 * receipt/value or a StellarMppError carrying the relayer's mppx error code; transport failures and
 * 5xx are `temporarily_unavailable`; auth and bad-request answers are `unknown` (the payer cannot fix them).
 */

export interface RelayConfig {
  /** Base URL of Quay's API, e.g. https://quay.example.com (a path prefix is kept). */
  readonly relayerUrl: string;
  /** Bearer key issued by Quay. */
  readonly apiKey: string;
  readonly fetch?: typeof globalThis.fetch;
  /** Per-request deadline; default 60 s (a broadcast or a close waits for the ledger, up to Quay's SETTLE_WAIT_SECONDS). */
  readonly timeoutMs?: number;
}

/** The credential as the relayer takes it: the challenge with its request decoded. */
export interface RelayCredentialBody {
  readonly challenge: Record<string, unknown> & { readonly id: string; readonly request: Record<string, unknown> };
  readonly payload: unknown;
  readonly source?: string;
}

export interface RelayChannelState {
  readonly address: string;
  readonly network?: string;
  readonly funder?: string;
  readonly recipient?: string;
  readonly token?: string;
  readonly deposited?: string;
  readonly withdrawn?: string;
  readonly balance?: string;
  readonly highestAmount?: string;
  readonly status?: string;
  readonly closeEffectiveAtLedger?: number | null;
  readonly [extra: string]: unknown;
}

export interface RelayVoucherInput {
  /** The new cumulative amount. */
  readonly amount: string;
  readonly signature: string;
  readonly challengeId?: string;
  /** The increment this request costs. */
  readonly requested?: string;
}

export class RelayerClient {
  private readonly base: URL;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly timeoutMs: number;

  constructor(private readonly config: RelayConfig) {
    if (!config.apiKey) throw new StellarMppConfigError("relay.apiKey is required");
    let base: URL;
    try {
      base = new URL(config.relayerUrl);
    } catch {
      throw new StellarMppConfigError("relay.relayerUrl must be an absolute URL");
    }
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    this.base = base;
    this.fetchFn = config.fetch ?? globalThis.fetch;
    this.timeoutMs = config.timeoutMs ?? 60_000;
  }

  async chargeValidate(body: RelayCredentialBody): Promise<void> {
    await this.post("mpp/charge/validate", body);
  }

  async chargeBroadcast(body: RelayCredentialBody, idempotencyKey: string = RelayWire.idempotencyKey(body)): Promise<MppxReceipt.Receipt> {
    const answer = await this.post("mpp/charge/broadcast", body, { "idempotency-key": idempotencyKey });
    const receipt = Receipt.parse(answer.receipt);
    if (!receipt) throw new StellarMppError("unknown", "relayer_bad_answer", "the relayer's receipt is not a stellar receipt");
    return receipt;
  }

  async channelVoucher(channel: string, input: RelayVoucherInput): Promise<{ cumulative: string }> {
    const answer = await this.post(`mpp/channels/${encodeURIComponent(channel)}/vouchers`, input);
    const cumulative = answer.cumulative;
    if (typeof cumulative !== "string" || !/^\d+$/.test(cumulative)) {
      throw new StellarMppError("unknown", "relayer_bad_answer", "the relayer's voucher answer has no cumulative");
    }
    return { cumulative };
  }

  async channelState(channel: string): Promise<RelayChannelState> {
    const answer = await this.request("GET", `mpp/channels/${encodeURIComponent(channel)}`);
    if (typeof answer.address !== "string") throw new StellarMppError("unknown", "relayer_bad_answer", "the relayer's channel state has no address");
    return answer as RelayChannelState;
  }

  /** Registers a channel with the relayer (it reads the rest from the ledger); an already registered one is fine. */
  async channelRegister(input: { address: string; network: string; commitmentKey: string }): Promise<void> {
    try {
      await this.post("mpp/channels", input);
    } catch (error) {
      if (error instanceof StellarMppError && error.reason === "already_registered") return;
      throw error;
    }
  }

  /**
   * Asks the relayer to close with the highest voucher it holds and answers once the close
   * transaction is final (its hash in `txHash`); a close still pending when the relayer's wait runs
   * out is a StellarMppError `temporarily_unavailable` / `close_pending`, a failed one carries its reason.
   * `recipientAuth` is the recipient's signed SorobanAuthorizationEntry (base64).
   */
  async channelClose(channel: string, input: { recipientAuth?: string } = {}): Promise<Record<string, unknown>> {
    return this.post(`mpp/channels/${encodeURIComponent(channel)}/close`, input);
  }

  private post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    return this.request("POST", path, body, headers);
  }

  private async request(method: "GET" | "POST", path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await this.fetchFn(new URL(path, this.base), {
        method,
        headers: {
          accept: "application/json",
          authorization: `Bearer ${this.config.apiKey}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new StellarMppError("temporarily_unavailable", "relayer_unreachable", "the relayer could not be reached");
    }
    const json = await response.json().catch(() => undefined);
    if (response.status >= 500) {
      throw new StellarMppError("temporarily_unavailable", "relayer_unavailable", `the relayer answered HTTP ${response.status}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new StellarMppError("unknown", "relayer_auth", `the relayer refused this server's key (HTTP ${response.status})`);
    }
    if (!isRecord(json)) throw new StellarMppError("unknown", "relayer_bad_answer", `the relayer answered HTTP ${response.status} without JSON`);
    if (json.success === false) throw failureOf(json, response.status);
    if (!response.ok) {
      // Quay's channel refusals: {error: <code>, message, reason?}; the payer cannot fix them.
      const reason = typeof json.reason === "string" ? json.reason : typeof json.error === "string" ? json.error : "relayer_rejected_request";
      const message = typeof json.message === "string" && json.message !== "" ? json.message.slice(0, 300) : `the relayer answered HTTP ${response.status}`;
      throw new StellarMppError("unknown", reason, message);
    }
    if (method === "POST" && json.success !== true) throw new StellarMppError("unknown", "relayer_bad_answer", "the relayer's answer has no success flag");
    return json;
  }
}

export const RelayWire = {
  /** The body the relayer takes from an mppx credential (the challenge keeps its decoded request). */
  credentialBody(credential: { challenge: Record<string, unknown> & { id: string; request: Record<string, unknown> }; payload: unknown; source?: string | undefined }): RelayCredentialBody {
    return {
      challenge: credential.challenge,
      payload: credential.payload,
      ...(credential.source !== undefined ? { source: credential.source } : {}),
    };
  },
  /**
   * Same credential, same key (a retried broadcast is answered, not re-run); bound to the challenge too,
   * so one on-chain hash presented under two challenges is two requests (the relayer refuses the second).
   */
  idempotencyKey(body: RelayCredentialBody): string {
    return `mpp_${createHash("sha256").update(JSON.stringify([body.challenge.id, body.payload])).digest("hex")}`;
  },
} as const;

function failureOf(json: Record<string, unknown>, status: number): StellarMppError {
  const error = isRecord(json.error) ? json.error : {};
  const code = isMppErrorCode(error.code) ? error.code : "unknown";
  const message = typeof error.message === "string" && error.message !== "" ? error.message.slice(0, 300) : `the relayer refused the payment (${code})`;
  const reason = typeof error.reason === "string" ? error.reason : status >= 400 ? "relayer_rejected_request" : `relayer_${code}`;
  return new StellarMppError(code, reason, message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
