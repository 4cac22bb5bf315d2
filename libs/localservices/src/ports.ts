import net from "node:net";
import { LocalServiceError } from "./errors";

/** A requested port, 0 (or none) meaning "pick a free one". */
export function checkedPort(port: number | undefined): number {
  if (port === undefined) return 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new LocalServiceError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  return port;
}

/**
 * A port the kernel just reported free on the host. Another process can still take it before the
 * server binds, so starters retry with a new port when the bind fails.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("could not read the port of a probe socket"));
      });
    });
  });
}

/** True when nothing accepts TCP connections on host:port (used to prove a stopped server is gone). */
export function portIsClosed(port: number, host = "127.0.0.1", timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (closed: boolean) => {
      socket.destroy();
      resolve(closed);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(false));
    socket.once("error", () => done(true));
  });
}
