import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ChannelsApiError, Sponsor, type SponsorDeps } from "@quay/sponsor";
import { ApiKeyRejection } from "../plugins/auth";
import { dependencyOutage, OUTAGE_RETRY_AFTER_SECONDS } from "../plugins/errors";

/**
 * The OZ Channels API, so that a `ChannelsClient` (`@openzeppelin/relayer-plugin-channels`)
 * switches to Quay by changing its base URL:
 * - direct mode: `POST /channels/<network>/` (and without the slash, as OZ's x402 plugin calls it);
 * - relayer mode: `POST /api/v1/plugins/<plugin id>/call`, the id naming the network.
 * Every answer is OZ's envelope `{success, data, error}`; a refusal is
 * `{success: false, error: <message>, data: {code, details}}` with OZ's status for the code.
 */
export type ChannelsRouteDeps = SponsorDeps;

const envelope = {
  type: "object",
  properties: { success: { type: "boolean" }, data: {}, error: { type: ["string", "null"] } },
  required: ["success", "data", "error"],
} as const;

const schema = { body: { type: "object" }, response: { 200: envelope } } as const;

export async function channelsRoutes(app: FastifyInstance, deps: ChannelsRouteDeps): Promise<void> {
  // Every failure on these routes, the key check's and fastify's own included, in OZ's envelope.
  app.setErrorHandler((error: FastifyError, request, reply) => refuse(error, request, reply));
  const config = { apiKey: { required: true } };
  const handler = async (request: FastifyRequest<{ Params: { network: string } }>) => {
    const net = Sponsor.network(deps, request.params.network);
    request.assertNetwork(net.network.id);
    return { success: true, data: await Sponsor.handle(deps, net, request.apiKey!, request.body), error: null };
  };
  app.post("/channels/:network", { schema, config }, handler);
  app.post("/channels/:network/", { schema, config }, handler);
  app.post<{ Params: { pluginId: string } }>("/api/v1/plugins/:pluginId/call", { schema, config }, (request) =>
    handler(Object.assign(request, { params: { network: request.params.pluginId } })),
  );
}

function refuse(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const send = (status: number, message: string, code: string, details: Readonly<Record<string, unknown>> = {}) =>
    reply.status(status).send({ success: false, error: message, data: { code, details } });
  if (error instanceof ChannelsApiError) {
    if (error.status >= 500) request.log.warn({ code: error.code }, "channels: request refused");
    return send(error.status, error.message, error.code, error.details);
  }
  if (error instanceof ApiKeyRejection) return send(error.statusCode, error.message, "UNAUTHORIZED");
  const outage = dependencyOutage(error);
  if (outage) {
    request.log.warn({ err: error, dependency: outage }, "channels: dependency unavailable");
    reply.header("retry-after", String(OUTAGE_RETRY_AFTER_SECONDS));
    return send(503, `${outage} is unavailable; retry in a few seconds`, "SERVICE_UNAVAILABLE");
  }
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (status < 500) return send(status, error.message, "INVALID_PARAMS", { message: error.message });
  request.log.error({ err: error }, "channels: request failed");
  return send(500, "internal error", "INTERNAL_ERROR", { requestId: request.id });
}
