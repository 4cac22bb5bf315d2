/**
 * For the ops tests: the metric names the dashboard and the alert rules use, the metric families a
 * /metrics answer declares, and a real Prometheus (Debian's binary) run against test targets.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { freePort } from "@quay/localservices";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const OPS = path.join(REPO_ROOT, "ops");
export const RULES_DIR = path.join(OPS, "prometheus/rules");
export const DASHBOARD = path.join(OPS, "grafana/dashboards/quay.json");

/** Every PromQL expression of the dashboard. */
export function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/** Every expression of the alert and recording rules. */
export function ruleExpressions(): string[] {
  return readdirSync(RULES_DIR)
    .filter((f) => f.endsWith(".yml"))
    .flatMap((f) => {
      const doc = parse(readFileSync(path.join(RULES_DIR, f), "utf8")) as { groups: Array<{ rules: Array<{ expr: string }> }> };
      return doc.groups.flatMap((g) => g.rules.map((r) => r.expr));
    });
}

/** Quay's metric names an expression reads (recording-rule names have a colon and are not metrics). */
export function quayMetricNames(expressions: readonly string[]): Set<string> {
  return new Set(expressions.flatMap((e) => [...e.matchAll(/\bquay_[a-z0-9_]+/g)].map((m) => m[0])));
}

/** The families a Prometheus text exposition declares, by name, with their type. */
export function families(exposition: string): Map<string, string> {
  return new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The family a sample name belongs to: histograms' _bucket, _count and _sum are their family's. */
export function familyOf(name: string, declared: ReadonlyMap<string, string>): string | undefined {
  if (declared.has(name)) return name;
  const base = name.replace(/_(bucket|count|sum)$/, "");
  return declared.get(base) === "histogram" || declared.get(base) === "summary" ? base : undefined;
}

export function requireBinary(name: string): void {
  const probe = spawnSync(name, ["--version"], { stdio: "ignore" });
  if (probe.error !== undefined) throw new Error(`${name} is not installed: run bash ops/bootstrap.sh (Debian package prometheus)`);
}

export interface RunningPrometheus {
  readonly url: string;
  /** An instant query's vector: each sample's labels and value. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** Retries `expr` until `accept` holds for its vector, or throws with the last answer. */
  waitFor(expr: string, accept: (vector: Array<{ metric: Record<string, string>; value: number }>) => boolean, timeoutMs?: number): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** A range query's matrix, NaN points dropped. */
  queryRange(expr: string, startSeconds: number, endSeconds: number, stepSeconds: number): Promise<Array<{ metric: Record<string, string>; points: Array<[number, number]> }>>;
  stop(): Promise<void>;
}

/** Starts Prometheus on a free loopback port, scraping `targets` (job name → host:port) every second, with Quay's rules loaded. */
export async function startPrometheus(targets: Record<string, string>): Promise<RunningPrometheus> {
  requireBinary("prometheus");
  const dir = mkdtempSync(path.join(os.tmpdir(), "quay-prometheus-"));
  const config = {
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    rule_files: [path.join(RULES_DIR, "*.yml")],
    scrape_configs: Object.entries(targets).map(([job, target]) => ({ job_name: job, static_configs: [{ targets: [target] }] })),
  };
  writeFileSync(path.join(dir, "prometheus.yml"), JSON.stringify(config));
  const port = await freePort("127.0.0.1");
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  const query: RunningPrometheus["query"] = async (expr) => {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== "success" || body.data?.resultType !== "vector") throw new Error(`query ${expr} failed: ${body.error ?? JSON.stringify(body)}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };

  const queryRange: RunningPrometheus["queryRange"] = async (expr, start, end, step) => {
    const res = await fetch(`${url}/api/v1/query_range?${new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) })}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
    if (body.status !== "success" || !body.data) throw new Error(`query_range ${expr} failed: ${body.error ?? JSON.stringify(body)}`);
    return body.data.result.map((r) => ({
      metric: r.metric,
      points: r.values.map(([t, v]): [number, number] => [t, Number(v)]).filter(([, v]) => Number.isFinite(v)),
    }));
  };

  return {
    url,
    query,
    queryRange,
    async waitFor(expr, accept, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      let last: Awaited<ReturnType<typeof query>> = [];
      for (;;) {
        last = await query(expr);
        if (accept(last)) return last;
        if (Date.now() > until) throw new Error(`${expr} never matched; last answer: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    stop,
  };
}
