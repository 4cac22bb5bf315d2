import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/**
 * Paths whose values are secrets: credentials in headers, keys and seeds anywhere in a logged
 * object, and x402/MPP payment payloads (their XDR carries signed auth entries). pino's `*` spans
 * one level, so each name is listed at the depths Quay's logs reach.
 */
const SECRET_NAMES = [
  "authorization",
  "Authorization",
  "x-api-key",
  "apiKey",
  "api_key",
  "key",
  "token",
  "secret",
  "secretKey",
  "seed",
  "privateKey",
  "password",
  "signature",
  "sig",
  "transaction",
  "payload",
  "paymentPayload",
  "recipientSecret",
  "masterKey",
];

export const REDACT_PATHS: readonly string[] = SECRET_NAMES.flatMap((name) => {
  const field = /^[A-Za-z_$][\w$]*$/.test(name) ? name : `["${name}"]`;
  const join = (prefix: string) => (field.startsWith("[") ? `${prefix}${field}` : `${prefix}.${field}`);
  return [field, join("*"), join("*.*"), join("*.*.*")];
});

export const CENSOR = "[redacted]";

export interface LogOptions {
  readonly level: string;
  readonly name: string;
  /** Where lines go; stdout when absent. Tests pass a stream to read what was logged. */
  readonly destination?: DestinationStream;
}

export function loggerOptions(options: Pick<LogOptions, "level" | "name">): LoggerOptions {
  return {
    level: options.level,
    name: options.name,
    redact: { paths: [...REDACT_PATHS], censor: CENSOR },
    serializers: { req: serializeRequest, res: serializeReply, err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

export function createLogger(options: LogOptions): Logger {
  return options.destination ? pino(loggerOptions(options), options.destination) : pino(loggerOptions(options));
}

interface RequestLike {
  readonly method?: string;
  readonly url?: string;
  readonly headers?: Record<string, unknown>;
  readonly ip?: string;
}

/** Requests are logged with their headers (redacted above) but without query values, which can carry keys. */
function serializeRequest(req: RequestLike) {
  const url = req.url ?? "";
  const query = url.indexOf("?");
  return {
    method: req.method,
    url: query === -1 ? url : `${url.slice(0, query)}?${CENSOR}`,
    headers: req.headers,
    remoteAddress: req.ip,
  };
}

function serializeReply(reply: { statusCode?: number }) {
  return { statusCode: reply.statusCode };
}
