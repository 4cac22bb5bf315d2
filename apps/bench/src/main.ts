/**
 * `npm run bench [-- --profile smoke|full] [--out-dir DIR] [--name NAME] [--allow-busy]
 *                  [--ledger-ms 5000,1000] [--pool-sizes 1,10,50] [--loads 0.8,1,1.3]]`
 *
 * Settles real x402 payments through Quay and through the x402 reference facilitator, side by
 * side on the devnet, at rising open-loop load; writes NAME.json, NAME.md and NAME.svg to DIR
 * (default ops/bench/results, NAME latest for the full profile and smoke for the smoke one).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { allowClientHttpRpc } from "@quay/cli/demo";
import { renderChart } from "./chart";
import { blockNonLoopbackNetwork } from "@quay/cli/demo";
import { REPO_ROOT } from "./processes";
import { BadProfileOverride, profileNamed, UnknownProfile, withOverrides } from "./profiles";
import { renderMarkdown } from "./report";
import { runBenchmark } from "./run";

/** Above this 1-minute load average, the machine is busy: other work would be measured too. */
const BUSY_LOAD_AVERAGE = 1.5;

const parseFlags = () =>
  parseArgs({
    options: {
      profile: { type: "string", default: "full" },
      "out-dir": { type: "string", default: path.join(REPO_ROOT, "ops/bench/results") },
      name: { type: "string" },
      "allow-busy": { type: "boolean", default: false },
      "log-level": { type: "string", default: "warn" },
      "ledger-ms": { type: "string" },
      "pool-sizes": { type: "string" },
      loads: { type: "string" },
    },
    strict: true,
  }).values;

const say = (line: string) => process.stdout.write(`bench: ${line}\n`);

async function main(): Promise<void> {
  const values = parseFlags();
  const profile = withOverrides(profileNamed(values.profile), {
    ...(values["ledger-ms"] ? { ledgerMs: values["ledger-ms"] } : {}),
    ...(values["pool-sizes"] ? { poolSizes: values["pool-sizes"] } : {}),
    ...(values.loads ? { loads: values.loads } : {}),
  });
  const overridden = Boolean(values["ledger-ms"] || values["pool-sizes"] || values.loads);
  const load = os.loadavg()[0] ?? 0;
  if (profile.name === "full" && load >= BUSY_LOAD_AVERAGE && !values["allow-busy"]) {
    say(`load average is ${load.toFixed(2)} (≥ ${BUSY_LOAD_AVERAGE}): the full profile would measure the other work too. Rerun when the machine is quiet, or pass --allow-busy.`);
    process.exitCode = 3;
    return;
  }
  // Nothing leaves loopback; the x402 client may use the devnet's plain-http RPC.
  blockNonLoopbackNetwork();
  allowClientHttpRpc();

  const result = await runBenchmark({ profile, logLevel: values["log-level"], say });
  const busy = result.machine.loadAverageAtStart[0]! >= BUSY_LOAD_AVERAGE;
  const final = busy
    ? { ...result, notes: [...result.notes, `the machine was busy (1-minute load average ${result.machine.loadAverageAtStart[0]} at start): absolute numbers are pessimistic`] }
    : result;

  // A partial matrix never overwrites latest.* unless asked to by --name.
  const name = values.name ?? (profile.name === "full" && !overridden ? "latest" : overridden ? `${profile.name}-custom` : profile.name);
  const dir = path.resolve(values["out-dir"]);
  mkdirSync(dir, { recursive: true });
  const written = [
    [`${name}.json`, `${JSON.stringify(final, null, 2)}\n`],
    [`${name}.md`, renderMarkdown(final)],
    [`${name}.svg`, `${renderChart(final)}\n`],
  ] as const;
  for (const [file, text] of written) writeFileSync(path.join(dir, file), text);
  say(`done in ${Math.round(final.wallSeconds)} s; wrote ${written.map(([f]) => path.join(dir, f)).join(", ")}`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    // Bad flags (parseArgs' ERR_PARSE_ARGS_*) and bad profile choices are the caller's to fix: one line, no stack.
    const code = (error as { code?: unknown } | null)?.code;
    const badFlag = typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
    if (error instanceof Error && (error instanceof UnknownProfile || error instanceof BadProfileOverride || badFlag)) {
      process.stderr.write(`bench: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
