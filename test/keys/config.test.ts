import { describe, expect, it } from "vitest";
import { Config, ConfigError } from "@quay/config";

const base = {
  DATABASE_URL: "postgres://quay:quay@127.0.0.1:5432/quay",
  REDIS_URL: "redis://127.0.0.1:6379",
  STELLAR_TESTNET_RPC_URL: "http://127.0.0.1:8000",
  STELLAR_TESTNET_FUND_SECRET: "SCZANGBA5YHTNYVVV4C3U252E2B6P6F5T3U6MM63WBSBZATAQI3EBTQ4",
};

describe("API key and rate-limit configuration", () => {
  it("defaults: keys required on x402, optional on /supported, 600/min per key, 120/min per IP", () => {
    const expected = {
      apiKeys: { x402RequireKey: true, supportedRequireKey: false },
      rateLimit: { perMinute: 600, perMinuteAnonymous: 120 },
    };
    expect(Config.load(base)).toMatchObject(expected);
    expect(Config.apiAccessDefaults()).toEqual(expected);
  });

  it("reads every variable", () => {
    const config = Config.load({
      ...base,
      X402_REQUIRE_API_KEY: "false",
      SUPPORTED_REQUIRE_API_KEY: "true",
      RATE_LIMIT_PER_MINUTE: "50",
      RATE_LIMIT_PER_MINUTE_ANONYMOUS: "7",
    });
    expect(config.apiKeys).toEqual({ x402RequireKey: false, supportedRequireKey: true });
    expect(config.rateLimit).toEqual({ perMinute: 50, perMinuteAnonymous: 7 });
  });

  it.each([
    ["X402_REQUIRE_API_KEY", "yes", "one of true, false"],
    ["SUPPORTED_REQUIRE_API_KEY", "1", "one of true, false"],
    ["RATE_LIMIT_PER_MINUTE", "0", "at least 1"],
    ["RATE_LIMIT_PER_MINUTE_ANONYMOUS", "ten", "a number"],
  ])("names %s when it is %j", (variable, value, expected) => {
    const error = (() => {
      try {
        Config.load({ ...base, [variable]: value });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toContain(expected);
  });

  it("sizes a worker's database pool to its settle jobs unless DATABASE_POOL_MAX says otherwise", () => {
    expect(Config.load({ ...base, SETTLE_CONCURRENCY: "50" }).database).toMatchObject({ poolMax: 10, workerPoolMax: 60 });
    expect(Config.load({ ...base, SETTLE_CONCURRENCY: "50", DATABASE_POOL_MAX: "" }).database).toMatchObject({ poolMax: 10, workerPoolMax: 60 });
    expect(Config.load({ ...base, SETTLE_CONCURRENCY: "50", DATABASE_POOL_MAX: "25" }).database).toMatchObject({ poolMax: 25, workerPoolMax: 25 });
  });

  it("reads only the database for `quay keys`, naming a bad DATABASE_URL without its value", () => {
    expect(Config.database({ DATABASE_URL: base.DATABASE_URL })).toEqual({ url: base.DATABASE_URL, poolMax: 10 });
    expect(() => Config.database({ DATABASE_URL: "mysql://root:hunter2@db/x" })).toThrow(/^invalid configuration: DATABASE_URL must be a URL starting with postgres:\/\//);
    expect(() => Config.database({ DATABASE_URL: "mysql://root:hunter2@db/x" })).not.toThrow(/hunter2/);
  });

  it("knows the networks a key may be scoped to", () => {
    expect(Config.networkIds()).toEqual(["stellar:testnet", "stellar:pubnet"]);
  });
});
