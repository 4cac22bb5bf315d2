import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface EntryOptions {
  readonly args?: readonly string[];
  /** Node flags before the entry (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  /** The child's environment: this process's with `env` on top (default), or `env` alone. */
  readonly env: NodeJS.ProcessEnv;
  readonly inheritEnv?: boolean;
  /** Where its stdout and stderr go: echoed here, each line prefixed with its name (default), or to this. */
  readonly onOutput?: (chunk: Buffer) => void;
}

/** Runs a TypeScript entry point of this repo (`node --import tsx <entry>`) as its own process. */
export function spawnEntry(name: string, entry: string, options: EntryOptions): Child {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), "--import", "tsx", entry, ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: options.inheritEnv === false ? options.env : { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => `[${name}] ${line}\n`)
      .join("");
  child.stdout?.on("data", options.onOutput ?? ((chunk: Buffer) => process.stdout.write(prefix(chunk))));
  child.stderr?.on("data", options.onOutput ?? ((chunk: Buffer) => process.stderr.write(prefix(chunk))));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts a TypeScript entry point of this repo as its own process, its output prefixed with its name. */
export function startEntry(name: string, entry: string, env: NodeJS.ProcessEnv, args: readonly string[] = []): Child {
  return spawnEntry(name, entry, { env, args });
}

/** Polls a /healthz URL until it answers 200 with status "ok", or fails with what it last saw. */
export async function waitHealthy(url: string, child: Child, timeoutMs = 30_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited with code ${child.process.exitCode}`);
    try {
      const res = await fetch(url);
      const body: unknown = await res.json();
      if (res.ok && (body as { status?: unknown }).status === "ok") return body;
      last = `${res.status} ${JSON.stringify(body)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${child.name} did not become healthy at ${url}: ${last}`);
}

/** Waits until a child prints a line matching `pattern` on stdout (its "ready" line). */
export function waitForLine(child: Child, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => finish(new Error(`${child.name} did not print ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) finish();
    };
    const onExit = (code: number | null) => finish(new Error(`${child.name} exited with code ${code}`));
    function finish(error?: Error) {
      clearTimeout(timer);
      child.process.stdout?.off("data", onData);
      child.process.off("exit", onExit);
      if (error) reject(error);
      else resolve();
    }
    child.process.stdout?.on("data", onData);
    child.process.once("exit", onExit);
  });
}
