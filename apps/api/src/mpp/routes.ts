import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import {
  ChannelError,
  Channels,
  ChargeRefusal,
  Charges,
  CloseRequestSchema,
  MalformedChargeBody,
  PolicySchema,
  RegisterSchema,
  VoucherRefusal,
  VoucherSchema,
  type Caller,
  type ChargeDeps,
  type ChannelsDeps,
} from "@quay/channels";
import { RpcUnavailableError } from "@quay/stellar";

/**
 * The MPP relayer API (bearer key per tenant; the libs/mpp relay client speaks it):
 * - POST /mpp/charge/validate, /mpp/charge/broadcast: mppx's relay contract. A refused payment is
 *   200 `{success: false, error: {code, message}}`; an RPC outage 503 `temporarily_unavailable`.
 * - POST /mpp/channels, GET /mpp/channels/:address, POST /mpp/channels/:address/vouchers,
 *   POST /mpp/channels/:address/close (answers after the close transaction is final),
 *   PUT /mpp/channels/:address/policy. Channel answers are
 *   `{success: true, ...channel}`; a refused voucher is 200 `{success: false, error}`; other
 *   refusals are 4xx `{error: <code>, message}`.
 */

export interface MppRouteDeps {
  readonly charges: ChargeDeps;
  readonly channels: ChannelsDeps;
}

const objectBody = { body: { type: "object" } } as const;
/** A channel is a contract: its address is a C… strkey. Anything else is a 400 before any lookup. */
const channelParams = { type: "object", properties: { address: { type: "string", pattern: "^C[A-Z2-7]{55}$" } }, required: ["address"] } as const;
const channelRoute = { params: channelParams } as const;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export async function mppRoutes(app: FastifyInstance, deps: MppRouteDeps): Promise<void> {
  const config = { apiKey: app.apiKeyPolicies.relayer };

  app.post("/mpp/charge/validate", { schema: objectBody, config }, async (request, reply) =>
    charge(request, reply, async (caller, body) => {
      await Charges.validate(deps.charges, caller, body);
      return { success: true };
    }),
  );

  app.post("/mpp/charge/broadcast", { schema: objectBody, config }, async (request, reply) => {
    const header = request.headers["idempotency-key"];
    if (header !== undefined && (typeof header !== "string" || !IDEMPOTENCY_KEY.test(header))) {
      return reply.status(400).send({ error: "invalid_request", message: "Idempotency-Key must be 1-255 printable ASCII characters" });
    }
    return charge(request, reply, async (caller, body) => ({ success: true, receipt: await Charges.broadcast(deps.charges, caller, body, header) }));
  });

  app.post("/mpp/channels", { schema: objectBody, config }, async (request, reply) =>
    channel(request, reply, RegisterSchema, async (caller, input) => reply.status(201).send({ success: true, ...(await Channels.register(deps.channels, caller, input)) })),
  );

  app.get<{ Params: { address: string } }>("/mpp/channels/:address", { schema: channelRoute, config }, async (request, reply) =>
    channel(request, reply, undefined, async (caller) => ({ success: true, ...(await Channels.get(deps.channels, caller, request.params.address)) })),
  );

  app.post<{ Params: { address: string } }>("/mpp/channels/:address/vouchers", { schema: { ...objectBody, ...channelRoute }, config }, async (request, reply) =>
    channel(request, reply, VoucherSchema, async (caller, input) => {
      try {
        return { success: true, cumulative: (await Channels.voucher(deps.channels, caller, request.params.address, input)).toString() };
      } catch (error) {
        if (error instanceof VoucherRefusal) return { success: false, error: { code: error.code, reason: error.reason, message: error.message } };
        throw error;
      }
    }),
  );

  // Answers once the close transaction is final: 200 with its hash as `txHash`; 202 with
  // `close_pending` when the wait runs out (the worker carries on; asking again waits again);
  // 409 `close_failed` with the reason when the transaction failed.
  app.post<{ Params: { address: string } }>("/mpp/channels/:address/close", { schema: channelRoute, config }, async (request, reply) =>
    channel(request, reply, CloseRequestSchema, async (caller, input) => {
      const outcome = await Channels.requestClose(deps.channels, caller, request.params.address, input);
      if (outcome.kind === "closed") return { success: true, ...outcome.view };
      return reply.status(202).send({
        ...outcome.view,
        success: false,
        error: { code: "temporarily_unavailable", reason: "close_pending", message: "the close transaction is not final yet: ask again to wait for it" },
      });
    }),
  );

  app.put<{ Params: { address: string } }>("/mpp/channels/:address/policy", { schema: { ...objectBody, ...channelRoute }, config }, async (request, reply) =>
    channel(request, reply, PolicySchema, async (caller, input) => ({ success: true, ...(await Channels.setPolicy(deps.channels, caller, request.params.address, input)) })),
  );
}

function callerOf(request: FastifyRequest): Caller {
  const key = request.apiKey!;
  return { tenantId: key.tenantId, apiKeyId: key.id, budgeted: key.feeBudgetStroops !== null, assertNetwork: (network) => request.assertNetwork(network) };
}

async function charge(
  request: FastifyRequest,
  reply: FastifyReply,
  run: (caller: Caller, body: ReturnType<typeof Charges.parseBody>) => Promise<unknown>,
): Promise<unknown> {
  let body;
  try {
    body = Charges.parseBody(request.body);
  } catch (error) {
    if (error instanceof MalformedChargeBody) return reply.status(400).send({ error: "invalid_request", message: error.message });
    throw error;
  }
  try {
    return await run(callerOf(request), body);
  } catch (error) {
    if (error instanceof ChargeRefusal) {
      request.log.info({ code: error.code, reason: error.reason, challengeId: body.challenge.id }, "charge refused");
      return { success: false, error: { code: error.code, reason: error.reason, message: error.message } };
    }
    if (error instanceof RpcUnavailableError) {
      request.log.warn({ err: error }, "charge: Stellar RPC unavailable");
      return reply.status(503).send({ success: false, error: { code: "temporarily_unavailable", message: "the Stellar RPC is unavailable; retry the same credential" } });
    }
    throw error;
  }
}

async function channel<S extends z.ZodType | undefined>(
  request: FastifyRequest,
  reply: FastifyReply,
  schema: S,
  run: (caller: Caller, input: S extends z.ZodType ? z.infer<S> : undefined) => Promise<unknown>,
): Promise<unknown> {
  let input: unknown = undefined;
  if (schema) {
    const parsed = schema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return reply.status(400).send({ error: "invalid_request", message: `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}` });
    }
    input = parsed.data;
  }
  try {
    return await run(callerOf(request), input as S extends z.ZodType ? z.infer<S> : undefined);
  } catch (error) {
    if (error instanceof ChannelError) {
      return reply.status(error.status).send({ error: error.code, message: error.message, ...(error.reason !== undefined ? { reason: error.reason } : {}) });
    }
    if (error instanceof RpcUnavailableError) {
      request.log.warn({ err: error }, "channels: Stellar RPC unavailable");
      return reply.status(503).send({ error: "temporarily_unavailable", message: "the Stellar RPC is unavailable; retry" });
    }
    throw error;
  }
}
