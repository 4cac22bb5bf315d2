/**
 * The OZ Channels API, driven by OZ's own client: `ChannelsClient` from
 * `@openzeppelin/relayer-plugin-channels` 0.21 (a black box; only its public methods are used)
 * pointed at Quay on the devnet in direct mode, as a user of the hosted service would after
 * changing its base URL. Every submission goes through Quay's settlement core: recorded, queued,
 * run by the worker on a channel account and fee-bumped by the fund account.
 */
import { ChannelsClient, PluginExecutionError } from "@openzeppelin/relayer-plugin-channels";
import { Address, Asset, authorizeEntry, Keypair, nativeToScVal, Operation, rpc, scValToNative, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { count, eq } from "drizzle-orm";
import { schema } from "@quay/db";
import { ApiKeys } from "@quay/keys";
import { fund, fundedKeypair, usdcBalance, xlmBalance } from "../devnet/helpers";
import { startQuay, transfers, USDC_SAC, type QuayHarness } from "../settle/harness";

const ADMIN_SECRET = "quay-channels-admin-secret-0123456789";

describe("the OZ Channels API through the real ChannelsClient", () => {
  let quay: QuayHarness;
  let client: ChannelsClient;
  let admin: ChannelsClient;
  let payer: Keypair;
  const recipient = Keypair.random();

  beforeAll(async () => {
    quay = await startQuay({ ledgerCloseMs: 200, env: { CHANNELS_ADMIN_SECRET: ADMIN_SECRET, CHANNELS_WAIT_SECONDS: "20" } });
    payer = await fundedKeypair(quay.t.devnet, { usdc: 10_000_000n });
    await fund(quay.t.devnet, recipient.publicKey(), { usdc: 1n });
    client = new ChannelsClient({ baseUrl: `${quay.apiUrl}/channels/testnet`, apiKey: quay.apiKey });
    admin = new ChannelsClient({ baseUrl: `${quay.apiUrl}/channels/testnet`, apiKey: quay.apiKey, adminSecret: ADMIN_SECRET });
  });
  afterAll(async () => {
    await quay?.stop();
  });

  function transferCall(contract: string, amount: bigint): xdr.HostFunction {
    return xdr.HostFunction.hostFunctionTypeInvokeContract(
      new xdr.InvokeContractArgs({
        contractAddress: Address.fromString(contract).toScAddress(),
        functionName: "transfer",
        args: [nativeToScVal(payer.publicKey(), { type: "address" }), nativeToScVal(recipient.publicKey(), { type: "address" }), nativeToScVal(amount, { type: "i128" })],
      }),
    );
  }

  /** The payer's signed authorisation of `func`, recorded by a simulation from another source, valid until `validFor` ledgers ahead. */
  async function signedAuth(func: xdr.HostFunction, validFor = 100): Promise<xdr.SorobanAuthorizationEntry[]> {
    const source = await quay.t.server.getAccount(recipient.publicKey());
    const draft = new TransactionBuilder(source, { fee: "100", networkPassphrase: quay.t.passphrase })
      .addOperation(Operation.invokeHostFunction({ func, auth: [] }))
      .setTimeout(30)
      .build();
    const sim = await quay.t.server.simulateTransaction(draft);
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${JSON.stringify(sim)}`);
    const latest = (await quay.t.server.getLatestLedger()).sequence;
    return Promise.all(sim.result!.auth.map((entry) => authorizeEntry(entry, payer, latest + validFor, quay.t.passphrase)));
  }

  async function submitCall(amount: bigint, options: { skipWait?: boolean } = {}) {
    const func = transferCall(USDC_SAC, amount);
    const auth = await signedAuth(func);
    return client.submitSorobanTransaction({ func: func.toXDR("base64"), auth: auth.map((a) => a.toXDR("base64")), ...options });
  }

  /** The code and message a ChannelsClient call was refused with. */
  async function refusal(call: Promise<unknown>): Promise<{ code: string; details: any; message: string }> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PluginExecutionError);
    const details = (error as PluginExecutionError).errorDetails as { code: string; details: any };
    return { code: details.code, details: details.details, message: (error as Error).message };
  }

  /** The same request sent by hand: the HTTP status OZ's x402 plugin reads. */
  async function statusOf(params: unknown, path = "/channels/testnet/"): Promise<number> {
    const res = await fetch(`${quay.apiUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${quay.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ params }),
    });
    return res.status;
  }

  it("a SAC transfer as {func, auth} lands once, through a channel account fee-bumped by the fund account; getTransaction follows it", async () => {
    const before = await usdcBalance(quay.t.server, recipient.publicKey());
    const func = transferCall(USDC_SAC, 4_321n);
    const auth = (await signedAuth(func)).map((a) => a.toXDR("base64"));
    const answer = await client.submitSorobanTransaction({ func: func.toXDR("base64"), auth });
    expect(answer).toMatchObject({ status: "confirmed", transactionId: expect.stringMatching(/^[0-9a-f-]{36}$/), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const tx = (await quay.t.server.getTransaction(answer.hash!)) as rpc.Api.GetSuccessfulTransactionResponse;
    expect(tx.status).toBe("SUCCESS");
    const envelope = tx.envelopeXdr;
    expect(envelope.switch()).toBe(xdr.EnvelopeType.envelopeTypeTxFeeBump());
    expect(Address.account(envelope.feeBump().tx().feeSource().ed25519()).toString()).toBe(quay.fund.publicKey());
    const innerSource = Address.account(envelope.feeBump().tx().innerTx().v1().tx().sourceAccount().ed25519()).toString();
    expect(quay.channelAccounts).toContain(innerSource);
    expect(await usdcBalance(quay.t.server, recipient.publicKey())).toBe(before + 4_321n);

    expect(await client.getTransaction({ transactionId: answer.transactionId! })).toMatchObject({ transactionId: answer.transactionId, status: "confirmed", hash: answer.hash });

    // The same request again is the same submission: answered from its record, nothing sent.
    const again = await client.submitSorobanTransaction({ func: func.toXDR("base64"), auth });
    expect(again).toMatchObject({ transactionId: answer.transactionId, status: "confirmed", hash: answer.hash });
    const moved = (await transfers(quay.t)).filter((t) => t.to === recipient.publicKey() && t.amount === 4_321n);
    expect(moved).toHaveLength(1);
  });

  it("a signed {xdr} is fee-bumped as it is: the payer's own transaction, its fee paid by Quay's fund account", async () => {
    const source = await quay.t.server.getAccount(payer.publicKey());
    const built = new TransactionBuilder(source, { fee: "100", networkPassphrase: quay.t.passphrase })
      .addOperation(Operation.invokeHostFunction({ func: transferCall(USDC_SAC, 777n), auth: [] }))
      .setTimeout(30)
      .build();
    const prepared = await quay.t.server.prepareTransaction(built);
    prepared.sign(payer);
    const xlmBefore = await xlmBalance(quay.t.server, payer.publicKey());
    const before = await usdcBalance(quay.t.server, recipient.publicKey());

    const answer = await client.submitTransaction({ xdr: prepared.toXDR() });
    expect(answer).toMatchObject({ status: "confirmed", hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await client.submitTransaction({ xdr: prepared.toXDR() })).toEqual(answer); // the same envelope again: its record
    const tx = (await quay.t.server.getTransaction(answer.hash!)) as rpc.Api.GetSuccessfulTransactionResponse;
    expect(tx.envelopeXdr.feeBump().tx().innerTx().v1().tx().toXDR("base64")).toBe(prepared.toEnvelope().v1().tx().toXDR("base64"));
    expect(await usdcBalance(quay.t.server, recipient.publicKey())).toBe(before + 777n);
    expect(await xlmBalance(quay.t.server, payer.publicKey())).toBe(xlmBefore); // the fee bump paid it all
  });

  it("skipWait answers pending with no hash; getTransaction then follows it to confirmed", async () => {
    const answer = await submitCall(55n, { skipWait: true });
    expect(answer).toEqual({ transactionId: expect.any(String), status: "pending", hash: null });
    let polled = await client.getTransaction({ transactionId: answer.transactionId! });
    for (let i = 0; i < 100 && !["confirmed", "failed", "expired"].includes(polled.status!); i++) {
      expect(["pending", "submitted"]).toContain(polled.status);
      await new Promise((resolve) => setTimeout(resolve, 100));
      polled = await client.getTransaction({ transactionId: answer.transactionId! });
    }
    expect(polled).toMatchObject({ status: "confirmed", hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it("a read-only call answers readonly with its return value, and no transaction", async () => {
    const func = xdr.HostFunction.hostFunctionTypeInvokeContract(
      new xdr.InvokeContractArgs({ contractAddress: Address.fromString(USDC_SAC).toScAddress(), functionName: "balance", args: [nativeToScVal(payer.publicKey(), { type: "address" })] }),
    );
    const recorded = async () => (await quay.db.select({ n: count() }).from(schema.submissions))[0]!.n;
    const submitted = await recorded();
    const answer = await client.submitSorobanTransaction({ func: func.toXDR("base64"), auth: [] });
    expect(answer).toMatchObject({ transactionId: null, status: "readonly", hash: null, latestLedger: expect.any(Number) });
    expect(scValToNative(xdr.ScVal.fromXDR(answer.returnValue!, "base64"))).toBe(await usdcBalance(quay.t.server, payer.publicKey()));
    expect(await recorded()).toBe(submitted);
  });

  it("a contract outside the key's allow-list is refused before anything is simulated or recorded; a key may list it", async () => {
    const xlm = Asset.native().contractId(quay.t.passphrase);
    const func = transferCall(xlm, 10n);
    const auth = (await signedAuth(func)).map((a) => a.toXDR("base64"));
    expect(await refusal(client.submitSorobanTransaction({ func: func.toXDR("base64"), auth }))).toMatchObject({ code: "CONTRACT_NOT_ALLOWED", details: { contract: xlm } });
    expect(await statusOf({ func: func.toXDR("base64"), auth })).toBe(403);

    const { key } = await ApiKeys.create(quay.db, { tenant: "xlm-app", networks: ["stellar:testnet"], allowedContracts: [xlm] });
    const allowed = new ChannelsClient({ baseUrl: `${quay.apiUrl}/channels/testnet`, apiKey: key });
    expect(await allowed.submitSorobanTransaction({ func: func.toXDR("base64"), auth })).toMatchObject({ status: "confirmed" });
  });

  it("bad input gets OZ's codes and statuses", async () => {
    expect(await refusal(client.submitTransaction({ xdr: "bm90IHhkcg==" }))).toMatchObject({ code: "INVALID_PARAMS" });
    expect(await statusOf({ xdr: "bm90IHhkcg==" })).toBe(400);
    expect(await refusal(client.submitSorobanTransaction({ func: "%%%", auth: [] }))).toMatchObject({ code: "INVALID_PARAMS" });
    expect((await refusal(client.submitSorobanTransaction({ func: transferCall(USDC_SAC, 1n).toXDR("base64"), auth: [], extra: 1 } as never))).code).toBe("INVALID_PARAMS");

    // An authorisation that expires within the buffer (2 ledgers).
    const func = transferCall(USDC_SAC, 9n);
    const auth = (await signedAuth(func, 1)).map((a) => a.toXDR("base64"));
    expect(await refusal(client.submitSorobanTransaction({ func: func.toXDR("base64"), auth }))).toMatchObject({ code: "AUTH_EXPIRY_TOO_SHORT" });
    expect(await statusOf({ func: func.toXDR("base64"), auth })).toBe(400);
    const expired = (await signedAuth(func, -1)).map((a) => a.toXDR("base64"));
    expect(await refusal(client.submitSorobanTransaction({ func: func.toXDR("base64"), auth: expired }))).toMatchObject({ code: "AUTH_EXPIRY_TOO_SHORT" });

    // Unsigned auth: the enforcing simulation refuses it.
    const unsigned = await (async () => {
      const source = await quay.t.server.getAccount(recipient.publicKey());
      const draft = new TransactionBuilder(source, { fee: "100", networkPassphrase: quay.t.passphrase })
        .addOperation(Operation.invokeHostFunction({ func, auth: [] }))
        .setTimeout(30)
        .build();
      const sim = (await quay.t.server.simulateTransaction(draft)) as rpc.Api.SimulateTransactionSuccessResponse;
      return sim.result!.auth.map((a) => a.toXDR("base64"));
    })();
    expect(await refusal(client.submitSorobanTransaction({ func: func.toXDR("base64"), auth: unsigned }))).toMatchObject({ code: "SIMULATION_SIGNED_AUTH_VALIDATION_FAILED" });

    // A fee bump is not a transaction to submit; an unsigned envelope must hold one invokeHostFunction.
    const source = await quay.t.server.getAccount(payer.publicKey());
    const payment = new TransactionBuilder(source, { fee: "100", networkPassphrase: quay.t.passphrase })
      .addOperation(Operation.bumpSequence({ bumpTo: "0" }))
      .setTimeout(30)
      .build();
    expect(await refusal(client.submitTransaction({ xdr: payment.toXDR() }))).toMatchObject({ code: "INVALID_UNSIGNED_XDR" });
    payment.sign(payer);
    const bump = TransactionBuilder.buildFeeBumpTransaction(Keypair.random(), "200", payment, quay.t.passphrase);
    expect(await refusal(client.submitTransaction({ xdr: bump.toXDR() }))).toMatchObject({ code: "INVALID_ENVELOPE_TYPE" });
  });

  it("a signed {xdr} with a fee above its resource fee + 201, or time bounds past or too far, is refused", async () => {
    const sign = async (fee: bigint, timeout: number) => {
      const source = await quay.t.server.getAccount(payer.publicKey());
      const built = new TransactionBuilder(source, { fee: "100", networkPassphrase: quay.t.passphrase })
        .addOperation(Operation.invokeHostFunction({ func: transferCall(USDC_SAC, 3n), auth: [] }))
        .setTimeout(timeout)
        .build();
      const prepared = await quay.t.server.prepareTransaction(built);
      // The builder adds the resource fee to the inclusion fee it is given.
      const rebuilt = TransactionBuilder.cloneFrom(prepared, { fee: fee.toString(), sorobanData: prepared.toEnvelope().v1().tx().ext().sorobanData() }).build();
      rebuilt.sign(payer);
      return rebuilt.toXDR();
    };
    expect(await refusal(client.submitTransaction({ xdr: await sign(5_000n, 30) }))).toMatchObject({ code: "FEE_MISMATCH" });
    expect(await refusal(client.submitTransaction({ xdr: await sign(100n, 600) }))).toMatchObject({ code: "TIMEBOUNDS_TOO_FAR" });
    expect(await refusal(client.submitTransaction({ xdr: await sign(100n, 0) }))).toMatchObject({ code: "TIMEBOUNDS_TOO_FAR" });
  });

  it("an exhausted fee limit answers FEE_LIMIT_EXCEEDED (429) with its figures, and nothing is submitted", async () => {
    const { key, id } = await ApiKeys.create(quay.db, { tenant: "thrifty", networks: ["stellar:testnet"] });
    const thrifty = new ChannelsClient({ baseUrl: `${quay.apiUrl}/channels/testnet`, apiKey: key });
    expect(await admin.setFeeLimit(key, 1_000.9)).toMatchObject({ ok: true, limit: 1_000 });
    const func = transferCall(USDC_SAC, 8n);
    const auth = (await signedAuth(func)).map((a) => a.toXDR("base64"));
    const refused = await refusal(thrifty.submitSorobanTransaction({ func: func.toXDR("base64"), auth }));
    expect(refused).toMatchObject({ code: "FEE_LIMIT_EXCEEDED", details: { consumed: 0, limit: 1_000, remaining: 1_000, fee: expect.any(Number) } });
    const res = await fetch(`${quay.apiUrl}/channels/testnet`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ params: { func: func.toXDR("base64"), auth } }),
    });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ success: false, error: expect.any(String), data: { code: "FEE_LIMIT_EXCEEDED" } });
    const [row] = await quay.db.select({ n: count() }).from(schema.submissions).where(eq(schema.submissions.apiKeyId, id));
    expect(row!.n).toBe(0);
  });

  it("the management actions answer in OZ's shapes, from Quay's pool and key budgets", async () => {
    expect(await admin.listChannelAccounts()).toEqual({ relayerIds: expect.arrayContaining([...quay.channelAccounts]) });
    const stats = await admin.getStats();
    expect(stats).toMatchObject({ pool: { size: quay.channelAccounts.length, locked: expect.any(Number), available: expect.any(Number) }, config: { network: "stellar:testnet" } });

    const usage = await admin.getFeeUsage(quay.apiKey);
    expect(usage.consumed).toBeGreaterThan(0); // the transactions above
    expect(usage.limit).toBeUndefined();
    expect(await admin.getFeeLimit(quay.apiKey)).toEqual({});
    expect(await admin.setFeeLimit(quay.apiKey, 1e12)).toEqual({ ok: true, limit: 1e12 });
    expect(await admin.getFeeLimit(quay.apiKey)).toEqual({ limit: 1e12 });
    expect(await admin.getFeeUsage(quay.apiKey)).toMatchObject({ consumed: usage.consumed, limit: 1e12, remaining: 1e12 - usage.consumed });
    expect(await admin.deleteFeeLimit(quay.apiKey)).toEqual({ ok: true });
    expect(await admin.getFeeLimit(quay.apiKey)).toEqual({});

    expect(await refusal(admin.setChannelAccounts(["a"]))).toMatchObject({ code: "INVALID_ACTION" });
    const wrong = new ChannelsClient({ baseUrl: `${quay.apiUrl}/channels/testnet`, apiKey: quay.apiKey, adminSecret: "not-the-secret" });
    expect(await refusal(wrong.getStats())).toMatchObject({ code: "UNAUTHORIZED" });
    expect(await statusOf({ management: { action: "stats", adminSecret: "not-the-secret" } })).toBe(401);
    expect(await refusal(admin.getFeeUsage("qk_not_a_key"))).toMatchObject({ code: "INVALID_PAYLOAD" });
  });

  it("answers the relayer-mode path and the path without a trailing slash; scopes getTransaction to the key", async () => {
    const relayer = new ChannelsClient({ baseUrl: quay.apiUrl, pluginId: "channels-testnet", apiKey: quay.apiKey, adminSecret: ADMIN_SECRET });
    expect(await relayer.listChannelAccounts()).toEqual({ relayerIds: expect.arrayContaining([...quay.channelAccounts]) });
    expect(await statusOf({ management: { action: "stats", adminSecret: ADMIN_SECRET } }, "/channels/testnet")).toBe(200);
    expect(await statusOf({ management: { action: "stats", adminSecret: ADMIN_SECRET } }, "/channels/stellar:testnet/")).toBe(200);
    expect(await statusOf({ management: { action: "stats", adminSecret: ADMIN_SECRET } }, "/channels/pubnet/")).toBe(400);

    const mine = await submitCall(11n, { skipWait: true });
    const { key } = await ApiKeys.create(quay.db, { tenant: "nosy", networks: ["stellar:testnet"] });
    const nosy = new ChannelsClient({ baseUrl: `${quay.apiUrl}/channels/testnet`, apiKey: key });
    expect(await refusal(nosy.getTransaction({ transactionId: mine.transactionId! }))).toMatchObject({ code: "TRANSACTION_NOT_FOUND" });

    const unauthenticated = await fetch(`${quay.apiUrl}/channels/testnet/`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ params: {} }) });
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toMatchObject({ success: false, data: { code: "UNAUTHORIZED" } });
  });
});
