import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { Config, ConfigError } from "@quay/config";

const run = promisify(execFile);
const FUND_SECRET = "SCZANGBA5YHTNYVVV4C3U252E2B6P6F5T3U6MM63WBSBZATAQI3EBTQ4";
const valid = {
  DATABASE_URL: "postgres://quay:hunter2@127.0.0.1:5432/quay",
  REDIS_URL: "redis://127.0.0.1:6379",
  STELLAR_TESTNET_RPC_URL: "http://127.0.0.1:8000",
  STELLAR_TESTNET_FUND_SECRET: FUND_SECRET,
};

describe("Config.load", () => {
  it("reads a valid environment with defaults", () => {
    const config = Config.load(valid);
    expect(config.database.url).toBe(valid.DATABASE_URL);
    expect(config.api).toEqual({ host: "127.0.0.1", port: 4021 });
    expect(config.logLevel).toBe("info");
    expect(config.networks).toEqual([
      {
        id: "stellar:testnet",
        passphrase: "Test SDF Network ; September 2015",
        rpcUrl: "http://127.0.0.1:8000",
        rpcUrls: ["http://127.0.0.1:8000"],
        fundSecret: FUND_SECRET,
        assets: ["CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA"],
        maxFeeStroops: 1_000_000n,
      },
    ]);
  });

  it("serves several networks, each with its own RPC", () => {
    const config = Config.load({
      ...valid,
      QUAY_NETWORKS: "stellar:testnet,stellar:pubnet",
      STELLAR_PUBNET_RPC_URL: "https://rpc.example.org",
      STELLAR_PUBNET_FUND_SECRET: FUND_SECRET,
      STELLAR_PUBNET_MAX_FEE_STROOPS: "250000",
    });
    expect(config.networks.map((n) => [n.id, n.rpcUrl, n.maxFeeStroops])).toEqual([
      ["stellar:testnet", "http://127.0.0.1:8000", 1_000_000n],
      ["stellar:pubnet", "https://rpc.example.org", 250_000n],
    ]);
  });

  it("takes several RPCs of one network: STELLAR_<NET>_RPC_URL first, then STELLAR_<NET>_RPC_URLS, each once", () => {
    const config = Config.load({ ...valid, STELLAR_TESTNET_RPC_URLS: "http://127.0.0.1:8001, http://127.0.0.1:8000,http://127.0.0.1:8002" });
    expect(config.networks[0]).toMatchObject({ rpcUrl: "http://127.0.0.1:8000", rpcUrls: ["http://127.0.0.1:8000", "http://127.0.0.1:8001", "http://127.0.0.1:8002"] });
    const { STELLAR_TESTNET_RPC_URL: _, ...withoutOne } = valid;
    expect(Config.load({ ...withoutOne, STELLAR_TESTNET_RPC_URLS: "http://127.0.0.1:8001,http://127.0.0.1:8002" }).networks[0]!.rpcUrl).toBe("http://127.0.0.1:8001");
    expect(() => Config.load({ ...valid, STELLAR_TESTNET_RPC_URLS: "http://a,ftp://b" })).toThrow(/STELLAR_TESTNET_RPC_URLS/);
  });

  it.each([
    [{}, "DATABASE_URL", "set"],
    [{ ...valid, DATABASE_URL: "mysql://x/y" }, "DATABASE_URL", "postgres://"],
    [{ ...valid, REDIS_URL: "not a url" }, "REDIS_URL", "redis://"],
    [{ ...valid, API_PORT: "70000" }, "API_PORT", "at most 65535"],
    [{ ...valid, API_PORT: "http" }, "API_PORT", "a number"],
    [{ ...valid, LOG_LEVEL: "loud" }, "LOG_LEVEL", "one of"],
    [{ ...valid, QUAY_NETWORKS: "stellar:moon" }, "QUAY_NETWORKS", "one of stellar:testnet, stellar:pubnet"],
    [{ ...valid, QUAY_NETWORKS: "stellar:pubnet" }, "STELLAR_PUBNET_RPC_URL", "network stellar:pubnet is enabled"],
    [{ ...valid, STELLAR_TESTNET_FUND_SECRET: "GABC" }, "STELLAR_TESTNET_FUND_SECRET", "secret seed"],
    [{ ...valid, STELLAR_TESTNET_ASSETS: "USDC" }, "STELLAR_TESTNET_ASSETS", "contract address"],
    [{ ...valid, QUAY_MASTER_KEY: "c2hvcnQ=" }, "QUAY_MASTER_KEY", "32 bytes"],
  ])("names the bad variable in one line: %j", (env, variable, expected) => {
    let error: unknown;
    try {
      Config.load(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect((error as ConfigError).variable).toBe(variable);
    expect(message).toContain(variable);
    expect(message).toContain(expected);
    expect(message).not.toContain("\n");
  });

  it("never echoes a value, which may hold a secret", () => {
    expect(() => Config.load({ ...valid, DATABASE_URL: "mysql://user:s3cr3t@h/db" })).toThrow(/^(?!.*s3cr3t)/);
  });

  it("treats an empty variable as unset so defaults apply", () => {
    expect(Config.load({ ...valid, API_PORT: "" }).api.port).toBe(4021);
  });
});

describe("a process started with bad configuration", () => {
  it.each(["apps/api/src/main.ts", "apps/worker/src/main.ts"])(
    "%s exits with one line naming the variable, no stack trace",
    async (entry) => {
      const env = { PATH: process.env.PATH ?? "", REDIS_URL: "redis://127.0.0.1:1", DATABASE_URL: "postgres://u:topsecret@h/db", API_PORT: "-1", WORKER_PORT: "-1" };
      const outcome = await run("npx", ["tsx", entry], { env, cwd: process.cwd() }).then(
        () => ({ code: 0, stderr: "" }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
      expect(outcome.code).toBe(78);
      const lines = outcome.stderr.split("\n").filter((l) => l.trim() !== "" && !l.includes("npm warn"));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^invalid configuration: (API|WORKER)_PORT must be a number at least 0$/);
      expect(outcome.stderr).not.toContain("topsecret");
      expect(outcome.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    },
  );
});

describe(".env.example", () => {
  it("documents every variable Quay reads, and nothing else", async () => {
    const { readFile } = await import("node:fs/promises");
    const text = await readFile(new URL("../../.env.example", import.meta.url), "utf8");
    const documented = text
      .split("\n")
      .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
      .map((line) => line.slice(0, line.indexOf("=")));
    expect([...documented].sort()).toEqual([...Config.variables()].sort());
  });
});
