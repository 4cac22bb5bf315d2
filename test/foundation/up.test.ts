import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { freePort } from "@quay/localservices";

const run = promisify(execFile);

describe("the README's run command (quay up)", () => {
  it("brings up Postgres, Redis, the devnet, a pool, the api and the worker, makes one paid x402 request, an MPP charge and an MPP channel session, and leaves nothing running", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "quay-up-"));
    chmodSync(dataDir, 0o755); // the database runs as an unprivileged user when tests run as root
    try {
      const ports = { api: await freePort(), worker: await freePort(), devnet: await freePort(), seller: await freePort(), mpp: await freePort() };
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
          "--mpp-port",
          `${ports.mpp}`,
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
      // MPP charge: a receipt naming the settled transaction; the price moved, the payer paid no fee (Quay sponsored it).
      expect(stdout).toMatch(new RegExp(`mpp charge server http://127.0.0.1:${ports.mpp}/report `));
      expect(stdout).toMatch(/mpp charge: 200 \{.*\} receipt \{"method":"stellar","reference":"[0-9a-f]{64}","status":"success"/);
      expect(stdout).toMatch(/mpp charge moved: payer G[A-Z2-7]{55} USDC 10000000 -> 9990000 \(-10000\), XLM (\d+) -> \1 \(\+0\); recipient G[A-Z2-7]{55} USDC 1 -> 10001 \(\+10000\); fee \d+ stroops paid by Quay's fund account G/);
      // MPP channel: 100 vouchers, closed by Quay's worker; the recipient got exactly their sum, the funder the rest.
      expect(stdout).toMatch(/mpp channel C[A-Z2-7]{55}: 25000000 deposited by funder G[A-Z2-7]{55} for recipient G[A-Z2-7]{55} .*registered with Quay/);
      expect(stdout).toMatch(/mpp channel: 100 requests paid by voucher \(100000 each\) in \d+ ms, cumulative 10000000/);
      expect(stdout).toMatch(/mpp channel close: tx [0-9a-f]{64} submitted by Quay's worker: paid 10000000 to the recipient, refunded 15000000 to the funder/);
      expect(stdout).toContain("mpp channel moved: recipient USDC 1 -> 10000001 (+10000000) (the vouchers' sum); funder USDC 0 -> 15000000 (+15000000) (the rest of the deposit)");
      expect(stdout).toMatch(/QUAY_API_KEY=\S+/);
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
