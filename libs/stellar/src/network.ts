import { Account, Keypair, rpc, xdr, type FeeBumpTransaction, type Transaction } from "@stellar/stellar-sdk";
import type { NetworkConfig } from "@quay/config";
import { JsonRpcAnswerError, JsonRpcClient, JsonRpcHttpError, JsonRpcMalformedError, JsonRpcTimeoutError } from "./jsonrpc";
import { ResultCodes } from "./result-codes";

/**
 * One configured Stellar network as Quay talks to it: its RPC server (the only host Quay ever
 * calls for it; no Horizon), its passphrase, and a few cached facts (latest ledger, ledger close
 * time) that hot paths such as x402 verify read many times per second.
 */

/** What an RPC call came to, as the `outcome` label of `quay_rpc_call_duration_seconds`. */
export type RpcOutcome = "ok" | "timeout" | "unavailable" | "rpc_error" | "error";

/**
 * The instruments a network records its calls in. Declared here, not imported from @quay/metrics:
 * metrics reads networks (readiness, state gauges), so the network may not depend on it; the
 * registry's `Metrics` fits this shape.
 */
export interface RpcMetrics {
  /** `quay_rpc_call_duration_seconds`: started per call, stopped with its outcome. */
  readonly rpcCalls: {
    startTimer(labels: { network: string; method: string }): (labels: { outcome: RpcOutcome }) => unknown;
  };
  /** `quay_rpc_failovers_total`: a call went on to the next RPC. */
  readonly rpcFailovers: { inc(labels: { network: string; method: string }): void };
}

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

/**
 * The protocols whose rules and XDR Quay knows (23: Whisk … 28: CAP-71 auth credentials, frozen
 * keys). A network on another one may have changed what a transaction, an auth entry or a result
 * means: Quay refuses to start against it, and /readyz reports it.
 */
export const SUPPORTED_PROTOCOLS = { min: 23, max: 28 } as const;

/** The network runs a protocol Quay does not know. */
export class UnsupportedProtocolError extends Error {
  override readonly name = "UnsupportedProtocolError";
  constructor(
    readonly network: string,
    readonly protocolVersion: number,
  ) {
    super(
      `${network} runs protocol ${protocolVersion}; this Quay knows protocols ${SUPPORTED_PROTOCOLS.min} to ${SUPPORTED_PROTOCOLS.max}: upgrade Quay before pointing it at this network`,
    );
  }
}

/**
 * At start-up: every network runs a protocol Quay knows, or UnsupportedProtocolError. A network
 * whose RPC does not answer yet is let through (`onUnreachable` is told): /readyz reports it, and
 * it is judged when it answers.
 */
export async function requireKnownProtocols(networks: readonly StellarNetwork[], onUnreachable: (network: string, error: Error) => void): Promise<void> {
  for (const network of networks) {
    try {
      await network.requireKnownProtocol();
    } catch (error) {
      if (!(error instanceof RpcUnavailableError || error instanceof RpcResponseError)) throw error;
      onUnreachable(network.id, error);
    }
  }
}

/** The latest ledger as the RPC reported it. */
export interface LatestLedger {
  readonly sequence: number;
  readonly protocolVersion: number;
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
  /** Why it was refused (status ERROR), read even when the code is newer than this SDK. */
  readonly refusal?: ResultCodes;
}

interface Cached<T> {
  readonly value: T;
  readonly until: number;
}

class CallTimeout extends Error {}

/** One RPC of a network, as failover sees it. */
interface RpcNode {
  readonly index: number;
  /** The lean client behind the wrapped hot calls. */
  readonly jsonRpc: JsonRpcClient;
  /** The SDK server, for the calls whose answers the SDK decodes (getEvents, getLedgerEntries…). */
  readonly server: rpc.Server;
  /** Until when (ms) it is passed over after failing to answer. */
  downUntil: number;
  /** It answered a ledger this many ledgers behind the freshest node at the last comparison. */
  behind: number;
}

/** How long a node that failed to answer is passed over. */
const NODE_COOLDOWN_MS = 10_000;
/** A node more ledgers behind the freshest than this is used only when no other answers. */
const MAX_LAG_LEDGERS = 2;
/** How often several nodes' latest ledgers are compared. */
const LAG_PROBE_MS = 2_000;

export class StellarNetwork {
  readonly id: NetworkConfig["id"];
  readonly passphrase: string;
  readonly rpcUrl: string;
  private readonly nodes: readonly RpcNode[];
  private lagProbe: { at: number; running: Promise<void> | undefined } = { at: 0, running: undefined };
  /** The newest ledger any node has answered as of. */
  private freshest = 0;

  private readonly timeoutMs: number;
  private readonly latestLedgerTtlMs: number;
  private readonly closeTimeTtlMs: number;
  private readonly now: () => number;

  private latest: { readonly value: LatestLedger; readonly at: number } | undefined;
  private latestInFlight: Promise<LatestLedger> | undefined;
  private closeTime: Cached<number> | undefined;
  private closeTimeInFlight: Promise<number> | undefined;

  constructor(
    config: Pick<NetworkConfig, "id" | "passphrase" | "rpcUrl"> & { readonly rpcUrls?: readonly string[] },
    private readonly metrics: RpcMetrics,
    options: StellarNetworkOptions = {},
  ) {
    this.id = config.id;
    this.passphrase = config.passphrase;
    this.rpcUrl = config.rpcUrl;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.latestLedgerTtlMs = options.latestLedgerTtlMs ?? 1_000;
    this.closeTimeTtlMs = options.closeTimeTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    const urls = config.rpcUrls?.length ? config.rpcUrls : [config.rpcUrl];
    this.nodes = urls.map((url, index) => {
      const server = new rpc.Server(url, { allowHttp: new URL(url).protocol === "http:" });
      // The HTTP client then drops the socket at the deadline too, instead of leaving it to linger.
      server.httpClient.defaults.timeout = this.timeoutMs;
      return { index, jsonRpc: new JsonRpcClient(url), server, downUntil: 0, behind: 0 };
    });
  }

  /**
   * One JSON-RPC call on the lean client, timed and classified like `call()`; its raw `result`.
   * With several RPCs, the call goes to the healthiest (answering, not lagging), and to the next
   * when one does not answer: the same call, so a send resent to another node is the same
   * transaction and can land at most once.
   */
  async request<T>(method: string, params?: Record<string, unknown>): Promise<T> {
    return this.onNodes(method, (node) => node.jsonRpc.request<T>(method, params, this.timeoutMs));
  }

  /** getFeeStats, parsed by the SDK: the inclusion fees recent ledgers charged, by percentile. */
  async getFeeStats(): Promise<rpc.Api.GetFeeStatsResponse> {
    return this.onNodes("getFeeStats", (node) => node.server.getFeeStats());
  }

  /** getHealth: whether the RPC is healthy, and the oldest and latest ledgers it keeps. */
  async getHealth(): Promise<rpc.Api.GetHealthResponse> {
    return this.onNodes("getHealth", (node) => node.server.getHealth());
  }

  /** getLedgerEntries of these keys, decoded by the SDK; entries that do not exist are absent. `ledgerEntry()` reads one key raw. */
  async getLedgerEntries(...keys: xdr.LedgerKey[]): Promise<rpc.Api.GetLedgerEntriesResponse> {
    return this.onNodes("getLedgerEntries", (node) => node.server.getLedgerEntries(...keys));
  }

  /** getTransaction, envelope, result and metadata decoded by the SDK. `transaction()` leaves them encoded, for the hot path. */
  async getTransaction(hash: string): Promise<rpc.Api.GetTransactionResponse> {
    return this.onNodes("getTransaction", (node) => node.server.getTransaction(hash));
  }

  /** getEvents, decoded by the SDK: one page from a start ledger or a cursor. */
  async getEvents(request: rpc.Api.GetEventsRequest): Promise<rpc.Api.GetEventsResponse> {
    return this.onNodes("getEvents", (node) => node.server.getEvents(request));
  }

  /** getLedgers as the RPC sends it (each ledger's header and metadata left encoded): close times without decoding metadata. */
  async getLedgers(startLedger: number, limit: number): Promise<rpc.Api.RawGetLedgersResponse> {
    return this.request<rpc.Api.RawGetLedgersResponse>("getLedgers", { startLedger, pagination: { limit } });
  }

  /**
   * Runs one call on the nodes in preferred order, each attempt timed and classified by `call()`:
   * a node that does not answer, or answers as of a ledger well behind another's, is passed over
   * for the next (the last one's answer or error stands).
   */
  private async onNodes<T>(method: string, run: (node: RpcNode) => Promise<T>): Promise<T> {
    await this.compareLag();
    const nodes = this.preferred();
    for (let i = 0; ; i++) {
      const node = nodes[i]!;
      const last = i === nodes.length - 1;
      let result: T;
      try {
        result = await this.call(method, () => run(node));
      } catch (error) {
        if (!(error instanceof RpcUnavailableError) || last) throw error;
        node.downUntil = this.now() + NODE_COOLDOWN_MS;
        this.metrics.rpcFailovers.inc({ network: this.id, method });
        continue;
      }
      // Every answer says which ledger it is as of: one well behind what another node said is stale.
      const asOf = this.nodes.length > 1 ? ledgerOf(result) : undefined;
      if (asOf !== undefined) {
        if (!last && asOf < this.freshest - MAX_LAG_LEDGERS) {
          node.behind = this.freshest - asOf;
          this.metrics.rpcFailovers.inc({ network: this.id, method });
          continue;
        }
        this.freshest = Math.max(this.freshest, asOf);
      }
      return result;
    }
  }

  /** Nodes in the order calls try them: answering before down, current before lagging, then as configured. */
  private preferred(): readonly RpcNode[] {
    if (this.nodes.length === 1) return this.nodes;
    const now = this.now();
    const rank = (n: RpcNode) => (n.downUntil > now ? 2 : 0) + (n.behind > MAX_LAG_LEDGERS ? 1 : 0);
    return [...this.nodes].sort((a, b) => rank(a) - rank(b) || a.index - b.index);
  }

  /**
   * Every LAG_PROBE_MS, with several nodes: each one's latest ledger, so a node that answers but
   * lags the others (and would say a landed transaction is not found, or simulate against old
   * state) is passed over. Calls in the meantime wait for the comparison under way, and share it.
   */
  private compareLag(): Promise<void> {
    if (this.nodes.length === 1) return Promise.resolve();
    if (this.lagProbe.running) return this.lagProbe.running;
    if (this.now() - this.lagProbe.at < LAG_PROBE_MS) return Promise.resolve();
    this.lagProbe.at = this.now();
    this.lagProbe.running = (async () => {
      const seen = await Promise.all(
        this.nodes.map((node) =>
          this.call("getLatestLedger", () => node.jsonRpc.request<{ sequence: number }>("getLatestLedger", undefined, this.timeoutMs)).then(
            (answer) => answer.sequence,
            () => {
              node.downUntil = this.now() + NODE_COOLDOWN_MS;
              return undefined;
            },
          ),
        ),
      );
      const freshest = Math.max(this.freshest, ...seen.map((s) => s ?? 0));
      this.freshest = freshest;
      this.nodes.forEach((node, i) => {
        node.behind = seen[i] === undefined ? node.behind : freshest - seen[i]!;
      });
    })().finally(() => {
      this.lagProbe.running = undefined;
    });
    return this.lagProbe.running;
  }

  /**
   * simulateTransaction, parsed by the SDK; an envelope already encoded (base64 XDR) is sent as it
   * is. `authMode` "enforce" checks the auth entries the transaction carries (their signatures
   * included) even when there are none, where the RPC's default would record what the call needs.
   */
  async simulate(tx: Transaction | FeeBumpTransaction | string, options: { authMode?: "enforce" | "record" | "record_allow_nonroot" } = {}): Promise<rpc.Api.SimulateTransactionResponse> {
    const transaction = typeof tx === "string" ? tx : tx.toXDR();
    const raw = await this.request<rpc.Api.RawSimulateTransactionResponse>("simulateTransaction", { transaction, ...(options.authMode ? { authMode: options.authMode } : {}) });
    return rpc.parseRawSimulation(raw);
  }

  /** sendTransaction of an envelope already encoded (base64 XDR); the refusal's result decoded. */
  async send(envelope: string): Promise<SendAnswer> {
    const raw = await this.request<rpc.Api.RawSendTransactionResponse>("sendTransaction", { transaction: envelope });
    return {
      status: raw.status,
      hash: raw.hash,
      latestLedger: raw.latestLedger,
      ...(raw.errorResultXdr ? { refusal: ResultCodes.decode(raw.errorResultXdr) } : {}),
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
    return (await this.ledgerEntry(key))?.data.account();
  }

  /**
   * One ledger entry as the RPC has it now, with the ledger it was read at; undefined when it does
   * not exist (or, for an archived persistent entry, `liveUntilLedgerSeq` 0 says so).
   */
  async ledgerEntry(key: xdr.LedgerKey): Promise<{ data: xdr.LedgerEntryData; liveUntilLedgerSeq: number | undefined; latestLedger: number } | undefined> {
    const answer = await this.request<rpc.Api.RawGetLedgerEntriesResponse>("getLedgerEntries", { keys: [key.toXDR("base64")] });
    const entry = answer.entries?.[0];
    if (!entry) return undefined;
    return { data: xdr.LedgerEntryData.fromXDR(entry.xdr, "base64"), liveUntilLedgerSeq: entry.liveUntilLedgerSeq, latestLedger: answer.latestLedger };
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
    return (await this.latestLedgerInfo(options)).sequence;
  }

  /** `latestLedger()` with the protocol the network runs at that ledger; the same cache and the same one request. */
  async latestLedgerInfo(options: { maxAgeMs?: number } = {}): Promise<LatestLedger> {
    const cached = this.latest;
    if (cached && this.now() - cached.at < (options.maxAgeMs ?? this.latestLedgerTtlMs)) return cached.value;
    // Raw: the SDK's parsed answer decodes the whole LedgerCloseMeta (stellar-rpc v25+ sends it), which is not needed.
    this.latestInFlight ??= this.request<{ sequence: number; protocolVersion: number | string }>("getLatestLedger")
      .then((answer) => {
        const value = { sequence: answer.sequence, protocolVersion: Number(answer.protocolVersion) };
        this.latest = { value, at: this.now() };
        return value;
      })
      .finally(() => {
        this.latestInFlight = undefined;
      });
    return this.latestInFlight;
  }

  /** Throws UnsupportedProtocolError when the network runs a protocol outside SUPPORTED_PROTOCOLS. */
  async requireKnownProtocol(): Promise<number> {
    const { protocolVersion } = await this.latestLedgerInfo({ maxAgeMs: 0 });
    if (!StellarNetwork.knowsProtocol(protocolVersion)) throw new UnsupportedProtocolError(this.id, protocolVersion);
    return protocolVersion;
  }

  static knowsProtocol(protocolVersion: number): boolean {
    return protocolVersion >= SUPPORTED_PROTOCOLS.min && protocolVersion <= SUPPORTED_PROTOCOLS.max;
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
    const page = await this.getLedgers(startLedger, 1);
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

/** The ledger an RPC answer is as of: `latestLedger` in most, `sequence` in getLatestLedger's. */
function ledgerOf(result: unknown): number | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const { latestLedger, sequence } = result as { latestLedger?: unknown; sequence?: unknown };
  const value = Number(latestLedger ?? sequence);
  return Number.isFinite(value) && value > 0 ? value : undefined;
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
