import { z } from "zod";

/**
 * Quay's whole configuration, read from the environment once at start-up. Every variable is
 * documented in .env.example. Values are never echoed back in errors: several of them
 * (database URLs, seeds, keys) carry secrets.
 */

const url = (protocols: readonly string[]) =>
  z
    .string()
    .refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, `a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`);

const port = z.coerce.number().int().min(0).max(65535);
/** Connections per api or CLI process when DATABASE_POOL_MAX is unset; a worker adds SETTLE_CONCURRENCY. */
const DEFAULT_DATABASE_POOL_MAX = 10;

const KNOWN_NETWORKS = {
  "stellar:testnet": { envPrefix: "STELLAR_TESTNET", passphrase: "Test SDF Network ; September 2015", usdc: "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA" },
  "stellar:pubnet": { envPrefix: "STELLAR_PUBNET", passphrase: "Public Global Stellar Network ; September 2015", usdc: "CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75" },
} as const;

export type NetworkId = keyof typeof KNOWN_NETWORKS;

const secretSeed = z.string().regex(/^S[A-Z2-7]{55}$/, "a Stellar secret seed (S...)");
const contractId = z.string().regex(/^C[A-Z2-7]{55}$/, "a contract address (C...)");
const stroops = z.coerce.bigint().refine((v) => v > 0n, "a positive whole number of stroops");

const rpcUrl = url(["http:", "https:"]);

const networkSchema = (prefix: string) =>
  z.object({
    [`${prefix}_RPC_URL`]: rpcUrl.optional(),
    [`${prefix}_RPC_URLS`]: z
      .string()
      .transform((v) => v.split(",").map((u) => u.trim()).filter(Boolean))
      .pipe(z.array(rpcUrl, "comma-separated URLs starting with http:// or https://"))
      .optional(),
    [`${prefix}_NETWORK_PASSPHRASE`]: z.string().min(1).optional(),
    [`${prefix}_FUND_SECRET`]: secretSeed,
    [`${prefix}_ASSETS`]: z
      .string()
      .transform((v) => v.split(",").map((a) => a.trim()).filter(Boolean))
      .pipe(z.array(contractId).min(1))
      .optional(),
    [`${prefix}_MAX_FEE_STROOPS`]: stroops.default(1_000_000n),
  });

const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

const flag = z.enum(["true", "false"]).transform((v) => v === "true");
const perMinute = z.coerce.number().int().min(1).max(1_000_000);

/** Who may call the api and how often (API keys: libs/keys; enforced by the api's auth and rate-limit plugins). */
const apiAccessSchema = z.object({
  X402_REQUIRE_API_KEY: flag.default(true),
  SUPPORTED_REQUIRE_API_KEY: flag.default(false),
  RATE_LIMIT_PER_MINUTE: perMinute.default(600),
  RATE_LIMIT_PER_MINUTE_ANONYMOUS: perMinute.default(120),
});

/** Monitoring: /metrics access and the thresholds /readyz and the metrics report against. */
const opsSchema = z.object({
  METRICS_TOKEN: z.string().regex(/^[\x21-\x7e]{16,256}$/, "16 to 256 printable characters without spaces").optional(),
  FUND_MIN_BALANCE_STROOPS: stroops.default(100_000_000n),
  CHANNEL_MIN_BALANCE_STROOPS: stroops.default(20_000_000n),
  READY_MAX_LEDGER_AGE_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
});

const hash32 = z.string().regex(/^[0-9a-f]{64}$/, "32-byte hashes in lowercase hex, comma-separated");
const ledgers = z.coerce.number().int().min(1).max(6_312_000);

/** The MPP relayer: which channel contracts it accepts, and how often its worker jobs run. */
const mppSchema = z.object({
  MPP_CHANNEL_WASM_HASHES: z
    .string()
    .transform((v) => v.split(",").map((h) => h.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(hash32))
    .default([]),
  MPP_TTL_SWEEP_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  MPP_EVENTS_POLL_SECONDS: z.coerce.number().int().min(1).max(3_600).default(5),
  MPP_TTL_THRESHOLD_LEDGERS: ledgers.default(17_280),
  MPP_TTL_EXTEND_TO: ledgers.default(535_680),
});

/** The OZ Channels API (POST /channels/<network>): its waits, bounds and management secret. */
const channelsApiSchema = z.object({
  CHANNELS_ADMIN_SECRET: z.string().regex(/^[\x21-\x7e]{16,256}$/, "16 to 256 printable characters without spaces").optional(),
  CHANNELS_WAIT_SECONDS: z.coerce.number().int().min(1).max(28).default(25),
  CHANNELS_AUTH_EXPIRY_BUFFER_LEDGERS: z.coerce.number().int().min(0).max(1000).default(2),
  CHANNELS_MAX_TIME_BOUND_OFFSET_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
});

const schema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  LOG_LEVEL: logLevel.default("info"),
  DATABASE_URL: url(["postgres:", "postgresql:"]),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(500).optional(),
  REDIS_URL: url(["redis:", "rediss:"]),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, '.', '_' or '-'").default("quay"),
  API_HOST: z.string().min(1).default("127.0.0.1"),
  API_PORT: port.default(4021),
  WORKER_HOST: z.string().min(1).default("127.0.0.1"),
  WORKER_PORT: port.default(4022),
  SETTLE_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
  SETTLE_WAIT_SECONDS: z.coerce.number().int().min(1).max(85).default(30),
  SETTLE_TX_TIMEOUT_SECONDS: z.coerce.number().int().min(10).max(300).default(60),
  SETTLE_REUSE_SIMULATION_LEDGERS: z.coerce.number().int().min(0).max(1000).default(12),
  SETTLE_SWEEP_SECONDS: z.coerce.number().int().min(1).max(600).default(15),
  POOL_LEASE_SECONDS: z.coerce.number().int().min(5).max(600).default(30),
  QUAY_NETWORKS: z
    .string()
    .transform((v) => v.split(",").map((n) => n.trim()).filter(Boolean))
    .pipe(z.array(z.enum(Object.keys(KNOWN_NETWORKS) as [NetworkId, ...NetworkId[]])).min(1))
    .default(["stellar:testnet"]),
  /** 32 bytes, base64: encrypts channel-account and entrusted signing keys at rest. */
  QUAY_MASTER_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "32 bytes encoded as base64 (openssl rand -base64 32)")
    .optional(),
  ...apiAccessSchema.shape,
  ...opsSchema.shape,
  ...mppSchema.shape,
  ...channelsApiSchema.shape,
});

type Env = z.infer<typeof schema>;

export interface NetworkConfig {
  readonly id: NetworkId;
  readonly passphrase: string;
  /** The first of `rpcUrls`. */
  readonly rpcUrl: string;
  /**
   * Every RPC serving this network (STELLAR_<NET>_RPC_URL, then STELLAR_<NET>_RPC_URLS): Quay calls
   * the healthiest, and fails over on errors, timeouts and a node lagging the others.
   */
  readonly rpcUrls: readonly string[];
  /** The account that pays every fee bump. */
  readonly fundSecret: string;
  /** Token contracts Quay settles; a payment in any other asset is refused. */
  readonly assets: readonly string[];
  /** Ceiling on the total fee of one fee bump (inclusion + resources), in stroops. */
  readonly maxFeeStroops: bigint;
}

export interface QuayConfig {
  readonly env: Env["NODE_ENV"];
  readonly logLevel: Env["LOG_LEVEL"];
  /**
   * `poolMax`: connections of an api (or CLI) process; `workerPoolMax`: of a worker, whose settle
   * jobs each need one at times, so unset it follows SETTLE_CONCURRENCY.
   */
  readonly database: { readonly url: string; readonly poolMax: number; readonly workerPoolMax: number };
  /** `prefix` namespaces every key Quay writes (queues, rate limits), so deployments can share a Redis. */
  readonly redis: { readonly url: string; readonly prefix: string };
  readonly api: { readonly host: string; readonly port: number };
  readonly worker: { readonly host: string; readonly port: number };
  /** Settle jobs one worker process runs at once (at least the pool size, to use every channel account). */
  readonly settleConcurrency: number;
  /** How long /settle waits for the outcome before answering settlement_pending (below the client's 90 s timeout). */
  readonly settleWaitSeconds: number;
  /** Lifetime (time bounds) of each transaction Quay submits. */
  readonly settleTxTimeoutSeconds: number;
  /** How many ledgers old verify's simulation may be for a payment's first build to reuse it (0: always simulate again). */
  readonly settleReuseSimulationLedgers: number;
  /** How often the worker queues payments left without a job (an api that died, or Redis down, between recording and queueing). */
  readonly settleSweepSeconds: number;
  /** A channel-account lease not renewed for this long is free again (its holder died). */
  readonly poolLeaseSeconds: number;
  readonly networks: readonly NetworkConfig[];
  readonly masterKey?: Buffer;
  readonly apiKeys: {
    /** x402 /verify and /settle refuse a request without a valid key. */
    readonly x402RequireKey: boolean;
    /** /supported refuses a request without a valid key. */
    readonly supportedRequireKey: boolean;
  };
  readonly mpp: {
    /** Wasm hashes (hex) of the one-way channel contract Quay accepts at registration. */
    readonly channelWasmHashes: readonly string[];
    /** How often the TTL sweep runs (restore, extend, idle and TTL closes). */
    readonly ttlSweepSeconds: number;
    /** How often the event watcher polls getEvents. */
    readonly eventsPollSeconds: number;
    /** Default for a channel without its own policy: act when an entry has fewer ledgers left than this. */
    readonly ttlThresholdLedgers: number;
    /** Default for a channel without its own policy: extend entries to live this many ledgers. */
    readonly ttlExtendTo: number;
  };
  readonly channelsApi: {
    /** Enables the management actions, which carry it in their body; unset, they answer MANAGEMENT_DISABLED. */
    readonly adminSecret?: string;
    /** How long a submit waits for its transaction to be final before WAIT_TIMEOUT (OZ: 25 s, within its 30 s client timeout). */
    readonly waitSeconds: number;
    /** An authorisation must stay valid this many ledgers past the latest (AUTH_EXPIRY_TOO_SHORT). */
    readonly authExpiryBufferLedgers: number;
    /** A caller-signed transaction's upper time bound may be at most this far ahead (TIMEBOUNDS_TOO_FAR). */
    readonly maxTimeBoundOffsetSeconds: number;
  };
  readonly rateLimit: {
    /** Requests per minute for a key without its own limit. */
    readonly perMinute: number;
    /** Requests per minute per client IP for requests without a valid key. */
    readonly perMinuteAnonymous: number;
  };
  readonly ops: {
    /** When set, /metrics answers only `Authorization: Bearer <token>`; separate from tenants' keys. */
    readonly metricsToken?: string;
    /** /readyz fails, and the FundBalanceLow alert fires, below this fund-account balance. */
    readonly fundMinBalanceStroops: bigint;
    /** The ChannelBalanceLow alert fires when an enabled channel account holds less than this. */
    readonly channelMinBalanceStroops: bigint;
    /** /readyz fails when the RPC's latest ledger closed longer ago than this. */
    readonly maxLedgerAgeSeconds: number;
  };
}

type ApiAccess = Pick<QuayConfig, "apiKeys" | "rateLimit">;

function apiAccess(e: z.infer<typeof apiAccessSchema>): ApiAccess {
  return {
    apiKeys: { x402RequireKey: e.X402_REQUIRE_API_KEY, supportedRequireKey: e.SUPPORTED_REQUIRE_API_KEY },
    rateLimit: { perMinute: e.RATE_LIMIT_PER_MINUTE, perMinuteAnonymous: e.RATE_LIMIT_PER_MINUTE_ANONYMOUS },
  };
}

/** A bad or missing variable. The message is one line, names the variable and never its value. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`invalid configuration: ${variable} must be ${expected}`);
  }
}

function describe(issue: z.core.$ZodIssue, raw: string | undefined): string {
  if (raw === undefined || raw === "") return "set (it is required)";
  if (issue.code === "invalid_value") return `one of ${issue.values.map(String).join(", ")}`;
  if (issue.code === "too_small" || issue.code === "too_big") {
    const bound = issue.code === "too_small" ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
    return `a number ${bound}`;
  }
  if (issue.code === "invalid_type") return `a ${issue.expected}`;
  return issue.message;
}

export const Config = {
  /** Every variable Quay reads, for documentation checks. */
  variables(): string[] {
    const perNetwork = Object.values(KNOWN_NETWORKS).flatMap((n) => Object.keys(networkSchema(n.envPrefix).shape));
    return [...Object.keys(schema.shape), ...perNetwork];
  },

  /** Parses the environment; throws ConfigError naming the first bad variable. */
  load(env: NodeJS.ProcessEnv = process.env): QuayConfig {
    // An empty variable (FOO= in an env file) means "not set", so defaults apply.
    const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
    const parsed = schema.safeParse(given);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const variable = String(issue.path[0] ?? "environment");
      throw new ConfigError(variable, describe(issue, env[variable]));
    }
    const e = parsed.data;
    const networks = e.QUAY_NETWORKS.map((id) => loadNetwork(id, given));
    return {
      env: e.NODE_ENV,
      logLevel: e.LOG_LEVEL,
      database: {
        url: e.DATABASE_URL,
        poolMax: e.DATABASE_POOL_MAX ?? DEFAULT_DATABASE_POOL_MAX,
        workerPoolMax: e.DATABASE_POOL_MAX ?? e.SETTLE_CONCURRENCY + DEFAULT_DATABASE_POOL_MAX,
      },
      redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
      api: { host: e.API_HOST, port: e.API_PORT },
      worker: { host: e.WORKER_HOST, port: e.WORKER_PORT },
      settleConcurrency: e.SETTLE_CONCURRENCY,
      settleWaitSeconds: e.SETTLE_WAIT_SECONDS,
      settleTxTimeoutSeconds: e.SETTLE_TX_TIMEOUT_SECONDS,
      settleReuseSimulationLedgers: e.SETTLE_REUSE_SIMULATION_LEDGERS,
      settleSweepSeconds: e.SETTLE_SWEEP_SECONDS,
      poolLeaseSeconds: e.POOL_LEASE_SECONDS,
      networks,
      mpp: {
        channelWasmHashes: e.MPP_CHANNEL_WASM_HASHES,
        ttlSweepSeconds: e.MPP_TTL_SWEEP_SECONDS,
        eventsPollSeconds: e.MPP_EVENTS_POLL_SECONDS,
        ttlThresholdLedgers: e.MPP_TTL_THRESHOLD_LEDGERS,
        ttlExtendTo: e.MPP_TTL_EXTEND_TO,
      },
      channelsApi: {
        ...(e.CHANNELS_ADMIN_SECRET ? { adminSecret: e.CHANNELS_ADMIN_SECRET } : {}),
        waitSeconds: e.CHANNELS_WAIT_SECONDS,
        authExpiryBufferLedgers: e.CHANNELS_AUTH_EXPIRY_BUFFER_LEDGERS,
        maxTimeBoundOffsetSeconds: e.CHANNELS_MAX_TIME_BOUND_OFFSET_SECONDS,
      },
      ...(e.QUAY_MASTER_KEY ? { masterKey: Buffer.from(e.QUAY_MASTER_KEY, "base64") } : {}),
      ...apiAccess(e),
      ops: {
        ...(e.METRICS_TOKEN ? { metricsToken: e.METRICS_TOKEN } : {}),
        fundMinBalanceStroops: e.FUND_MIN_BALANCE_STROOPS,
        channelMinBalanceStroops: e.CHANNEL_MIN_BALANCE_STROOPS,
        maxLedgerAgeSeconds: e.READY_MAX_LEDGER_AGE_SECONDS,
      },
    };
  },

  /** The networks Quay knows (whether or not this deployment enables them). */
  networkIds(): NetworkId[] {
    return Object.keys(KNOWN_NETWORKS) as NetworkId[];
  },

  /** API access settings when nothing is configured: the defaults documented in .env.example. */
  apiAccessDefaults(): ApiAccess {
    return apiAccess(apiAccessSchema.parse({}));
  },

  /** Only the database settings, for commands that need nothing else (`quay keys`). Throws ConfigError. */
  database(env: NodeJS.ProcessEnv = process.env): Pick<QuayConfig["database"], "url" | "poolMax"> {
    const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
    const parsed = schema.pick({ DATABASE_URL: true, DATABASE_POOL_MAX: true }).safeParse(given);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const variable = String(issue.path[0] ?? "environment");
      throw new ConfigError(variable, describe(issue, env[variable]));
    }
    return { url: parsed.data.DATABASE_URL, poolMax: parsed.data.DATABASE_POOL_MAX ?? DEFAULT_DATABASE_POOL_MAX };
  },
};

function loadNetwork(id: NetworkId, env: Record<string, string | undefined>): NetworkConfig {
  const known = KNOWN_NETWORKS[id];
  const prefix = known.envPrefix;
  if (!env[`${prefix}_RPC_URL`] && !env[`${prefix}_RPC_URLS`]) {
    throw new ConfigError(`${prefix}_RPC_URL`, `required: the network's Soroban RPC (or several, comma-separated, in ${prefix}_RPC_URLS) (network ${id} is enabled in QUAY_NETWORKS)`);
  }
  const parsed = networkSchema(prefix).safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0]);
    throw new ConfigError(variable, `${describe(issue, env[variable])} (network ${id} is enabled in QUAY_NETWORKS)`);
  }
  const v = parsed.data as Record<string, unknown>;
  const rpcUrls = [...new Set([v[`${prefix}_RPC_URL`] as string | undefined, ...((v[`${prefix}_RPC_URLS`] as string[] | undefined) ?? [])].filter((u): u is string => !!u))];
  if (rpcUrls.length === 0) {
    throw new ConfigError(`${prefix}_RPC_URL`, `required: the network's Soroban RPC (or several, comma-separated, in ${prefix}_RPC_URLS) (network ${id} is enabled in QUAY_NETWORKS)`);
  }
  return {
    id,
    passphrase: (v[`${prefix}_NETWORK_PASSPHRASE`] as string | undefined) ?? known.passphrase,
    rpcUrl: rpcUrls[0]!,
    rpcUrls,
    fundSecret: v[`${prefix}_FUND_SECRET`] as string,
    assets: (v[`${prefix}_ASSETS`] as string[] | undefined) ?? [known.usdc],
    maxFeeStroops: v[`${prefix}_MAX_FEE_STROOPS`] as bigint,
  };
}
