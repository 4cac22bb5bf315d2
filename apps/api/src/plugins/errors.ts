import type { FastifyError, FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { RpcUnavailableError } from "@quay/stellar";

/** Seconds a caller is asked to wait before retrying after a dependency outage. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

/**
 * One shape for every error answer: `{ error: <code>, message: <one line> }`. Client mistakes get
 * their 4xx with fastify's own code (malformed JSON, body too large, schema violations); an outage
 * of Postgres, Redis or the Stellar RPC is 503 with Retry-After (nothing was done: ask again);
 * anything else unexpected is logged with its request id and answered 500 without a stack or
 * internal detail.
 */
export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const outage = dependencyOutage(error);
    if (outage) {
      request.log.warn({ err: error, dependency: outage }, "dependency unavailable");
      reply.header("retry-after", String(OUTAGE_RETRY_AFTER_SECONDS));
      return reply.status(503).send({ error: "service_unavailable", message: `${outage} is unavailable; retry in a few seconds`, requestId: request.id });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, "request failed");
      return reply.status(status).send({ error: "internal_error", message: "internal error", requestId: request.id });
    }
    if (error.validation) {
      return reply.status(400).send({ error: "invalid_request", message: error.message });
    }
    return reply.status(status).send({ error: errorCode(error), message: error.message });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: "not_found", message: `no route for ${request.method} ${request.url.split("?")[0]}` }),
  );
});

function errorCode(error: FastifyError): string {
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return "malformed_json";
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return "body_too_large";
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "unsupported_media_type";
    default:
      return error.code ? error.code.toLowerCase() : "bad_request";
  }
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
/** Postgres SQLSTATEs of a server that cannot serve now: connection exceptions, shutting down, out of connections. */
const POSTGRES_UNAVAILABLE = /^(08|57P0[123]|53)/;
const POSTGRES_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable|Client was closed/i;
const REDIS_MESSAGES = /Connection is closed|max retries per request|Stream isn't writeable|Reached the max retries/i;

/** Which dependency an error says is down (the error or any of its causes), or undefined for any other error. */
export function dependencyOutage(error: unknown): "the Stellar RPC" | "Postgres" | "Redis" | "Postgres or Redis" | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof RpcUnavailableError) return "the Stellar RPC";
    const code = (e as { code?: unknown }).code;
    if (e.name === "MaxRetriesPerRequestError" || REDIS_MESSAGES.test(e.message)) return "Redis";
    if (POSTGRES_MESSAGES.test(e.message) || (typeof code === "string" && POSTGRES_UNAVAILABLE.test(code) && "severity" in e)) return "Postgres";
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return "Postgres or Redis";
  }
  return undefined;
}
