/**
 * The Prometheus config and alert rules pass promtool (config, rules, and the unit tests in
 * ops/prometheus/tests that make each alert fire), every alert has a firing unit test and a line
 * in ops/README.md, and the dashboard's panels all have queries. Debian's promtool runs them.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { DASHBOARD, OPS, requireBinary, RULES_DIR } from "./helpers";

const promtool = (args: string[], cwd = path.join(OPS, "prometheus")) => spawnSync("promtool", args, { cwd, encoding: "utf8", timeout: 60_000 });

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string; annotations?: Record<string, string> }> }>;
}
const rules = parse(readFileSync(path.join(RULES_DIR, "quay.rules.yml"), "utf8")) as RuleFile;
const alerts = rules.groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined));

describe("Prometheus config and alert rules", () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "quay-rules-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("pass promtool check config (with the rule files it loads) and check rules", () => {
    requireBinary("promtool");
    const config = promtool(["check", "config", "prometheus.yml"]);
    expect(config.status, config.stdout + config.stderr).toBe(0);
    expect(config.stdout + config.stderr).toMatch(/SUCCESS: \d+ rules found/);
    const checked = promtool(["check", "rules", "rules/quay.rules.yml"]);
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);
  });

  it("make each alert fire, and stay quiet, where the unit tests say (promtool test rules)", () => {
    const result = promtool(["test", "rules", "tests/quay.rules.test.yml"]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("SUCCESS");
  });

  it("fail those unit tests when an alert's threshold is broken", () => {
    cpSync(path.join(OPS, "prometheus"), path.join(scratch, "prometheus"), { recursive: true });
    const file = path.join(scratch, "prometheus/rules/quay.rules.yml");
    writeFileSync(file, readFileSync(file, "utf8").replace('max by (network) (quay_pool_accounts{state="free"}) == 0', 'max by (network) (quay_pool_accounts{state="free"}) < 0'));
    // only the pool's unit test, to keep this quick
    const testsFile = path.join(scratch, "prometheus/tests/quay.rules.test.yml");
    const suite = parse(readFileSync(testsFile, "utf8")) as { tests: Array<{ name: string }> };
    suite.tests = suite.tests.filter((t) => t.name === "pool exhausted");
    expect(suite.tests).toHaveLength(1);
    writeFileSync(testsFile, stringify(suite));
    const result = promtool(["test", "rules", "tests/quay.rules.test.yml"], path.join(scratch, "prometheus"));
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/QuayPoolExhausted/);
  });

  it("give every alert a firing unit test, a summary, and a line in ops/README.md", () => {
    const tests = readFileSync(path.join(OPS, "prometheus/tests/quay.rules.test.yml"), "utf8");
    const readme = readFileSync(path.join(OPS, "README.md"), "utf8");
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    for (const alert of alerts) {
      expect(tests, alert.alert).toMatch(new RegExp(`alertname: ${alert.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
      expect(alert.annotations?.summary, alert.alert).toBeTruthy();
      expect(readme, alert.alert).toMatch(new RegExp(`^\\| \`${alert.alert}\` \\|`, "m"));
    }
  });

  it("give every dashboard panel a query, on the provisioned Prometheus data source", () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { uid: string; panels: Array<{ type: string; title: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> }> };
    const panels = dashboard.panels.filter((p) => p.type !== "row");
    expect(panels.length).toBeGreaterThan(20);
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      expect(panel.datasource?.uid, panel.title).toBe("prometheus");
    }
    const provisioning = parse(readFileSync(path.join(OPS, "grafana/provisioning/dashboards/quay.yml"), "utf8")) as { providers: Array<{ options: { path: string } }> };
    expect(provisioning.providers[0]!.options.path).toBe("/etc/grafana/dashboards");
  });
});
