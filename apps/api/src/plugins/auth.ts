import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import fp from "fastify-plugin";
import type { DbLike } from "@quay/db";
import { ApiKeys, CachedAuthenticator, type AuthenticatedKey, type AuthFailure, type AuthResult } from "@quay/keys";

/**
 * Tenants' bearer keys on the api. A route opts in with `config: { apiKey: <policy> }`; the check
 * runs in `preParsing`, after the rate limiter (onRequest) and before the body is read, so an
 * unauthenticated request costs neither a body parse nor a handler. The handler then finds the key
 * on `request.apiKey` and calls `request.assertNetwork(network)` once it knows the network.
 */

/** How a route treats API keys. */
export interface ApiKeyRoutePolicy {
  /** A request without a key is refused with 401. When false a key is optional, but one that is sent must be valid. */
  readonly required: boolean;
  /** The route spends fees on the key's behalf: a key whose fee budget is spent is refused with 429. */
  readonly spendsFees?: boolean;
}

/** The policies Quay's own routes use, from configuration (X402_REQUIRE_API_KEY, SUPPORTED_REQUIRE_API_KEY). */
export interface ApiKeyPolicies {
  /** x402 POST /verify and /settle. */
  readonly x402: ApiKeyRoutePolicy;
  /** x402 GET /supported. */
  readonly supported: ApiKeyRoutePolicy;
  /** The MPP relayer API: always a key. */
  readonly relayer: ApiKeyRoutePolicy;
}

export interface AuthPluginOptions {
  readonly db: DbLike;
  readonly x402RequireKey: boolean;
  readonly supportedRequireKey: boolean;
  /** How long an authentication is reused: the bound on how late a revocation takes effect. */
  readonly cacheTtlMs?: number;
}

declare module "fastify" {
  interface FastifyContextConfig {
    apiKey?: ApiKeyRoutePolicy;
  }
  interface FastifyRequest {
    /** The key the request authenticated with; null on a route without a key policy, or when an optional key was not sent. */
    apiKey: AuthenticatedKey | null;
    /** Throws 403 forbidden_network when the request's key is not scoped to `network`. No key, no restriction. */
    assertNetwork(network: string): void;
  }
  interface FastifyInstance {
    apiKeyPolicies: ApiKeyPolicies;
    /** What the request's Authorization header comes to (memoised per request): null when none was sent. */
    identifyApiKey(request: FastifyRequest): Promise<AuthResult | null>;
  }
}

/** A request refused for its credentials; the errors plugin renders it as `{ error: code, message }`. */
export class ApiKeyRejection extends Error {
  override readonly name = "ApiKeyRejection";
  constructor(
    readonly statusCode: 401 | 403 | 429,
    readonly code: "unauthorized" | "forbidden_network" | "fee_budget_exhausted",
    message: string,
  ) {
    super(message);
  }
}

const REALM = 'Bearer realm="quay"';

const FAILURE_MESSAGES: Record<AuthFailure, string> = {
  malformed: "the Authorization header is not a Quay API key (expected: Bearer qk_...)",
  unknown: "unknown API key",
  revoked: "this API key has been revoked",
};

/** The credential in `Authorization: Bearer <token>`; "" when the header is there but is not a bearer token. */
function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match ? match[1]! : "";
}

function unauthorized(reply: FastifyReply, message: string, invalidToken: boolean): ApiKeyRejection {
  reply.header("www-authenticate", invalidToken ? `${REALM}, error="invalid_token"` : REALM);
  return new ApiKeyRejection(401, "unauthorized", message);
}

export const authPlugin = fp(
  async (app: FastifyInstance, options: AuthPluginOptions) => {
    const authenticator = new CachedAuthenticator(options.db, options.cacheTtlMs === undefined ? {} : { ttlMs: options.cacheTtlMs });
    const identified = new WeakMap<FastifyRequest, Promise<AuthResult | null>>();

    app.decorate("apiKeyPolicies", {
      x402: { required: options.x402RequireKey, spendsFees: true },
      supported: { required: options.supportedRequireKey },
      relayer: { required: true, spendsFees: true },
    } satisfies ApiKeyPolicies);

    app.decorate("identifyApiKey", (request: FastifyRequest): Promise<AuthResult | null> => {
      let result = identified.get(request);
      if (!result) {
        const token = bearerToken(request);
        result = token === null ? Promise.resolve(null) : authenticator.authenticate(token);
        identified.set(request, result);
      }
      return result;
    });

    app.decorateRequest("apiKey", null);
    app.decorateRequest("assertNetwork", function (this: FastifyRequest, network: string) {
      if (this.apiKey && !(this.apiKey.networks as readonly string[]).includes(network)) {
        throw new ApiKeyRejection(403, "forbidden_network", `this API key is not enabled for network ${JSON.stringify(network.slice(0, 64))}`);
      }
    });

    const enforce = (policy: ApiKeyRoutePolicy) =>
      async function requireApiKey(request: FastifyRequest, reply: FastifyReply): Promise<void> {
        const result = await app.identifyApiKey(request);
        if (result === null) {
          if (policy.required) throw unauthorized(reply, "this endpoint needs an API key: send Authorization: Bearer <key>", false);
          return;
        }
        if (!result.ok) throw unauthorized(reply, FAILURE_MESSAGES[result.reason], true);
        if (policy.spendsFees && ApiKeys.budgetLeft(result.key) === 0n) {
          throw new ApiKeyRejection(429, "fee_budget_exhausted", "this API key's fee budget is spent; ask the operator to raise it");
        }
        request.apiKey = result.key;
        request.log = request.log.child({ apiKeyId: result.key.id, tenant: result.key.tenant });
      };

    app.addHook("onRoute", (route: RouteOptions) => {
      const policy = route.config?.apiKey;
      if (!policy) return;
      const hook = enforce(policy);
      const existing = route.preParsing;
      route.preParsing = existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook];
    });
  },
  { name: "quay-auth", fastify: "5.x" },
);
