import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { ExitInfo, ManagedProcess } from "./process";

/** Size of a log before a launch: what the launch wrote is what lies past it. */
export function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The last lines a server wrote since `fromOffset`, capped so an error message stays readable. */
export function logTail(file: string, fromOffset = 0, maxLines = 30, maxBytes = 64 * 1024): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const size = statSync(file).size;
    const start = Math.max(fromOffset, size - maxBytes);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString("utf8").trimEnd().split("\n").slice(-maxLines).join("\n");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export type Readiness = { readonly state: "ready" } | { readonly state: "exited"; readonly exit: ExitInfo } | { readonly state: "timeout" };

const pollIntervalMs = 100;

/** Polls `probe` until it answers true, the process dies, or the deadline passes; never hangs. */
export async function awaitReady(process: ManagedProcess, probe: () => Promise<boolean>, timeoutMs: number): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.hasExited) return { state: "exited", exit: await process.exit };
    if (await probe()) return { state: "ready" };
    if (Date.now() >= deadline) return { state: "timeout" };
    const exited = await Promise.race([process.exit, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), pollIntervalMs))]);
    if (exited !== undefined) return { state: "exited", exit: exited };
  }
}

export function describeExit(exit: ExitInfo): string {
  if (exit.error !== undefined) return `could not be launched (${exit.error.message})`;
  return exit.signal !== null ? `exited during start-up on ${exit.signal}` : `exited during start-up with code ${exit.code}`;
}
