import http from "node:http";
import https from "node:https";

/**
 * A JSON-RPC 2.0 client for the hot calls (simulate, send, look up, latest ledger): one POST on
 * a kept-alive connection, the answer's `result` parsed and returned. The SDK's server runs every
 * call through axios, whose request pipeline cost the worker more CPU per payment than its
 * database statements; the SDK's parsers still read what comes back.
 */

/** The RPC answered with an HTTP status other than 2xx. */
export class JsonRpcHttpError extends Error {
  override readonly name = "JsonRpcHttpError";
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** The RPC answered with a JSON-RPC `error` member. */
export class JsonRpcAnswerError extends Error {
  override readonly name = "JsonRpcAnswerError";
  constructor(
    readonly code: number | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

/** The RPC's answer was not a JSON-RPC response. */
export class JsonRpcMalformedError extends Error {
  override readonly name = "JsonRpcMalformedError";
}

/** The RPC's socket was silent for too long. */
export class JsonRpcTimeoutError extends Error {
  override readonly name = "JsonRpcTimeoutError";
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** Answers larger than this are refused rather than buffered: no RPC answer Quay asks for comes near it. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export class JsonRpcClient {
  private readonly url: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private nextId = 1;

  constructor(url: string) {
    this.url = new URL(url);
    this.transport = this.url.protocol === "https:" ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true });
  }

  /**
   * The call's `result`. Rejects with the errors above, or with the socket's own (ECONNREFUSED,
   * ...). A socket silent for `idleTimeoutMs` is dropped, so a hung RPC does not keep it.
   */
  request<T>(method: string, params: Record<string, unknown> | undefined, idleTimeoutMs: number): Promise<T> {
    const body = JSON.stringify({ jsonrpc: "2.0", id: this.nextId++, method, ...(params ? { params } : {}) });
    return new Promise<T>((resolve, reject) => {
      const req = this.transport.request(
        this.url,
        {
          method: "POST",
          agent: this.agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) res.destroy(new JsonRpcMalformedError(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.on("error", reject);
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) return reject(new JsonRpcHttpError(status));
            try {
              resolve(resultOf<T>(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
            } catch (error) {
              reject(error instanceof JsonRpcAnswerError ? error : new JsonRpcMalformedError("the answer is not a JSON-RPC response"));
            }
          });
        },
      );
      req.setTimeout(idleTimeoutMs, () => req.destroy(new JsonRpcTimeoutError(idleTimeoutMs)));
      req.on("error", reject);
      req.end(body);
    });
  }
}

function resultOf<T>(answer: unknown): T {
  if (typeof answer !== "object" || answer === null) throw new JsonRpcMalformedError("not an object");
  const { error, result } = answer as { error?: { code?: unknown; message?: unknown }; result?: unknown };
  if (error !== undefined) {
    const code = typeof error?.code === "number" ? error.code : undefined;
    throw new JsonRpcAnswerError(code, typeof error?.message === "string" ? error.message : "error without a message");
  }
  if (!("result" in answer)) throw new JsonRpcMalformedError("neither result nor error");
  return result as T;
}
