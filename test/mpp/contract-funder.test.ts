import { Address, hash, nativeToScVal, Operation, rpc, xdr } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Commitment } from "@quay/mpp";
import { SmartAccountPayment, Signers } from "@quay/x402-buyer";
import { CHANNEL_WASM, CHANNEL_WASM_HASH } from "../../apps/devnet/src/soroban";
import { builderFor, fundedKeypair, submitAndWait, USDC, usdcBalance } from "../devnet/helpers";
import { bytesN, deployAccount, ed25519Keys, fundContract, sacBalance } from "../devnet/smart-account-fixtures";
import { send, UNIT } from "./method-helpers";
import { eventually, startRelayer, type Relayer } from "./relayer-fixtures";

/**
 * A one-way channel funded by a contract account: the channel contract asks `from.require_auth()`
 * for the deposit (one-way-channel's constructor transfers it from `from`), which a contract
 * account gives through its `__check_auth`. Quay registers it, holds its vouchers and closes it:
 * the recipient is paid the highest voucher, the account gets the rest back.
 */
describe("a channel whose funder is a contract account", () => {
  let quay: Relayer;
  beforeAll(async () => {
    quay = await startRelayer({ ledgerCloseMs: 200 });
  });
  afterAll(async () => {
    await quay?.stop();
  });

  it("is opened by the account's authorisation, paid through by vouchers, and closed by Quay", async () => {
    const t = quay.t;
    const keys = ed25519Keys(1);
    const funder = await deployAccount(t, "ed25519Multisig", [xdr.ScVal.scvVec([bytesN(keys[0]!.rawPublicKey())]), xdr.ScVal.scvU32(1)]);
    await fundContract(t, funder, 10n * UNIT);
    const deployer = await fundedKeypair(t.devnet);
    const recipient = await fundedKeypair(t.devnet, { usdc: 1n });
    const commitmentKey = ed25519Keys(1)[0]!;
    await send(t, deployer, Operation.uploadContractWasm({ wasm: CHANNEL_WASM }));

    const deposit = 3n * UNIT;
    const create = Operation.createCustomContract({
      address: Address.fromString(deployer.publicKey()),
      wasmHash: CHANNEL_WASM_HASH,
      salt: hash(Buffer.from("contract-funder")),
      constructorArgs: [
        Address.fromString(USDC.contractId(t.passphrase)).toScVal(),
        Address.fromString(funder).toScVal(),
        xdr.ScVal.scvBytes(commitmentKey.rawPublicKey()),
        Address.fromString(recipient.publicKey()).toScVal(),
        nativeToScVal(deposit, { type: "i128" }),
        xdr.ScVal.scvU32(100),
      ],
    });
    // Recording simulation names the funder's authorisation (the deposit's transfer); its account signs it.
    const recorded = await t.server.simulateTransaction((await builderFor(t, deployer.publicKey())).addOperation(create).setTimeout(60).build());
    if (!rpc.Api.isSimulationSuccess(recorded) || !recorded.result) throw new Error("recording simulation failed");
    const latest = (await t.server.getLatestLedger()).sequence;
    const auth = await Promise.all(
      recorded.result.auth.map(async (entry) => {
        const creds = entry.credentials();
        if (creds.switch().name !== "sorobanCredentialsAddress" || Address.fromScAddress(creds.address().address()).toString() !== funder) return entry;
        return (await SmartAccountPayment.signEntry(entry, Signers.ed25519Multisig(keys), latest + 50, t.passphrase)).signed;
      }),
    );
    const signed = (await builderFor(t, deployer.publicKey()))
      .addOperation(Operation.invokeHostFunction({ func: create.body().invokeHostFunctionOp().hostFunction(), auth }))
      .setTimeout(60)
      .build();
    const prepared = await t.server.prepareTransaction(signed);
    prepared.sign(deployer);
    const opened = await submitAndWait(t.server, prepared);
    if (opened.status !== rpc.Api.GetTransactionStatus.SUCCESS || !opened.returnValue) throw new Error(`opening failed: ${opened.status}`);
    const channel = Address.fromScVal(opened.returnValue).toString();
    expect(await sacBalance(t, funder)).toBe(10n * UNIT - deposit);

    const registered = await quay.call("POST", "/mpp/channels", {
      address: channel,
      network: "stellar:testnet",
      commitmentKey: commitmentKey.publicKey(),
      recipientSecret: recipient.secret(),
    });
    expect(registered).toMatchObject({ status: 201, body: { funder } });
    for (const amount of [UNIT / 2n, UNIT, 2n * UNIT]) {
      const signature = Commitment.sign(commitmentKey, { channel, amount, networkPassphrase: t.passphrase });
      expect((await quay.call("POST", `/mpp/channels/${channel}/vouchers`, { amount: amount.toString(), signature })).body).toMatchObject({ success: true });
    }
    const recipientBefore = await usdcBalance(t.server, recipient.publicKey());
    expect((await quay.call("POST", `/mpp/channels/${channel}/close`, {})).status).toBeLessThan(300);
    const done = await eventually(() => quay.call("GET", `/mpp/channels/${channel}`), (r) => r.body.state === "closed", 30_000, "the close");
    expect(done.body.close).toMatchObject({ status: "succeeded", paid: (2n * UNIT).toString(), refunded: UNIT.toString() });
    expect(await usdcBalance(t.server, recipient.publicKey())).toBe(recipientBefore + 2n * UNIT);
    expect(await sacBalance(t, funder)).toBe(10n * UNIT - deposit + UNIT);
  });
});
