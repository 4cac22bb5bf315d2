import { xdr } from "@stellar/stellar-sdk";
import { ChannelsApiError } from "./errors";

/**
 * What a Channels API request asks for. ChannelsClient sends every operation as one POST whose
 * body is `{params: {...}}`; the keys present decide the operation, and each operation refuses
 * keys it does not know (INVALID_PARAMS), as OZ's plugin does.
 */
export type ChannelsRequest =
  | { readonly op: "func"; readonly func: xdr.HostFunction; readonly auth: readonly xdr.SorobanAuthorizationEntry[]; readonly skipWait: boolean }
  | { readonly op: "xdr"; readonly envelope: xdr.TransactionEnvelope; readonly skipWait: boolean }
  | { readonly op: "get_transaction"; readonly transactionId: string }
  | { readonly op: "management"; readonly action: string; readonly adminSecret: unknown; readonly payload: Readonly<Record<string, unknown>> };

export type ChannelsOperation = ChannelsRequest["op"];

const ALLOWED_KEYS: Record<ChannelsOperation, readonly string[]> = {
  func: ["func", "auth", "skipWait", "fundRelayerId"],
  xdr: ["xdr", "skipWait", "fundRelayerId"],
  get_transaction: ["getTransaction", "fundRelayerId"],
  management: ["management"],
};

/** The most auth entries one call may carry: far above any real call, far below a body that only costs CPU. */
const MAX_AUTH_ENTRIES = 20;

function invalid(message: string, details: Record<string, unknown> = {}): ChannelsApiError {
  return new ChannelsApiError("INVALID_PARAMS", message, { message, ...details });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function decode<T>(kind: string, read: () => T): T {
  try {
    return read();
  } catch {
    throw invalid(`${kind} is not valid base64 XDR`);
  }
}

export const Params = {
  /** The request a body asks for; ChannelsApiError (INVALID_PARAMS, CONFIG_MISSING) for anything else. */
  parse(body: unknown): ChannelsRequest {
    // The relayer wraps a body sent without `params`; the client always sends it.
    const params = isRecord(body) && "params" in body ? body.params : body;
    if (!isRecord(params)) throw invalid("params must be an object");
    const op = operationOf(params);
    const unknown = Object.keys(params).filter((k) => !ALLOWED_KEYS[op].includes(k));
    if (unknown.length > 0) throw invalid(`unknown parameter${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k.slice(0, 64))).join(", ")}`);
    if ("fundRelayerId" in params) {
      // Quay pays every fee bump of a network from its one fund account.
      throw new ChannelsApiError("CONFIG_MISSING", "fundRelayerId is not supported: Quay pays fees from the network's one fund account", { fundRelayerId: String(params.fundRelayerId).slice(0, 128) });
    }
    switch (op) {
      case "func":
        return { op, ...hostFunction(params.func, params.auth), skipWait: skipWait(params.skipWait) };
      case "xdr":
        if (typeof params.xdr !== "string" || params.xdr === "") throw invalid("xdr must be a base64 TransactionEnvelope");
        return { op, envelope: decode("xdr", () => xdr.TransactionEnvelope.fromXDR(params.xdr as string, "base64")), skipWait: skipWait(params.skipWait) };
      case "get_transaction":
        return { op, transactionId: transactionId(params.getTransaction) };
      case "management": {
        const m = params.management;
        if (!isRecord(m) || typeof m.action !== "string") throw invalid("management must be an object with an action");
        const { action, adminSecret, ...payload } = m;
        return { op, action, adminSecret, payload };
      }
    }
  },

  /** `func` and `auth` as they come in a request, decoded: from `{func, auth}` or an unsigned envelope's one operation. */
  hostFunction,
};

function operationOf(params: Record<string, unknown>): ChannelsOperation {
  if ("management" in params) return "management";
  if ("getTransaction" in params) return "get_transaction";
  if ("xdr" in params) return "xdr";
  if ("func" in params || "auth" in params) return "func";
  throw invalid("params must hold one of: func and auth, xdr, getTransaction, management");
}

function hostFunction(func: unknown, auth: unknown): { func: xdr.HostFunction; auth: xdr.SorobanAuthorizationEntry[] } {
  if (typeof func !== "string" || func === "") throw invalid("func must be a base64 HostFunction");
  if (!Array.isArray(auth)) throw invalid("auth must be an array of base64 SorobanAuthorizationEntry");
  if (auth.length > MAX_AUTH_ENTRIES) throw invalid(`at most ${MAX_AUTH_ENTRIES} auth entries`);
  return {
    func: decode("func", () => xdr.HostFunction.fromXDR(func, "base64")),
    auth: auth.map((entry, i) => {
      if (typeof entry !== "string") throw invalid(`auth[${i}] must be a base64 string`);
      return decode(`auth[${i}]`, () => xdr.SorobanAuthorizationEntry.fromXDR(entry, "base64"));
    }),
  };
}

function skipWait(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw invalid("skipWait must be a boolean");
  return value;
}

const TRANSACTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function transactionId(value: unknown): string {
  if (!isRecord(value)) throw invalid("getTransaction must be an object with a transactionId");
  const extra = Object.keys(value).filter((k) => k !== "transactionId");
  if (extra.length > 0) throw invalid("getTransaction holds only transactionId");
  if (typeof value.transactionId !== "string" || value.transactionId === "") throw invalid("getTransaction.transactionId must be a non-empty string");
  if (!TRANSACTION_ID.test(value.transactionId)) throw new ChannelsApiError("TRANSACTION_NOT_FOUND", "no transaction with this id for this API key");
  return value.transactionId.toLowerCase();
}
