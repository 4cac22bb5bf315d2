import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** How a `quay` command ended: its exit code and what it printed. */
export interface CliOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `quay <args>` as an operator runs it: its own process, with only PATH and `env` in its environment. */
export function runQuayCli(args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliOutcome> {
  return runEntryPoint("apps/cli/src/main.ts", args, env, timeoutMs);
}

/** One of Quay's process entry points (`apps/<app>/src/main.ts`), run to its end the same way. */
export function runEntryPoint(script: string, args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliOutcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", script, ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? "", ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}
