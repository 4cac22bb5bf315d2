import { afterEach, describe, expect, it, vi } from "vitest";
import { resolveConfig } from "../../apps/devnet/src/config";
import { Closes, DevnetNode } from "../../apps/devnet/src/node";

describe("ledger close cadence", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps a fixed cadence when a close runs late, and starts a new one when a whole interval behind", () => {
    expect(Closes.nextDue(1000, 1140, 1000)).toBe(2000);
    expect(Closes.nextDue(1000, 1999, 1000)).toBe(2000);
    expect(Closes.nextDue(1000, 2000, 1000)).toBe(3000);
    expect(Closes.nextDue(1000, 2600, 1000)).toBe(3600);
  });

  it("closes every interval however long each close takes, as stellar-core triggers ledgers", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const node = new DevnetNode(resolveConfig({ ledgerCloseMs: 1000 }), undefined);
    const closedAt: number[] = [];
    const realClose = node.closeLedger.bind(node);
    vi.spyOn(node, "closeLedger").mockImplementation((privileged) => {
      closedAt.push(performance.now());
      const record = realClose(privileged);
      vi.advanceTimersByTime(300); // a slow close: 300 ms of a 1000 ms ledger
      return record;
    });
    node.start();
    vi.advanceTimersByTime(5050);
    node.stop();
    const start = closedAt[0]!;
    expect(closedAt.slice(0, 5).map((t) => Math.round(t - start))).toEqual([0, 1000, 2000, 3000, 4000]);
  });
});
