import http from "node:http";
import https from "node:https";

/**
 * Nothing Quay runs may reach a host other than its configured RPC. The x402 client and the
 * reference facilitator of @x402/stellar ask a hard-coded Horizon for ledger times (through axios,
 * i.e. node:http/https, not fetch); wherever they run beside Quay (the local demo, tests, the
 * benchmark), both paths fail at once for any non-loopback host instead.
 */

export const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

function hostOf(target: unknown): string | undefined {
  if (typeof target === "string") return new URL(target).hostname;
  if (target instanceof URL) return target.hostname;
  if (typeof target === "object" && target !== null) {
    const { hostname, host } = target as { hostname?: string; host?: string };
    return hostname ?? host?.split(":")[0] ?? "localhost";
  }
  return undefined;
}

export class ExternalNetworkBlocked extends Error {
  override readonly name = "ExternalNetworkBlocked";
  constructor(host: string) {
    super(`${host} is not on loopback: refused`);
  }
}

export interface NetworkBlock {
  /** Hosts something tried to reach, in order. */
  readonly blocked: string[];
  restore(): void;
}

/** Makes fetch and node:http(s) fail immediately for any non-loopback host. */
export function blockNonLoopbackNetwork(): NetworkBlock {
  const blocked: string[] = [];
  const refuse = (host: string) => {
    blocked.push(host);
    return new ExternalNetworkBlocked(host);
  };
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const url = input instanceof Request ? input.url : String(input);
    const host = new URL(url).hostname;
    return LOOPBACK.has(host) ? realFetch(input, init) : Promise.reject(refuse(host));
  };
  const restores: Array<() => void> = [() => void (globalThis.fetch = realFetch)];
  for (const mod of [http, https] as const) {
    for (const name of ["request", "get"] as const) {
      const real = mod[name];
      (mod as Record<string, unknown>)[name] = (...args: unknown[]) => {
        const host = hostOf(args[0]);
        if (host !== undefined && !LOOPBACK.has(host)) throw refuse(host);
        return (real as (...a: unknown[]) => unknown).apply(mod, args);
      };
      restores.push(() => void ((mod as Record<string, unknown>)[name] = real));
    }
  }
  return { blocked, restore: () => restores.forEach((restore) => restore()) };
}
