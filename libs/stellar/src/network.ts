import { Account, Keypair, rpc, xdr, type FeeBumpTransaction, type Transaction } from "@stellar/stellar-sdk";
import type { NetworkConfig } from "@quay/config";
import type { Metrics } from "@quay/metrics";
import { JsonRpcAnswerError, JsonRpcClient, JsonRpcHttpError, JsonRpcMalformedError, JsonRpcTimeoutError } from "./jsonrpc";

/**
 * One configured Stellar network as Quay talks to it: its RPC server (the only host Quay ever
 * calls for it; no Horizon), its passphrase, and a few cached facts (latest ledger, ledger close
 * time) that hot paths such as x402 verify read many times per second.
 */

/** What an RPC call came to, as the `outcome` label of `quay_rpc_call_duration_seconds`. */
export type RpcOutcome = "ok" | "timeout" | "unavailable" | "rpc_error" | "error";

/** The RPC could not be reached or did not answer in time (network down, timeout, 5xx, 429). Worth retrying. */
export class RpcUnavailableError extends Error {
  override readonly name = "RpcUnavailableError";
  readonly retryable = true;
  constructor(
    readonly network: string,
    readonly method: string,
    readonly reason: "timeout" | "connection" | "http_status",
    detail: string,
  ) {
    super(`Stellar RPC unavailable (${network} ${method}): ${detail}`);
  }
}

/** The RPC answered, and its answer was an error (a JSON-RPC error object or a 4xx). Retrying the same call will not help. */
export class AccountMissingError extends Error {
  override readonly name = "AccountMissingError";
  constructor(
    readonly network: string,
    readonly address: string,
  ) {
    super(`account ${address} does not exist on ${network}`);
  }
}

export class RpcResponseError extends Error {
  override readonly name = "RpcResponseError";
  readonly retryable = false;
  constructor(
    readonly network: string,
    readonly method: string,
    readonly code: number | undefined,
    detail: string,
  ) {
    super(`Stellar RPC error (${network} ${method}): ${detail}`);
  }
}

export interface StellarNetworkOptions {
  /** Per-call deadline. */
  readonly timeoutMs?: number;
  /** How long a `latestLedger()` answer is reused. */
  readonly latestLedgerTtlMs?: number;
  /** How long a `ledgerCloseSeconds()` estimate is reused. */
  readonly closeTimeTtlMs?: number;
  /** Clock, for the caches. */
  readonly now?: () => number;
}

/** The estimate used when the RPC cannot tell (the network's target close time). */
export const FALLBACK_LEDGER_CLOSE_SECONDS = 5;
/** How many ledgers back the close-time estimate looks. */
const CLOSE_TIME_SAMPLE_LEDGERS = 20;
/** A failed estimate is retried sooner than a good one is refreshed, but not on every call. */
const FALLBACK_TTL_MS = 5_000;

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ERR_NETWORK",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** What sendTransaction answered. */
export interface SendAnswer {
  readonly status: rpc.Api.SendTransactionStatus;
  readonly hash: string;
  readonly latestLedger: number;
  /** Why it was refused (status ERROR). */
  readonly errorResult?: xdr.TransactionResult;
}

interface Cached<T> {
  readonly value: T;
  readonly until: number;
}

class CallTimeout extends Error {}

export class StellarNetwork {
  readonly id: NetworkConfig["id"];
  readonly passphrase: string;
  readonly rpcUrl: string;
  /** The SDK server, for calls this class does not wrap; go through `call()` so they are timed and classified. */
  readonly rpc: rpc.Server;
  /** The lean client behind the wrapped hot calls. */
  private readonly jsonRpc: JsonRpcClient;

  private readonly timeoutMs: number;
  private readonly latestLedgerTtlMs: number;
  private readonly closeTimeTtlMs: number;
  private readonly now: () => number;

  private latest: { readonly value: number; readonly at: number } | undefined;
  private latestInFlight: Promise<number> | undefined;
  private closeTime: Cached<number> | undefined;
  private closeTimeInFlight: Promise<number> | undefined;

  constructor(
    config: Pick<NetworkConfig, "id" | "passphrase" | "rpcUrl">,
    private readonly metrics: Metrics,
    options: StellarNetworkOptions = {},
  ) {
    this.id = config.id;
    this.passphrase = config.passphrase;
    this.rpcUrl = config.rpcUrl;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.latestLedgerTtlMs = options.latestLedgerTtlMs ?? 1_000;
    this.closeTimeTtlMs = options.closeTimeTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.rpc = new rpc.Server(config.rpcUrl, { allowHttp: new URL(config.rpcUrl).protocol === "http:" });
    // The axios client then drops the socket at the deadline too, instead of leaving it to linger.
    this.rpc.httpClient.defaults.timeout = this.timeoutMs;
    this.jsonRpc = new JsonRpcClient(config.rpcUrl);
  }

  /** One JSON-RPC call on the lean client, timed and classified like `call()`; its raw `result`. */
  async request<T>(method: string, params?: Record<string, unknown>): Promise<T> {
    return this.call(method, () => this.jsonRpc.request<T>(method, params, this.timeoutMs));
  }

  /** simulateTransaction, parsed by the SDK; an envelope already encoded (base64 XDR) is sent as it is. */
  async simulate(tx: Transaction | FeeBumpTransaction | string): Promise<rpc.Api.SimulateTransactionResponse> {
    const transaction = typeof tx === "string" ? tx : tx.toXDR();
    const raw = await this.request<rpc.Api.RawSimulateTransactionResponse>("simulateTransaction", { transaction });
    return rpc.parseRawSimulation(raw);
  }

  /** sendTransaction of an envelope already encoded (base64 XDR); the refusal's result decoded. */
  async send(envelope: string): Promise<SendAnswer> {
    const raw = await this.request<rpc.Api.RawSendTransactionResponse>("sendTransaction", { transaction: envelope });
    return {
      status: raw.status,
      hash: raw.hash,
      latestLedger: raw.latestLedger,
      ...(raw.errorResultXdr ? { errorResult: xdr.TransactionResult.fromXDR(raw.errorResultXdr, "base64") } : {}),
    };
  }

  /** getTransaction as the RPC sends it: the envelope and metadata stay undecoded. */
  async transaction(hash: string): Promise<rpc.Api.RawGetTransactionResponse> {
    return this.request<rpc.Api.RawGetTransactionResponse>("getTransaction", { hash });
  }

  /**
   * Runs one RPC call with the per-call deadline, records it in `metrics.rpcCalls`, and turns
   * transport failures into RpcUnavailableError and the RPC's own error answers into
   * RpcResponseError. Other errors (the SDK's, e.g. "account not found") pass through unchanged.
   */
  async call<T>(method: string, run: () => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const stopTimer = this.metrics.rpcCalls.startTimer({ network: this.id, method });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CallTimeout()), timeoutMs);
    });
    try {
      const result = await Promise.race([run(), deadline]);
      stopTimer({ outcome: "ok" });
      return result;
    } catch (error) {
      const classified = this.classify(method, error, timeoutMs);
      stopTimer({ outcome: outcomeOf(classified) });
      throw classified;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * An account's ledger entry, or undefined when it does not exist. Not `rpc.getAccount`: the SDK
   * turns every failure of that, an unreachable RPC included, into "Account not found", which would
   * hide an outage (to retry) behind what looks like a missing account.
   */
  async accountEntry(address: string): Promise<xdr.AccountEntry | undefined> {
    const key = xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: Keypair.fromPublicKey(address).xdrPublicKey() }));
    const answer = await this.call("getLedgerEntries", () => this.rpc.getLedgerEntries(key));
    return answer.entries[0]?.val.account();
  }

  /** The account at its current sequence, ready to build a transaction from; throws when it does not exist. */
  async account(address: string): Promise<Account> {
    const entry = await this.accountEntry(address);
    if (!entry) throw new AccountMissingError(this.id, address);
    return new Account(address, entry.seqNum().toString());
  }

  /**
   * The latest ledger sequence the RPC knows. An answer younger than `maxAgeMs` (default
   * `latestLedgerTtlMs`) is reused, and concurrent callers share one request.
   */
  async latestLedger(options: { maxAgeMs?: number } = {}): Promise<number> {
    const cached = this.latest;
    if (cached && this.now() - cached.at < (options.maxAgeMs ?? this.latestLedgerTtlMs)) return cached.value;
    this.latestInFlight ??= this.request<rpc.Api.GetLatestLedgerResponse>("getLatestLedger")
      .then((answer) => {
        this.latest = { value: answer.sequence, at: this.now() };
        return answer.sequence;
      })
      .finally(() => {
        this.latestInFlight = undefined;
      });
    return this.latestInFlight;
  }

  /**
   * Resolves with the latest ledger once it is past `sequence`, asking every `pollMs`. However
   * many callers wait (every transaction in flight), the process asks the RPC once per `pollMs`.
   */
  async ledgerAfter(sequence: number, pollMs: number): Promise<number> {
    for (;;) {
      const latest = await this.latestLedger({ maxAgeMs: pollMs });
      if (latest > sequence) return latest;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /**
   * Average seconds between ledger closes over the last ~20 ledgers, measured on this network's RPC
   * (one `getLedgers` call of one ledger: its close time against the latest close time in the same
   * answer). Reused for `closeTimeTtlMs`. Never throws: when the RPC cannot tell, 5 s.
   */
  async ledgerCloseSeconds(): Promise<number> {
    const cached = this.closeTime;
    if (cached && cached.until > this.now()) return cached.value;
    this.closeTimeInFlight ??= this.measureCloseSeconds()
      .then(
        (seconds) => {
          this.closeTime = { value: seconds, until: this.now() + this.closeTimeTtlMs };
          return seconds;
        },
        () => {
          this.closeTime = { value: FALLBACK_LEDGER_CLOSE_SECONDS, until: this.now() + FALLBACK_TTL_MS };
          return FALLBACK_LEDGER_CLOSE_SECONDS;
        },
      )
      .finally(() => {
        this.closeTimeInFlight = undefined;
      });
    return this.closeTimeInFlight;
  }

  private async measureCloseSeconds(): Promise<number> {
    const latest = await this.latestLedger();
    const startLedger = Math.max(1, latest - CLOSE_TIME_SAMPLE_LEDGERS);
    // Raw form: the parsed one decodes every ledger's metadata, which we do not need.
    const page = await this.call("getLedgers", () => this.rpc._getLedgers({ startLedger, pagination: { limit: 1 } }));
    const first = page.ledgers[0];
    if (!first) throw new Error("getLedgers returned no ledger");
    const ledgers = Number(page.latestLedger) - Number(first.sequence);
    const seconds = Number(page.latestLedgerCloseTime) - Number(first.ledgerCloseTime);
    if (!(ledgers > 0) || !(seconds > 0) || !Number.isFinite(seconds / ledgers)) {
      throw new Error("getLedgers gave no usable close-time span");
    }
    return seconds / ledgers;
  }

  /** A 5xx or 429 means the RPC is unavailable (retry); another status is its answer. */
  private byHttpStatus(method: string, status: number): Error {
    return status >= 500 || status === 429
      ? new RpcUnavailableError(this.id, method, "http_status", `HTTP ${status}`)
      : new RpcResponseError(this.id, method, status, `HTTP ${status}`);
  }

  private classify(method: string, error: unknown, timeoutMs: number): Error {
    if (error instanceof RpcUnavailableError || error instanceof RpcResponseError) return error;
    if (error instanceof CallTimeout || error instanceof JsonRpcTimeoutError) {
      return new RpcUnavailableError(this.id, method, "timeout", `no answer within ${timeoutMs} ms`);
    }
    if (error instanceof JsonRpcHttpError) return this.byHttpStatus(method, error.status);
    if (error instanceof JsonRpcAnswerError) return new RpcResponseError(this.id, method, error.code, truncate(error.message));
    // A proxy or a wrong URL answering something else: as with a 5xx, the RPC is not there.
    if (error instanceof JsonRpcMalformedError) return new RpcUnavailableError(this.id, method, "http_status", error.message);
    if (isHttpClientError(error)) {
      const status = error.response?.status;
      if (status !== undefined) return this.byHttpStatus(method, status);
      if (error.code === "ECONNABORTED" || error.code === "ETIMEDOUT") {
        return new RpcUnavailableError(this.id, method, "timeout", `no answer within ${timeoutMs} ms`);
      }
      return new RpcUnavailableError(this.id, method, "connection", error.code ?? "connection failed");
    }
    if (isJsonRpcError(error)) {
      return new RpcResponseError(this.id, method, error.code, truncate(error.message));
    }
    const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
    if (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) {
      return new RpcUnavailableError(this.id, method, "connection", code);
    }
    return error instanceof Error ? error : new RpcResponseError(this.id, method, undefined, "non-error thrown");
  }
}

function outcomeOf(error: Error): RpcOutcome {
  if (error instanceof RpcUnavailableError) return error.reason === "timeout" ? "timeout" : "unavailable";
  if (error instanceof RpcResponseError) return "rpc_error";
  return "error";
}

interface HttpClientError {
  isAxiosError: true;
  code?: string;
  response?: { status: number };
}

function isHttpClientError(error: unknown): error is HttpClientError {
  return typeof error === "object" && error !== null && (error as { isAxiosError?: unknown }).isAxiosError === true;
}

/** The SDK throws a JSON-RPC `error` member as-is: a plain `{code, message}` object, not an Error. */
function isJsonRpcError(error: unknown): error is { code: number; message: string } {
  return (
    typeof error === "object" &&
    error !== null &&
    !(error instanceof Error) &&
    typeof (error as { code?: unknown }).code === "number" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

function truncate(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
