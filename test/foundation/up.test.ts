import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { freePort } from "@quay/localservices";

const run = promisify(execFile);

describe("the README's run command (quay up)", () => {
  it("brings up Postgres, Redis, the api and the worker, all healthy, and leaves nothing running", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "quay-up-"));
    chmodSync(dataDir, 0o755); // the database runs as an unprivileged user when tests run as root
    try {
      const [apiPort, workerPort] = [await freePort(), await freePort()];
      const { stdout } = await run(
        "npx",
        ["tsx", "apps/cli/src/main.ts", "up", "--once", "--data-dir", dataDir, "--api-port", `${apiPort}`, "--worker-port", `${workerPort}`],
        { cwd: process.cwd(), timeout: 90_000 },
      );
      expect(stdout).toContain("migrations applied");
      expect(stdout).toMatch(new RegExp(`api +http://127.0.0.1:${apiPort} +/healthz .*"postgres":\\{"ok":true`));
      expect(stdout).toMatch(new RegExp(`worker +http://127.0.0.1:${workerPort} +/healthz .*"redis":\\{"ok":true`));
      const stillThere = await fetch(`http://127.0.0.1:${apiPort}/healthz`).then(() => true, () => false);
      expect(stillThere).toBe(false);
      const leftover = await run("pgrep", ["-f", dataDir]).then(
        (r) => r.stdout.trim(),
        () => "",
      );
      expect(leftover).toBe("");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
