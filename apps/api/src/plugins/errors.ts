import type { FastifyError, FastifyInstance } from "fastify";
import fp from "fastify-plugin";

/**
 * One shape for every error answer: `{ error: <code>, message: <one line> }`. Client mistakes get
 * their 4xx with fastify's own code (malformed JSON, body too large, schema violations); anything
 * unexpected is logged with its request id and answered 500 without a stack or internal detail.
 */
export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
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
