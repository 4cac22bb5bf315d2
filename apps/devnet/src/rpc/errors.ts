/** A JSON-RPC 2.0 error object, thrown by method handlers and answered as `error`. */
export class RpcError extends Error {
  override readonly name = "RpcError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }

  static parse(message: string): RpcError {
    return new RpcError(-32700, message);
  }
  static invalidRequest(message: string): RpcError {
    return new RpcError(-32600, message);
  }
  static methodNotFound(method: string): RpcError {
    return new RpcError(-32601, `method not found: ${method}`);
  }
  static invalidParams(message: string): RpcError {
    return new RpcError(-32602, message);
  }
  static internal(message: string): RpcError {
    return new RpcError(-32603, message);
  }
}
