import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { FaultInputError, FaultSwitch } from "./faults";
import type { Faults } from "./faults";
import { FriendbotError } from "./node";
import type { DevnetNode, SorobanHost } from "./node";
import type { DevnetPorts } from "./ports";
import { RpcError } from "./rpc/errors";
import { methods } from "./rpc/methods";
import type { RpcContext } from "./rpc/methods";

const MAX_BODY_BYTES = 5 * 1024 * 1024;
const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What every port's server shares: the node, the host, and the ports themselves. */
export interface ServerContext {
  readonly node: DevnetNode;
  readonly host: SorobanHost | undefined;
  readonly friendbotUrl: string;
  readonly ports: DevnetPorts;
}

/**
 * The devnet's HTTP surface on port `index`: JSON-RPC 2.0 at `/` (Soroban RPC), `/friendbot`, and
 * the loopback-only control endpoints under `/_devnet/` (faults, manual ledger close). Every port
 * serves the same ledger; the fault switch can make one port's RPC fail or lag.
 */
export function createDevnetServer(ctx: ServerContext, index: number): Server {
  return createServer((req, res) => {
    handle(ctx, index, req, res).catch((err: unknown) => {
      ctx.node.config.logger.error({ err: (err as Error).message }, "request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal_error", message: "internal error" });
    });
  });
}

async function handle(ctx: ServerContext, index: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://devnet");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  try {
    if (path.startsWith("/_devnet/")) return await control(ctx, path, req, res);
    if (path === "/friendbot") return friendbot(ctx.node, url, req, res);
    if (path === "/" || path === "/rpc") {
      if (req.method !== "POST") throw new HttpError(405, "method_not_allowed", "JSON-RPC requests must be POSTed");
      return await jsonRpc(ctx, index, req, res);
    }
    throw new HttpError(404, "not_found", `no route for ${req.method} ${path}`);
  } catch (err) {
    if (err instanceof HttpError) return sendJson(res, err.status, { error: err.code, message: err.message });
    throw err;
  }
}

async function jsonRpc(server: ServerContext, index: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const failure = FaultSwitch.failureOf(server.node.faults, index);
  // An RPC behind a load balancer that lost it, or one that stopped answering.
  if (failure === "http503") return sendJson(res, 503, { error: "service_unavailable", message: "this RPC port is failing (devnet fault)" });
  if (failure === "hang") return;
  const ctx: RpcContext = {
    node: server.node,
    host: server.host,
    friendbotUrl: server.friendbotUrl,
    view: server.node.view(FaultSwitch.lagOf(server.node.faults, index)),
  };
  const text = await readBody(req);
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    return sendJson(res, 200, rpcError(null, RpcError.parse("invalid JSON")));
  }
  if (!isObject(request) || request.jsonrpc !== "2.0" || typeof request.method !== "string") {
    const id = isObject(request) ? (request.id ?? null) : null;
    return sendJson(res, 200, rpcError(id, RpcError.invalidRequest("expected a JSON-RPC 2.0 request object")));
  }
  const id = request.id ?? null;
  const method = request.method;
  const faults = ctx.node.faults;
  if (FaultSwitch.takeForMethod(faults, "drop", method)) {
    // The RPC "goes away": the connection is cut without an answer.
    req.socket.destroy();
    return;
  }
  const delayMs = faults.delay?.ms ?? 0;
  if (FaultSwitch.takeForMethod(faults, "delay", method)) await sleep(delayMs);

  const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
  if (!handler) return sendJson(res, 200, rpcError(id, RpcError.methodNotFound(method)));
  try {
    const result = handler(ctx, request.params);
    sendJson(res, 200, { jsonrpc: "2.0", id, result });
  } catch (err) {
    if (err instanceof RpcError) return sendJson(res, 200, rpcError(id, err));
    ctx.node.config.logger.error({ err: (err as Error).message, method }, "rpc method failed");
    sendJson(res, 200, rpcError(id, RpcError.internal(`internal error in ${method}`)));
  }
}

function friendbot(node: DevnetNode, url: URL, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "POST") throw new HttpError(405, "method_not_allowed", "use GET or POST");
  const addr = url.searchParams.get("addr");
  if (!addr) throw new HttpError(400, "missing_addr", "addr query parameter is required");
  const usdcParam = url.searchParams.get("usdc");
  if (usdcParam !== null && !/^\d+$/.test(usdcParam)) throw new HttpError(400, "invalid_usdc", "usdc must be an integer amount of 7-decimal base units");
  try {
    const outcome = node.friendbot(addr, usdcParam === null ? undefined : BigInt(usdcParam));
    const tx = outcome.record;
    sendJson(res, 200, {
      ok: true,
      ledger: outcome.ledger,
      successful: true,
      hash: tx?.hash ?? null,
      envelope_xdr: tx?.applied.tx.envelopeXdr ?? null,
      result_xdr: tx?.applied.result.toXDR("base64") ?? null,
      result_meta_xdr: tx?.applied.meta.toXDR("base64") ?? null,
      ...(usdcParam !== null ? { usdc: usdcParam } : {}),
    });
  } catch (err) {
    if (err instanceof FriendbotError) {
      return sendJson(res, err.status, { error: err.code, detail: err.message, status: err.status });
    }
    throw err;
  }
}

async function control(ctx: ServerContext, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const node = ctx.node;
  if (!LOOPBACK.has(req.socket.remoteAddress ?? "")) throw new HttpError(403, "forbidden", "devnet control endpoints answer loopback clients only");
  if (path === "/_devnet/faults") {
    if (req.method === "GET") return sendJson(res, 200, FaultSwitch.toJson(node.faults));
    if (req.method === "DELETE") {
      node.faults = FaultSwitch.none();
      await ctx.ports.sync(node.faults);
      return sendJson(res, 200, FaultSwitch.toJson(node.faults));
    }
    if (req.method === "POST") {
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req)) || "{}");
      } catch {
        throw new HttpError(400, "invalid_json", "body must be JSON");
      }
      let next: Faults;
      try {
        next = FaultSwitch.patch(node.faults, body);
        ctx.ports.check(next);
      } catch (err) {
        if (err instanceof FaultInputError) throw new HttpError(400, "invalid_fault", err.message);
        throw err;
      }
      node.faults = next;
      await ctx.ports.sync(node.faults);
      return sendJson(res, 200, FaultSwitch.toJson(node.faults));
    }
    throw new HttpError(405, "method_not_allowed", "use GET, POST or DELETE");
  }
  if (path === "/_devnet/close-ledger") {
    if (req.method !== "POST") throw new HttpError(405, "method_not_allowed", "use POST");
    const record = node.closeLedger();
    return sendJson(res, 200, { ledger: record.sequence, txCount: record.txs.length, hashes: record.txs.map((t) => t.hash) });
  }
  throw new HttpError(404, "not_found", `no control route ${path}`);
}

function rpcError(id: unknown, err: RpcError): Record<string, unknown> {
  return { jsonrpc: "2.0", id, error: { code: err.code, message: err.message, ...(err.data !== undefined ? { data: err.data } : {}) } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "body_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
