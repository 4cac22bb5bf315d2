import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { rpc } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { DevnetConfigError, startDevnet } from "../../apps/devnet/src/index";

const MAIN = fileURLToPath(new URL("../../apps/devnet/src/main.ts", import.meta.url));

describe("devnet as its own process (apps/devnet/src/main.ts)", () => {
  it("prints one listening line, serves the RPC with its flags, and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--port", "0", "--ledger-close-ms", "150", "--passphrase", "Quay Devnet ; 2026", "--protocol-version", "27"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let out = "";
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line; stdout: ${out}`)), 15_000);
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const m = /^devnet listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
      });
      const server = new rpc.Server(url, { allowHttp: true });
      const network = await server.getNetwork();
      expect(network.passphrase).toBe("Quay Devnet ; 2026");
      expect(Number(network.protocolVersion)).toBe(27);
      const first = (await server.getLatestLedger()).sequence;
      await new Promise((r) => setTimeout(r, 400));
      expect((await server.getLatestLedger()).sequence).toBeGreaterThan(first);

      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      expect(code).toBe(0);
      // Logs go to stderr; stdout holds only the listening line.
      expect(out.trim().split("\n")).toHaveLength(1);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("refuses bad flags with a clear message and a non-zero exit", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--ledger-close-ms", "fast"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(1);
    expect(err).toMatch(/--ledger-close-ms must be a non-negative integer/);
  });

  it("rejects bad in-process options with a typed error before binding anything", async () => {
    await expect(startDevnet({ ledgerCloseMs: 1 })).rejects.toBeInstanceOf(DevnetConfigError);
    await expect(startDevnet({ maxTxPerLedger: 0 })).rejects.toThrow(/maxTxPerLedger/);
    await expect(startDevnet({ minPersistentTtl: 10, maxEntryTtl: 5 })).rejects.toThrow(/maxEntryTtl/);
    await expect(startDevnet({ protocolVersion: 22 })).rejects.toThrow(/protocolVersion must be an integer 23\.\.28/);
  });
});
