/**
 * Several RPC ports on one ledger (as several RPC nodes of one network), and the fault switch making
 * one of them fail (HTTP 503, connection refused, no answer) or lag while the others stay current.
 */
import { Asset, Operation, rpc } from "@stellar/stellar-sdk";
import { afterEach, describe, expect, it } from "vitest";
import { builderFor, clearFaults, closeLedger, fundedKeypair, getFaults, setFaults, startTestDevnet } from "./helpers";
import type { TestDevnet } from "./helpers";

let t: TestDevnet | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function threePorts(): Promise<{ net: TestDevnet; servers: rpc.Server[] }> {
  const net = await startTestDevnet({ extraPorts: 2 });
  t = net;
  return { net, servers: net.devnet.rpcUrls.map((url) => new rpc.Server(url, { allowHttp: true })) };
}

async function health(url: string, timeoutMs = 2_000): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getHealth" }),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

describe("extra ports", () => {
  it("serve the same ledger: a transaction sent through one is seen through the others", async () => {
    const { net, servers } = await threePorts();
    expect(net.devnet.rpcUrls).toHaveLength(3);
    expect(net.devnet.rpcUrls[0]).toBe(net.devnet.rpcUrl);
    expect(new Set(net.devnet.ports).size).toBe(3);
    const a = await fundedKeypair(net.devnet);
    const tx = (await builderFor(net, a.publicKey()))
      .addOperation(Operation.payment({ destination: a.publicKey(), asset: Asset.native(), amount: "1" }))
      .setTimeout(30)
      .build();
    tx.sign(a);
    expect((await servers[1]!.sendTransaction(tx)).status).toBe("PENDING");
    await closeLedger(net.devnet);
    for (const server of servers) expect((await server.getTransaction(tx.hash().toString("hex"))).status).toBe("SUCCESS");
  });

  it("fail one at a time: HTTP 503, connection refused, or no answer, while the others answer", async () => {
    const { net, servers } = await threePorts();
    const [, second, third] = net.devnet.rpcUrls;

    await setFaults(net.devnet, { ports: { "1": { fail: "http503" } } });
    expect((await health(second!)).status).toBe(503);
    await expect(servers[1]!.getHealth()).rejects.toThrow();
    expect((await servers[0]!.getHealth()).status).toBe("healthy");

    await setFaults(net.devnet, { ports: { "1": null, "2": { fail: "refuse" } } });
    expect((await health(second!)).status).toBe(200);
    await expect(health(third!)).rejects.toMatchObject({ cause: { code: "ECONNREFUSED" } });

    await setFaults(net.devnet, { ports: { "2": { fail: "hang" } } });
    await expect(health(third!, 300)).rejects.toThrow(/abort|timeout/i);
    expect((await servers[1]!.getHealth()).status).toBe("healthy");

    await clearFaults(net.devnet);
    for (const server of servers) expect((await server.getHealth()).status).toBe("healthy");
  });

  it("lag: one port answers as of N ledgers ago (latest ledger, transactions, events, accounts) while the others are current", async () => {
    const { net, servers } = await threePorts();
    const [current, lagging] = [servers[0]!, servers[1]!];
    await setFaults(net.devnet, { paused: true });
    const a = await fundedKeypair(net.devnet);
    for (let i = 0; i < 3; i++) await closeLedger(net.devnet); // the account exists as of 3 ledgers back
    const before = await current.getAccount(a.publicKey());
    await setFaults(net.devnet, { ports: { "1": { lagLedgers: 3 } } });
    const tx = (await builderFor(net, a.publicKey()))
      .addOperation(Operation.payment({ destination: a.publicKey(), asset: Asset.native(), amount: "1" }))
      .setTimeout(0)
      .build();
    tx.sign(a);
    expect((await lagging.sendTransaction(tx)).status).toBe("PENDING");
    const landed = (await closeLedger(net.devnet)).ledger;
    await closeLedger(net.devnet);

    const latest = (await current.getLatestLedger()).sequence;
    expect(latest).toBe(landed + 1);
    expect((await lagging.getLatestLedger()).sequence).toBe(latest - 3);
    expect((await lagging.getHealth()).latestLedger).toBe(latest - 3);
    const hash = tx.hash().toString("hex");
    expect((await current.getTransaction(hash)).status).toBe("SUCCESS");
    const stale = await lagging.getTransaction(hash);
    expect(stale.status).toBe("NOT_FOUND");
    expect(stale.latestLedger).toBe(latest - 3);
    // The payment's transfer event is past the lagging port's ledger; its scan ends there.
    const start = landed - 2;
    expect((await current.getEvents({ startLedger: start, filters: [] })).events.map((e) => e.txHash)).toContain(hash);
    const lagged = await lagging.getEvents({ startLedger: start, filters: [] });
    expect(lagged.events).toEqual([]);
    expect(lagged.latestLedger).toBe(latest - 3);
    // Its state is that older ledger's: the account's sequence number before the payment.
    expect((await lagging.getAccount(a.publicKey())).sequenceNumber()).toBe(before.sequenceNumber());
    expect((await current.getAccount(a.publicKey())).sequenceNumber()).not.toBe(before.sequenceNumber());

    expect((await getFaults(net.devnet)).ports).toEqual({ "1": { lagLedgers: 3 } });
    await setFaults(net.devnet, { ports: null });
    expect((await lagging.getTransaction(hash)).status).toBe("SUCCESS");
  });

  it("refuses faults for a port that does not exist, or refusing connections on the control port", async () => {
    const { net } = await threePorts();
    await expect(setFaults(net.devnet, { ports: { "3": { fail: "http503" } } })).rejects.toThrow(/400/);
    await expect(setFaults(net.devnet, { ports: { "0": { fail: "refuse" } } })).rejects.toThrow(/400/);
    await setFaults(net.devnet, { ports: { "0": { fail: "http503" } } });
    expect((await health(net.devnet.rpcUrl)).status).toBe(503);
  });
});
