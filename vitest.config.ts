import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/setup/services.ts"],
    pool: "forks",
    maxWorkers: 2,
    // Generous: several tests wait on ledgers, worker restarts and retention windows, which a busy
    // 2-core machine stretches; a test that hangs still fails, only later.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: ["default"],
  },
});
