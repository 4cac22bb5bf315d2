import type { PersistenceAudit } from "./audit";
import type { MppResult, VoucherLevelResult } from "./run";

/** mpp.md: the MPP part's results for people. Pure. */
export function renderMppMarkdown(r: MppResult): string {
  const lines: string[] = [];
  const n = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? "–" : v.toFixed(digits));
  lines.push(`# MPP benchmark (${r.profile})`, "");
  lines.push(
    `${r.startedAt} · ${r.machine.cores} cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB · Node ${r.machine.node} · load average at start ${r.machine.loadAverageAtStart.join(" ")} · ${r.wallSeconds} s`,
    "",
  );
  const best = r.target.best;
  lines.push("## Target", "");
  lines.push(
    `≥ ${r.target.vouchersPerSecond} vouchers/s sustained through Quay's relay with p99 ≤ ${r.target.p99Ms} ms: **${r.target.met ? "met" : "not met"}**` +
      (best ? ` (best relay level: ${best.offeredPerSecond}/s offered, ${n(best.acceptedPerSecond, 0)}/s accepted, p99 ${n(best.latencyMs.p99)} ms)` : ""),
    "",
  );
  lines.push(`Zero accepted vouchers lost across a restart of the api: **${r.restart.audit.lost === 0 && r.restart.audit.badSignature === 0 && r.restart.audit.unexplained === 0 ? "yes" : "NO"}**`, "");

  lines.push("## Vouchers, side by side", "");
  lines.push(
    "*relay*: POST /mpp/channels/:address/vouchers straight to Quay (what @quay/mpp's relay client sends), the highest voucher kept in Postgres, signature checked. " +
      "*mppx-local*: an mppx server with Quay's channel method in local mode and `Store.memory()` (the MPP docs' setup; the method reads the channel from the ledger per voucher, its default). " +
      "*mppx-relay*: the same server in relay mode (each voucher forwarded to Quay). Latency from the voucher's due time to its answer (a voucher not sent because its channel fell more than 5 s behind counts with its delay at that point, a lower bound); service from the send.",
    "",
  );
  lines.push("| path | offered /s | accepted /s | p50 ms | p95 ms | p99 ms | max ms | service p50/p99 ms | refused | no answer (not sent) | machine CPU | CPU ms/voucher | DB tx/voucher |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
  for (const v of r.vouchers) {
    lines.push(
      `| ${v.path} | ${v.offeredPerSecond} | ${n(v.acceptedPerSecond, 0)} | ${n(v.latencyMs.p50)} | ${n(v.latencyMs.p95)} | ${n(v.latencyMs.p99)} | ${n(v.latencyMs.max)} | ${n(v.serviceMs.p50)} / ${n(v.serviceMs.p99)} | ${v.refused} | ${v.none}${v.notSent ? ` (${v.notSent})` : ""} | ${v.machineBusy === null ? "–" : `${Math.round(v.machineBusy * 100)} %`} | ${cpuCell(v)} | ${n(v.dbTransactionsPerVoucher, 2)} |`,
    );
  }
  const refusals = r.vouchers.filter((v) => Object.keys(v.refusals).length > 0);
  if (refusals.length) {
    lines.push("", "Refusals and missing answers:", "");
    for (const v of refusals) lines.push(`- ${v.path} at ${v.offeredPerSecond}/s: ${Object.entries(v.refusals).map(([k, c]) => `${k} ×${c}`).join(", ")}`);
  }

  lines.push("", "## Postgres holds the highest accepted voucher", "");
  lines.push("| when | channels | equal | ahead (unanswered, committed) | lost | bad signature | unexplained |", "|---|---:|---:|---:|---:|---:|---:|");
  lines.push(auditRow("after the relay levels", r.relayAudit));
  lines.push(auditRow(`after the api was killed (SIGKILL) at ${r.restart.killedAtSeconds} s and restarted`, r.restart.audit));
  lines.push(
    "",
    `Restart phase: ${r.restart.offeredPerSecond}/s for ${r.restart.seconds} s; the api was down ${r.restart.downMs} ms (SIGKILL to /healthz answering); ${r.restart.accepted} of ${r.restart.sent} vouchers accepted, ${r.restart.refused} refused, ${r.restart.none} unanswered` +
      (Object.keys(r.restart.refusals).length ? ` (${Object.entries(r.restart.refusals).map(([k, c]) => `${k} ×${c}`).join(", ")})` : "") +
      ".",
    "",
  );

  lines.push("## Sponsored charges", "");
  lines.push("An mppx server with Quay's charge method in relay mode; credentials built beforehand by @quay/mpp's client (pull, sponsored); answered once Quay's settlement is final.", "");
  lines.push("| load | offered /s | limit /s | paid /s | paid | failed | no answer | distinct receipts | p50 ms | p99 ms | errors |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const c of r.charges) {
    lines.push(
      `| ${c.load} | ${n(c.offeredPerSecond)} | ${c.limitPerSecond} | ${n(c.succeededPerSecond, 2)} | ${c.succeeded}/${c.sent} | ${c.failed} | ${c.none} | ${c.distinctReferences} | ${n(c.latencyMs.p50, 0)} | ${n(c.latencyMs.p99, 0)} | ${Object.entries(c.errors).map(([k, v]) => `${k} ×${v}`).join(", ") || "–"} |`,
    );
  }

  lines.push("", "## Where a relay voucher's time goes", "");
  lines.push(
    `Per-voucher pieces timed in one process on this machine: commitment bytes (XDR) ${n(r.microCosts.commitmentBytesUs)} µs; ` +
      `Commitment.verify as @quay/mpp does it ${n(r.microCosts.commitmentVerifyUs)} µs (Node's native ed25519 on the same bytes: ${n(r.microCosts.nativeEd25519VerifyUs)} µs); ` +
      `JSON.parse of the body ${n(r.microCosts.jsonParseUs)} µs. CPU ms per voucher by process are in the table above (api, postgres = all its backends, redis, generator = the load generator).`,
    "",
  );
  if (r.notes.length) {
    lines.push("## Notes", "");
    for (const note of r.notes) lines.push(`- ${note}`);
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}

function cpuCell(v: VoucherLevelResult): string {
  const order = ["api", "postgres", "redis", "mppx-local", "mppx-relay", "worker", "devnet", "generator"];
  return order
    .filter((k) => (v.cpuMsPerVoucher[k] ?? 0) >= 0.005)
    .map((k) => `${k} ${v.cpuMsPerVoucher[k]!.toFixed(2)}`)
    .join(", ");
}

function auditRow(when: string, a: PersistenceAudit): string {
  return `| ${when} | ${a.channels} | ${a.equal} | ${a.aheadByUnanswered} | ${a.lost} | ${a.badSignature} | ${a.unexplained} |`;
}
