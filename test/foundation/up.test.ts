import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { freePort } from "@quay/localservices";

const run = promisify(execFile);

describe("the README's run command (quay up)", () => {
  it("brings up Postgres, Redis, the devnet, a pool, the api and the worker, makes one paid request, and leaves nothing running", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "quay-up-"));
    chmodSync(dataDir, 0o755); // the database runs as an unprivileged user when tests run as root
    try {
      const ports = { api: await freePort(), worker: await freePort(), devnet: await freePort(), seller: await freePort() };
      const { stdout } = await run(
        "npx",
        [
          "tsx",
          "apps/cli/src/main.ts",
          "up",
          "--once",
          "--data-dir",
          dataDir,
          "--api-port",
          `${ports.api}`,
          "--worker-port",
          `${ports.worker}`,
          "--devnet-port",
          `${ports.devnet}`,
          "--seller-port",
          `${ports.seller}`,
          "--ledger-ms",
          "250",
          "--pool-size",
          "2",
        ],
        { cwd: process.cwd(), timeout: 150_000 },
      );
      expect(stdout).toContain("migrations applied");
      expect(stdout).toContain("pool: 2 channel accounts");
      expect(stdout).toMatch(new RegExp(`api +http://127.0.0.1:${ports.api} +/healthz .*"postgres":\\{"ok":true`));
      expect(stdout).toMatch(new RegExp(`worker +http://127.0.0.1:${ports.worker} +/healthz .*"redis":\\{"ok":true`));
      expect(stdout).toContain('paid request: 200 {"forecast":"sunny","temperatureC":21}');
      expect(stdout).toMatch(/settlement: succeeded tx [0-9a-f]{64} ledger \d+ amount 10000 /);
      for (const port of Object.values(ports)) {
        expect(await fetch(`http://127.0.0.1:${port}/`).then(() => "open", () => "closed")).toBe("closed");
      }
      const leftover = await run("pgrep", ["-f", dataDir]).then(
        (r) => r.stdout.trim(),
        () => "",
      );
      expect(leftover).toBe("");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
