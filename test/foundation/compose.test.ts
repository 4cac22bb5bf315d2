/**
 * docker-compose.yml cannot be run here (no Docker engine), so it is validated instead: a schema for
 * what Quay's stack needs, cross-checks against the repo (files it mounts or builds, variables it
 * sets), the Prometheus and Grafana files it mounts, and `docker compose config` when a client is
 * installed. Each check is also fed a broken copy, to prove it catches that kind of typo.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const composeFile = path.join(repoRoot, "docker-compose.yml");
const envExample = path.join(repoRoot, ".env.example");

const duration = z.string().regex(/^\d+(ms|s|m|h)$/, "a duration like 10s");
const healthcheck = z
  .object({
    test: z.union([
      z.tuple([z.enum(["CMD", "CMD-SHELL"]), z.string().min(1)], z.string()),
      z.string().min(1),
    ]),
    interval: duration.optional(),
    timeout: duration.optional(),
    retries: z.number().int().positive().optional(),
    start_period: duration.optional(),
  })
  .strict();
const dependency = z.object({ condition: z.enum(["service_started", "service_healthy", "service_completed_successfully"]) }).strict();
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const service = z
  .object({
    image: z.string().regex(/^[a-z0-9][a-z0-9._\/-]*:[A-Za-z0-9._-]+$/, "an image with an explicit tag").optional(),
    build: z.object({ context: z.string(), dockerfile: z.string() }).strict().optional(),
    command: z.array(z.string()).min(1).optional(),
    env_file: z.union([z.string(), z.array(z.string())]).optional(),
    environment: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), scalar).optional(),
    ports: z.array(z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}:)?\d{1,5}:\d{1,5}$/, "[ip:]host:container")).optional(),
    volumes: z.array(z.string().regex(/^[^:]+:\/[^:]*(:ro|:rw)?$/, "source:/target[:ro]")).optional(),
    depends_on: z.record(z.string(), dependency).optional(),
    restart: z.enum(["no", "always", "on-failure", "unless-stopped"]).optional(),
    healthcheck,
  })
  .strict()
  .refine((s) => s.image !== undefined || s.build !== undefined, "needs an image or a build");
const composeSchema = z
  .object({
    services: z.record(z.string(), service),
    volumes: z.record(z.string(), z.null()).optional(),
  })
  .catchall(z.unknown())
  .superRefine((doc, ctx) => {
    for (const key of Object.keys(doc)) {
      if (key !== "services" && key !== "volumes" && !key.startsWith("x-")) ctx.addIssue({ code: "custom", message: `unknown top-level key ${key}` });
    }
  });
type Compose = z.infer<typeof composeSchema>;

function loadCompose(source: string): unknown {
  return parse(source, { merge: true });
}

function envExampleKeys(): Set<string> | undefined {
  if (!existsSync(envExample)) return undefined;
  const keys = readFileSync(envExample, "utf8")
    .split("\n")
    .map((line) => /^([A-Z_][A-Z0-9_]*)=/.exec(line.trim())?.[1])
    .filter((key): key is string => key !== undefined);
  return new Set(keys);
}

/** Every problem found in a compose document; empty means it passes. */
function composeProblems(raw: unknown, source: string): string[] {
  const parsed = composeSchema.safeParse(raw);
  if (!parsed.success) return parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  const doc: Compose = parsed.data;
  const problems: string[] = [];
  const names = new Set(Object.keys(doc.services));
  const declaredVolumes = new Set(Object.keys(doc.volumes ?? {}));
  const hostPorts = new Map<string, string>();
  const known = envExampleKeys();

  for (const [name, svc] of Object.entries(doc.services)) {
    for (const target of Object.keys(svc.depends_on ?? {})) {
      if (!names.has(target)) problems.push(`${name}: depends_on ${target}, which is not a service`);
      if (target === name) problems.push(`${name}: depends on itself`);
    }
    for (const volume of svc.volumes ?? []) {
      const sourcePart = volume.split(":")[0]!;
      if (sourcePart.startsWith(".") || sourcePart.startsWith("/")) {
        if (!existsSync(path.resolve(repoRoot, sourcePart))) problems.push(`${name}: mounts ${sourcePart}, which is not in the repo`);
      } else if (!declaredVolumes.has(sourcePart)) {
        problems.push(`${name}: uses volume ${sourcePart}, which is not declared under volumes`);
      }
    }
    for (const mapping of svc.ports ?? []) {
      const hostPort = mapping.split(":").slice(-2)[0]!;
      const owner = hostPorts.get(hostPort);
      if (owner !== undefined) problems.push(`${name}: host port ${hostPort} is already taken by ${owner}`);
      hostPorts.set(hostPort, name);
    }
    if (svc.build !== undefined) {
      const dockerfile = path.resolve(repoRoot, svc.build.context, svc.build.dockerfile);
      if (!existsSync(dockerfile)) problems.push(`${name}: builds from ${svc.build.dockerfile}, which is not in the repo`);
      else if (!/^FROM node:22-bookworm-slim\b/m.test(readFileSync(dockerfile, "utf8"))) problems.push(`${name}: its Dockerfile is not FROM node:22-bookworm-slim (Node 22 LTS: SDK 16 needs Node >= 22)`);
    }
    const envFiles = svc.env_file === undefined ? [] : [svc.env_file].flat();
    // a service that reads Quay's .env must only set variables Quay documents
    if (known !== undefined && envFiles.includes(".env")) {
      for (const key of Object.keys(svc.environment ?? {})) {
        if (!known.has(key)) problems.push(`${name}: sets ${key}, which .env.example does not document`);
      }
    }
  }
  // cycles: depends_on must order the services, not tie them in a knot
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    if (done.has(name)) return;
    if (visiting.has(name)) {
      problems.push(`depends_on cycle: ${[...trail, name].join(" -> ")}`);
      return;
    }
    visiting.add(name);
    for (const next of Object.keys(doc.services[name]?.depends_on ?? {})) if (names.has(next)) visit(next, [...trail, name]);
    visiting.delete(name);
    done.add(name);
  };
  for (const name of names) visit(name, []);
  // ${VAR} without a default must be something an operator finds in .env.example
  for (const match of source.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(:?-[^}]*)?\}/g)) {
    const [, variable, fallback] = match;
    if (fallback === undefined && known !== undefined && !known.has(variable!)) problems.push(`\${${variable}} has no default and is not in .env.example`);
  }
  return problems;
}

const source = readFileSync(composeFile, "utf8");
const compose = loadCompose(source);
const services = (compose as { services: Record<string, Record<string, unknown>> }).services;

function mutated(change: (doc: { services: Record<string, Record<string, unknown>> }) => void): unknown {
  const copy = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
  change(copy);
  return copy;
}

describe("docker-compose.yml", () => {
  it("passes the schema and every cross-check", () => {
    expect(composeProblems(compose, source)).toEqual([]);
  });

  it("runs Quay's stack on the agreed images", () => {
    expect(Object.keys(services).sort()).toEqual(["api", "grafana", "postgres", "prometheus", "redis", "worker"]);
    expect(services.postgres?.image).toMatch(/^postgres:16(\.|$)/);
    expect(services.redis?.image).toMatch(/^redis:7(\.|$)/);
    expect(services.prometheus?.image).toMatch(/^prom\/prometheus:/);
    expect(services.grafana?.image).toMatch(/^grafana\/grafana:/);
    for (const app of ["api", "worker"]) {
      expect(services[app]?.build).toBeDefined();
      expect(services[app]?.env_file).toBe(".env");
      const environment = services[app]?.environment as Record<string, string>;
      expect(new URL(environment.DATABASE_URL!).hostname).toBe("postgres");
      expect(new URL(environment.REDIS_URL!).hostname).toBe("redis");
    }
  });

  it("waits for healthy dependencies and checks the api's /healthz on the port it listens on", () => {
    const api = services.api as { environment: Record<string, number | string>; healthcheck: { test: string[] }; depends_on: Record<string, { condition: string }> };
    expect(api.depends_on.postgres?.condition).toBe("service_healthy");
    expect(api.depends_on.redis?.condition).toBe("service_healthy");
    expect(api.healthcheck.test.join(" ")).toContain(`http://127.0.0.1:${api.environment.API_PORT}/healthz`);
    const worker = services.worker as { environment: Record<string, number | string>; healthcheck: { test: string[] } };
    expect(worker.healthcheck.test.join(" ")).toContain(`http://127.0.0.1:${worker.environment.WORKER_PORT}/healthz`);
  });

  it("catches the typos it is there to catch", () => {
    const problems = (change: Parameters<typeof mutated>[0]) => composeProblems(mutated(change), source);
    expect(problems((d) => (d.services.worker!.depends_on = { postgress: { condition: "service_healthy" } }))).toContain(
      "worker: depends_on postgress, which is not a service",
    );
    expect(problems((d) => delete d.services.redis!.healthcheck).join("\n")).toMatch(/redis\.healthcheck/);
    expect(problems((d) => (d.services.grafana!.volumes = ["./ops/grafana/provisioninng:/etc/grafana/provisioning:ro"]))).toContain(
      "grafana: mounts ./ops/grafana/provisioninng, which is not in the repo",
    );
    expect(problems((d) => (d.services.redis!.volumes = ["redis-dta:/data"]))).toContain("redis: uses volume redis-dta, which is not declared under volumes");
    expect(problems((d) => (d.services.postgres!.depends_on = { api: { condition: "service_healthy" } })).join("\n")).toMatch(/depends_on cycle/);
    expect(problems((d) => (d.services.grafana!.ports = ["4021:3000"]))).toContain("grafana: host port 4021 is already taken by api");
    expect(problems((d) => (d.services.postgres!.healthcheck = { test: ["CMD-SHELL", "pg_isready"], interval: "5 seconds" })).join("\n")).toMatch(/interval/);
    expect(problems((d) => (d.services.redis!.image = "redis")).join("\n")).toMatch(/explicit tag/);
    if (existsSync(envExample)) {
      const apiEnv = services.api!.environment as Record<string, unknown>;
      expect(problems((d) => (d.services.api!.environment = { ...apiEnv, DATABSE_URL: "x" }))).toContain(
        "api: sets DATABSE_URL, which .env.example does not document",
      );
      expect(composeProblems(compose, source.replace("${POSTGRES_PASSWORD:-quay}", "${POSTGRES_PASWORD}"))).toContain(
        "${POSTGRES_PASWORD} has no default and is not in .env.example",
      );
    }
  });
});

describe("the monitoring files compose mounts", () => {
  const prometheusFile = path.join(repoRoot, "ops/prometheus/prometheus.yml");
  const scrapeSchema = z.object({
    scrape_configs: z.array(
      z.object({ job_name: z.string(), metrics_path: z.string().optional(), static_configs: z.array(z.object({ targets: z.array(z.string()) })) }),
    ),
  });

  it("has Prometheus scrape /metrics of the api and the worker at their compose addresses", () => {
    const config = scrapeSchema.parse(parse(readFileSync(prometheusFile, "utf8")));
    const targets = config.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets.map((t) => ({ t, path: job.metrics_path ?? "/metrics" }))));
    const apiPort = (services.api!.environment as Record<string, unknown>).API_PORT;
    const workerPort = (services.worker!.environment as Record<string, unknown>).WORKER_PORT;
    expect(targets).toEqual(
      expect.arrayContaining([
        { t: `api:${apiPort}`, path: "/metrics" },
        { t: `worker:${workerPort}`, path: "/metrics" },
      ]),
    );
  });

  it("passes promtool check config, when promtool is installed", (ctx) => {
    const probe = spawnSync("promtool", ["--version"], { stdio: "ignore" });
    if (probe.error !== undefined) {
      console.log("[compose.test] promtool not installed: skipping promtool check config (the schema check above still ran)");
      ctx.skip();
    }
    const result = spawnSync("promtool", ["check", "config", prometheusFile], { encoding: "utf8", timeout: 30_000 });
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it("gives Grafana the compose Prometheus as its default data source", () => {
    const datasources = z
      .object({ apiVersion: z.literal(1), datasources: z.array(z.object({ type: z.string(), url: z.string(), isDefault: z.boolean().optional() })) })
      .parse(parse(readFileSync(path.join(repoRoot, "ops/grafana/provisioning/datasources/prometheus.yml"), "utf8")));
    const prometheus = datasources.datasources.find((d) => d.type === "prometheus");
    expect(prometheus?.url).toBe("http://prometheus:9090");
    expect(prometheus?.isDefault).toBe(true);
    const grafanaMounts = (services.grafana!.volumes as string[]).map((v) => v.split(":").slice(0, 2).join(":"));
    expect(grafanaMounts).toContain("./ops/grafana/provisioning:/etc/grafana/provisioning");
  });
});

describe("the dashboard and the alert rules compose provisions", () => {
  const mounts = (name: string) => new Map((services[name]!.volumes as string[]).map((v) => [v.split(":")[0]!, v.split(":")[1]!]));

  it("mounts the Quay dashboard where Grafana's dashboard provider reads it", () => {
    const provider = z
      .object({ apiVersion: z.literal(1), providers: z.array(z.object({ type: z.literal("file"), options: z.object({ path: z.string() }) })).min(1) })
      .parse(parse(readFileSync(path.join(repoRoot, "ops/grafana/provisioning/dashboards/quay.yml"), "utf8")));
    expect(mounts("grafana").get("./ops/grafana/dashboards")).toBe(provider.providers[0]!.options.path);
    const dashboard = JSON.parse(readFileSync(path.join(repoRoot, "ops/grafana/dashboards/quay.json"), "utf8")) as { uid: string; panels: unknown[] };
    expect(dashboard.uid).toBe("quay-overview");
    expect(dashboard.panels.length).toBeGreaterThan(0);
  });

  it("gives Prometheus its config and the rule files it loads, relative to it", () => {
    expect(mounts("prometheus").get("./ops/prometheus")).toBe("/etc/prometheus");
    const config = z.object({ rule_files: z.array(z.string()).min(1) }).parse(parse(readFileSync(path.join(repoRoot, "ops/prometheus/prometheus.yml"), "utf8")));
    for (const pattern of config.rule_files) {
      expect(path.isAbsolute(pattern), pattern).toBe(false);
      const dir = path.join(repoRoot, "ops/prometheus", path.dirname(pattern));
      expect(readdirSync(dir).filter((f) => f.endsWith(".yml")).length, pattern).toBeGreaterThan(0);
    }
  });
});

describe("docker compose config", () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "quay-compose-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** The docker client that can read compose files without an engine, if this machine has one. */
  function composeCommand(): { file: string; args: string[] } | undefined {
    const standalone = spawnSync("docker-compose", ["version"], { stdio: "ignore", timeout: 30_000 });
    if (standalone.status === 0) return { file: "docker-compose", args: [] };
    const plugin = spawnSync("docker", ["compose", "version"], { stdio: "ignore", timeout: 30_000 });
    if (plugin.status === 0) return { file: "docker", args: ["compose"] };
    return undefined;
  }

  it("accepts the file, when a compose client is installed", (ctx) => {
    const command = composeCommand();
    if (command === undefined) {
      console.log("[compose.test] neither docker-compose nor the docker compose plugin is installed: skipping `compose config -q` (the schema check still ran)");
      ctx.skip();
      return;
    }
    // env_file: .env is the operator's own file; stand in .env.example for it, in a mirror of the repo
    for (const entry of readdirSync(repoRoot)) if (entry !== ".env") symlinkSync(path.join(repoRoot, entry), path.join(scratch, entry));
    writeFileSync(path.join(scratch, ".env"), existsSync(envExample) ? readFileSync(envExample) : "");
    const result = spawnSync(command.file, [...command.args, "-f", path.join(scratch, "docker-compose.yml"), "config", "-q"], {
      cwd: scratch,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? "", HOME: scratch },
    });
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });
});
