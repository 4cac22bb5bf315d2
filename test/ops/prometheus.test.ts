/**
 * Quay under a real Prometheus: the api and the worker run (test/settle/harness.ts), Prometheus
 * scrapes their /metrics every second, paid requests go through @x402/express and @x402/fetch, and
 * Prometheus's HTTP API must then count exactly those settlements. The same running processes
 * show that every metric the dashboard and the alert rules read is declared in /metrics.
 */
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair } from "@stellar/stellar-sdk";
import { allowClientHttpRpc, createBuyer, startSeller, type Seller } from "@quay/demo";
import { fund } from "../devnet/helpers";
import { startQuay, USDC_SAC, type QuayHarness } from "../settle/harness";
import { dashboardExpressions, families, familyOf, OPS, quayMetricNames, ruleExpressions, startPrometheus, type RunningPrometheus } from "./helpers";
import { renderSvg, type PanelData } from "./snapshot";

/** QUAY_OPS_SNAPSHOT=1 also renders ops/dashboard-snapshot.svg from what Prometheus recorded, over more payments. */
const SNAPSHOT = process.env.QUAY_OPS_SNAPSHOT === "1";
const PAYMENTS = SNAPSHOT ? 15 : 3;
const PRICE = 10_000n;

describe("Quay scraped by a real Prometheus", () => {
  let quay: QuayHarness;
  let seller: Seller;
  let prometheus: RunningPrometheus;
  let workerUrl: string;
  const undo: Array<() => void> = [];

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    // 1 s ledgers: the devnet's fee statistics cover the last 50 ledgers, which must still hold the
    // payments of the first test when the second reads the network-fee gauge.
    quay = await startQuay({ poolSize: 2, ledgerCloseMs: 1_000 });
    await quay.worker!.running.http.listen({ host: "127.0.0.1", port: 0 });
    workerUrl = `http://127.0.0.1:${(quay.worker!.running.http.server.address() as AddressInfo).port}`;
    const payTo = Keypair.random().publicKey();
    await fund(quay.t.devnet, payTo, { usdc: 1n });
    seller = await startSeller({ facilitatorUrl: quay.apiUrl, apiKey: quay.apiKey, network: "stellar:testnet", payTo, asset: USDC_SAC, amount: PRICE });
    prometheus = await startPrometheus({ "quay-api": new URL(quay.apiUrl).host, "quay-worker": new URL(workerUrl).host });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await seller?.close();
    await quay?.stop();
    undo.forEach((u) => u());
  });

  it("counts, through Prometheus's HTTP API, exactly the settlements the paid requests made", async () => {
    await prometheus.waitFor('up{job=~"quay-.*"} == 1', (v) => v.length === 2);
    const buyerKeys = Keypair.random();
    await fund(quay.t.devnet, buyerKeys.publicKey(), { usdc: 1_000_000n });
    const buyer = createBuyer(buyerKeys.secret(), "stellar:testnet", quay.t.devnet.rpcUrl);
    for (let i = 0; i < PAYMENTS; i++) {
      const res = await buyer.fetch(seller.url);
      expect(res.status, `payment ${i + 1}: ${res.status} ${res.headers.get("payment-required") ?? ""} ${await res.clone().text()}`).toBe(200);
      if (SNAPSHOT) await new Promise((r) => setTimeout(r, 1_000 + 1_000 * (i % 3)));
    }
    const { rows } = await quay.pool.query("select count(*)::int as n from submissions where status = 'succeeded'");
    expect(rows[0].n).toBe(PAYMENTS);

    // The api answers /settle: its counter. The worker settles: its confirm stage, once per payment.
    const settled = await prometheus.waitFor('sum(quay_settle_total{job="quay-api",outcome="success"})', (v) => v[0]?.value === PAYMENTS);
    expect(settled[0]!.value).toBe(PAYMENTS);
    const failed = await prometheus.query('sum(quay_settle_total{outcome!="success"})');
    expect(failed.map((s) => s.value).filter((n) => n > 0)).toEqual([]);
    const confirmed = await prometheus.waitFor(
      'sum(quay_settle_stage_duration_seconds_count{job="quay-worker",stage="confirm"})',
      (v) => v[0]?.value === PAYMENTS,
    );
    expect(confirmed[0]!.value).toBe(PAYMENTS);
    const queued = await prometheus.waitFor('sum(quay_queue_wait_seconds_count{queue="settle"})', (v) => v[0]?.value === PAYMENTS);
    expect(queued[0]!.value).toBe(PAYMENTS);
    const http = await prometheus.waitFor('sum(quay_http_request_duration_seconds_count{route="/settle",status="200"})', (v) => v[0]?.value === PAYMENTS);
    expect(http[0]!.value).toBe(PAYMENTS);
  });

  it("reads the state gauges at scrape time: pool, balances, queue, ledger, fees", async () => {
    const free = await prometheus.waitFor('quay_pool_accounts{network="stellar:testnet",state="free"}', (v) => v[0]?.value === 2);
    expect(free).toHaveLength(1);
    expect((await prometheus.query('quay_rpc_up{network="stellar:testnet"}'))[0]?.value).toBe(1);
    const age = await prometheus.query('quay_rpc_ledger_age_seconds{network="stellar:testnet"}');
    expect(age[0]!.value).toBeGreaterThanOrEqual(0);
    expect(age[0]!.value).toBeLessThan(10);

    // The balances Prometheus saw are the ledger's (the gauges cache 15 s, so compare with the ledger at about that time).
    const fundOnLedger = BigInt((await quay.t.server.getAccountEntry(quay.fund.publicKey())).balance().toString());
    const fundSeen = (await prometheus.query('quay_fund_balance_stroops{network="stellar:testnet"}'))[0]!.value;
    expect(Math.abs(fundSeen - Number(fundOnLedger))).toBeLessThan(10_000_000); // within 1 XLM of fees
    expect((await prometheus.query('quay_pool_balance_stroops{stat="min"}'))[0]!.value).toBeGreaterThan(40_000_000);
    expect((await prometheus.query("quay_pool_accounts_low_balance"))[0]!.value).toBe(0);

    const { rows } = await quay.pool.query("select fee_spent_stroops::text as spent from api_keys");
    const tenant = await prometheus.waitFor('quay_tenant_fees_spent_stroops{tenant="seller"}', (v) => v[0]?.value === Number(rows[0].spent));
    expect(tenant[0]!.value).toBeGreaterThan(0);
    expect(await prometheus.query('quay_queue_jobs{queue="settle",state="waiting"}')).toEqual([expect.objectContaining({ value: 0 })]);
    const networkFee = await prometheus.waitFor('quay_network_fee_stroops{percentile="p90"}', (v) => (v[0]?.value ?? 0) >= 100);
    expect(networkFee[0]!.value).toBeGreaterThanOrEqual(100);
    const bids = await prometheus.query('quay_fee_bid_stroops{stat="max"}');
    expect(bids[0]!.value).toBeGreaterThanOrEqual(100);
  });

  it("declares in /metrics every metric the dashboard and the alert rules read", async () => {
    const [api, worker] = await Promise.all([fetch(`${quay.apiUrl}/metrics`), fetch(`${workerUrl}/metrics`)]);
    expect(api.status).toBe(200);
    expect(worker.status).toBe(200);
    const declared = new Map([...families(await api.text()), ...families(await worker.text())]);
    const used = quayMetricNames([...dashboardExpressions(), ...ruleExpressions()]);
    expect(used.size).toBeGreaterThan(20);
    const missing = [...used].filter((name) => familyOf(name, declared) === undefined);
    expect(missing).toEqual([]);
    // default process metrics come with the prefix too
    expect(declared.get("quay_process_cpu_seconds_total")).toBe("counter");
  });

  it.runIf(SNAPSHOT)("renders dashboard panels from what Prometheus recorded (ops/dashboard-snapshot.svg)", async () => {
    const end = Date.now() / 1000;
    const start = end - 60;
    const panel = async (title: string, unit: string, expr: string, label: (m: Record<string, string>) => string): Promise<PanelData> => ({
      title,
      unit,
      series: (await prometheus.queryRange(expr, start, end, 1)).map((r) => ({ label: label(r.metric), points: r.points })),
    });
    const panels = await Promise.all([
      panel("Settlements answered, by outcome", "", "sum by (outcome) (quay_settle_total)", (m) => m.outcome ?? ""),
      panel("Settle latency p90 by stage (15 s window)", "s", 'histogram_quantile(0.9, sum by (le, stage) (rate(quay_settle_stage_duration_seconds_bucket[15s])))', (m) => m.stage ?? ""),
      panel("Pool accounts by state", "", "max by (state) (quay_pool_accounts)", (m) => m.state ?? ""),
      panel("Fund balance", "XLM", "max by (network) (quay_fund_balance_stroops) / 1e7", (m) => m.network ?? ""),
      panel("RPC calls per second by method (15 s window)", "/s", "sum by (method) (rate(quay_rpc_call_duration_seconds_count[15s]))", (m) => m.method ?? ""),
      panel("Fee bid vs the network's fee (stroops per op)", "", 'max by (stat) (quay_fee_bid_stroops{stat="max"}) or max by (percentile) (quay_network_fee_stroops{percentile=~"p50|p90"})', (m) => (m.stat ? `Quay bid ${m.stat}` : `network ${m.percentile}`)),
    ]);
    for (const p of panels) expect(p.series.length, p.title).toBeGreaterThan(0);
    writeFileSync(path.join(OPS, "dashboard-snapshot.svg"), renderSvg(`Quay — ${PAYMENTS} paid requests on the devnet, scraped by Prometheus every second`, panels));
  });

  it("loads every alert and recording rule into Prometheus", async () => {
    const res = await fetch(`${prometheus.url}/api/v1/rules`);
    const body = (await res.json()) as { data: { groups: Array<{ rules: Array<{ name: string; type: string; health: string }> }> } };
    const rules = body.data.groups.flatMap((g) => g.rules);
    expect(rules.filter((r) => r.type === "alerting").map((r) => r.name)).toEqual(
      expect.arrayContaining(["QuayFundBalanceLow", "QuayPoolExhausted", "QuaySettleFailureRatioHigh", "QuayRpcDown", "QuayLedgerLag", "QuayQueueBacklogGrowing", "QuayMppChannelTtlLow", "QuayMppUnilateralClose"]),
    );
    expect(rules.filter((r) => r.health === "err")).toEqual([]);
  });
});
