/**
 * `npm run bench [-- --profile smoke|full] [--part all|x402|mpp] [--out-dir DIR] [--name NAME] [--allow-busy]
 *                  [--ledger-ms 5000,1000] [--pool-sizes 1,10,50] [--loads 0.8,1,1.3]]`
 *
 * x402 part: settles real x402 payments through Quay and through the x402 reference facilitator,
 * side by side on the devnet, at rising open-loop load; writes NAME.json, NAME.md and NAME.svg to
 * DIR (default ops/bench/results, NAME latest for the full profile and smoke for the smoke one).
 * MPP part: channel vouchers through Quay's relay against an mppx server in local mode, a restart
 * of the api mid-run, and sponsored charges; writes mpp.json and mpp.md (mpp-smoke.* for smoke).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { allowClientHttpRpc } from "@quay/demo";
import { renderChart } from "./chart";
import { blockNonLoopbackNetwork } from "@quay/demo";
import { REPO_ROOT } from "./processes";
import { BadProfileOverride, profileNamed, UnknownProfile, withOverrides } from "./profiles";
import { renderMarkdown } from "./report";
import { describeMachine, runBenchmark } from "./run";
import { mppProfileFor } from "./mpp/profile";
import { renderMppMarkdown } from "./mpp/report";
import { runMppBenchmark } from "./mpp/run";
import { startServices } from "./stack";

/** Above this 1-minute load average, the machine is busy: other work would be measured too. */
const BUSY_LOAD_AVERAGE = 1.5;

const parseFlags = () =>
  parseArgs({
    options: {
      profile: { type: "string", default: "full" },
      part: { type: "string", default: "all" },
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
  const part = values.part;
  if (part !== "all" && part !== "x402" && part !== "mpp") throw new BadProfileOverride(`--part must be all, x402 or mpp, got "${part}"`);
  const load = os.loadavg()[0] ?? 0;
  if (profile.name === "full" && load >= BUSY_LOAD_AVERAGE && !values["allow-busy"]) {
    say(`load average is ${load.toFixed(2)} (≥ ${BUSY_LOAD_AVERAGE}): the full profile would measure the other work too. Rerun when the machine is quiet, or pass --allow-busy.`);
    process.exitCode = 3;
    return;
  }
  // Nothing leaves loopback; the x402 client may use the devnet's plain-http RPC.
  blockNonLoopbackNetwork();
  allowClientHttpRpc();

  const dir = path.resolve(values["out-dir"]);
  mkdirSync(dir, { recursive: true });
  if (part !== "mpp") await runX402Part(profile, overridden, values, dir);
  if (part !== "x402") await runMppPart(profile.name, values, dir);
}

async function runMppPart(profileName: string, values: ReturnType<typeof parseFlags>, dir: string): Promise<void> {
  const mppProfile = mppProfileFor(profileName);
  const machine = describeMachine(new Date());
  say(`MPP part (${mppProfile.name}): starting Postgres and Redis`);
  const services = await startServices();
  const interrupted = () => void services.stop().finally(() => process.exit(130));
  process.once("SIGINT", interrupted);
  const result = await runMppBenchmark({ services, profile: mppProfile, machine, logLevel: values["log-level"], say }).finally(async () => {
    process.off("SIGINT", interrupted);
    await services.stop();
  });
  const busy = machine.loadAverageAtStart[0]! >= BUSY_LOAD_AVERAGE;
  const final = busy ? { ...result, notes: [...result.notes, `the machine was busy (1-minute load average ${machine.loadAverageAtStart[0]} at start): absolute numbers are pessimistic`] } : result;
  const name = values.name && values.part === "mpp" ? values.name : mppProfile.name;
  const written = [
    [`${name}.json`, `${JSON.stringify(final, null, 2)}\n`],
    [`${name}.md`, renderMppMarkdown(final)],
  ] as const;
  for (const [file, text] of written) writeFileSync(path.join(dir, file), text);
  say(`MPP part done in ${Math.round(final.wallSeconds)} s; wrote ${written.map(([f]) => path.join(dir, f)).join(", ")}`);
}

async function runX402Part(profile: ReturnType<typeof withOverrides>, overridden: boolean, values: ReturnType<typeof parseFlags>, dir: string): Promise<void> {
  const result = await runBenchmark({ profile, logLevel: values["log-level"], say });
  const busy = result.machine.loadAverageAtStart[0]! >= BUSY_LOAD_AVERAGE;
  const final = busy
    ? { ...result, notes: [...result.notes, `the machine was busy (1-minute load average ${result.machine.loadAverageAtStart[0]} at start): absolute numbers are pessimistic`] }
    : result;

  // A partial matrix never overwrites latest.* unless asked to by --name.
  const name = values.name ?? (profile.name === "full" && !overridden ? "latest" : overridden ? `${profile.name}-custom` : profile.name);
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
