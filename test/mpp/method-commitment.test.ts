/**
 * Commitment bytes built offline equal the channel contract's own `prepare_commitment` on the
 * devnet; signatures verify against the channel's commitment key, and any flipped bit fails.
 */
import { Account, Keypair, nativeToScVal, Networks, Operation, rpc, TransactionBuilder } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_ZEROS, Commitment, COMMITMENT_BYTES_LENGTH, Did, DidError, STELLAR_PUBNET, STELLAR_TESTNET } from "@quay/mpp";
import { startTestDevnet } from "../devnet/helpers";
import type { TestDevnet } from "../devnet/helpers";
import { openChannel, UNIT } from "./method-helpers";
import type { OpenedChannel } from "./method-helpers";

async function prepareCommitment(t: TestDevnet, channel: string, amount: bigint): Promise<Buffer> {
  const tx = new TransactionBuilder(new Account(ALL_ZEROS, "0"), { fee: "100", networkPassphrase: t.passphrase })
    .addOperation(Operation.invokeContractFunction({ contract: channel, function: "prepare_commitment", args: [nativeToScVal(amount, { type: "i128" })] }))
    .setTimeout(30)
    .build();
  const sim = await t.server.simulateTransaction(tx);
  if (!rpc.Api.isSimulationSuccess(sim) || !sim.result) throw new Error("prepare_commitment did not simulate");
  return Buffer.from(sim.result.retval.bytes());
}

describe("Commitment against the devnet's channel contract", () => {
  let t: TestDevnet;
  let o: OpenedChannel;
  beforeAll(async () => {
    t = await startTestDevnet({ ledgerCloseMs: 100 });
    o = await openChannel(t, 10n * UNIT, "commitment");
  });
  afterAll(async () => {
    await t.close();
  });

  it("builds exactly the bytes prepare_commitment returns (192 bytes), for several amounts", async () => {
    for (const amount of [0n, 1n, 3n * UNIT, 2n ** 100n + 7n]) {
      const onChain = await prepareCommitment(t, o.channel, amount);
      const offline = Commitment.bytes({ channel: o.channel, amount, networkPassphrase: t.passphrase });
      expect(offline.length).toBe(COMMITMENT_BYTES_LENGTH);
      expect(offline.toString("hex")).toBe(onChain.toString("hex"));
      expect(Commitment.binds(onChain, { channel: o.channel, amount, networkPassphrase: t.passphrase })).toBe(true);
      expect(Commitment.decode(onChain)).toEqual({ channel: o.channel, amount, networkId: Commitment.networkId(t.passphrase) });
    }
  });

  it("binds the network and the channel: other passphrase or channel, other bytes", async () => {
    const onChain = await prepareCommitment(t, o.channel, 5n);
    expect(Commitment.binds(onChain, { channel: o.channel, amount: 5n, networkPassphrase: Networks.PUBLIC })).toBe(false);
    expect(Commitment.binds(onChain, { channel: o.channel, amount: 6n, networkPassphrase: t.passphrase })).toBe(false);
  });

  it("a signature verifies against the commitment key in each spelling; a flipped bit or another key fails", () => {
    const input = { channel: o.channel, amount: 4n * UNIT, networkPassphrase: t.passphrase };
    const sig = Commitment.sign(o.commitmentKey, input);
    expect(sig).toMatch(/^[0-9a-f]{128}$/);
    expect(Commitment.verify(o.commitmentKey.publicKey(), input, sig)).toBe(true);
    expect(Commitment.verify(o.commitmentKey.rawPublicKey().toString("hex"), input, sig)).toBe(true);
    expect(Commitment.verify(o.commitmentKey.rawPublicKey(), input, sig)).toBe(true);

    const flipped = Buffer.from(sig, "hex");
    flipped[17] = flipped[17]! ^ 0x01;
    expect(Commitment.verify(o.commitmentKey.publicKey(), input, flipped.toString("hex"))).toBe(false);
    expect(Commitment.verify(o.commitmentKey.publicKey(), { ...input, amount: input.amount + 1n }, sig)).toBe(false);
    expect(Commitment.verify(Keypair.random().publicKey(), input, sig)).toBe(false);
    expect(Commitment.verify(o.commitmentKey.publicKey(), input, "zz")).toBe(false);
  });

  it("the devnet contract accepts the offline signature: the recipient closes with it", async () => {
    const { send } = await import("./method-helpers");
    const { usdcBalance } = await import("../devnet/helpers");
    const input = { channel: o.channel, amount: 2n * UNIT, networkPassphrase: t.passphrase };
    const sig = Commitment.sign(o.commitmentKey, input);
    await send(t, o.recipient, Operation.invokeContractFunction({
      contract: o.channel,
      function: "close",
      args: [nativeToScVal(input.amount, { type: "i128" }), nativeToScVal(Buffer.from(sig, "hex"), { type: "bytes" })],
    }));
    expect(await usdcBalance(t.server, o.recipient.publicKey())).toBe(2n * UNIT + 1n);
  });
});

describe("Did", () => {
  it("round-trips did:pkh:stellar and refuses anything else with a DidError", () => {
    const kp = Keypair.random();
    const did = Did.from(STELLAR_TESTNET, kp.publicKey());
    expect(did).toBe(`did:pkh:stellar:testnet:${kp.publicKey()}`);
    expect(Did.parse(did)).toEqual({ network: STELLAR_TESTNET, address: kp.publicKey() });
    expect(Did.parse(Did.from(STELLAR_PUBNET, kp.publicKey())).network).toBe(STELLAR_PUBNET);
    for (const bad of [
      `did:pkh:stellar:futurenet:${kp.publicKey()}`,
      `did:pkh:eip155:1:${kp.publicKey()}`,
      `did:pkh:stellar:testnet:${kp.publicKey()}:x`,
      "did:pkh:stellar:testnet:GABC",
      `did:pkh:stellar:testnet:${kp.secret()}`,
    ]) {
      expect(() => Did.parse(bad)).toThrow(DidError);
    }
    expect(Did.tryParse(undefined)).toBeUndefined();
  });
});
