/**
 * stellar/charge end to end on loopback: an express app sells routes through mppx with Quay's
 * Stellar method in LOCAL mode (settling on the devnet); an mppx client pays with Quay's client
 * method. Sponsored pull, unsponsored pull and signedHash push succeed and move exactly the price;
 * replays and tampered credentials are refused with the right code.
 */
import { Account, Address, authorizeEntry, BASE_FEE, Contract, Keypair, MuxedAccount, nativeToScVal, rpc, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import type { Challenge } from "mppx";
import { Credential, Store } from "mppx";
import { Mppx as ClientMppx } from "mppx/client";
import { Mppx as ExpressMppx } from "mppx/express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_ZEROS, ChargeCheck, Did, Network, STELLAR_PUBNET, STELLAR_TESTNET, Stellar } from "@quay/mpp";
import { clearFaults, fundedKeypair, setFaults, startTestDevnet, USDC, usdcBalance } from "../devnet/helpers";
import type { TestDevnet } from "../devnet/helpers";
import { challengeOf, listen, newApp, receiptOf, refusal, UNIT } from "./method-helpers";
import { AMOUNT, LATEST_LEDGER, USDC_TESTNET, invocation, newParties, paymentTx, signedEntry, transferArgs, transferEvent, type Parties } from "../x402/fixtures";
import type { Listening } from "./method-helpers";

const SECRET = "quay-mpp-method-test-secret-key-0123456789";
const PRICE = 25_000n; // "0.0025" with 7 decimals
const SAME_EXPIRY = new Date(Date.now() + 10 * 60_000);

describe("stellar/charge through mppx, LOCAL mode, on the devnet", () => {
  let t: TestDevnet;
  let http: Listening;
  let currency: string;
  let recipient: Keypair;
  let sponsor: Keypair;
  let payer: Keypair;
  let bumper: Keypair;
  const sponsoredStore = Store.memory();
  const plainStore = Store.memory();

  beforeAll(async () => {
    t = await startTestDevnet({ ledgerCloseMs: 250 });
    currency = USDC.contractId(t.passphrase);
    [recipient, sponsor, payer, bumper] = await Promise.all([
      fundedKeypair(t.devnet, { usdc: 1n }),
      fundedKeypair(t.devnet),
      fundedKeypair(t.devnet, { usdc: 100n * UNIT }),
      fundedKeypair(t.devnet),
    ]);
    const common = { recipient: recipient.publicKey(), currency, network: STELLAR_TESTNET, rpcUrl: t.devnet.rpcUrl, pollIntervalMs: 100 } as const;
    const sponsored = ExpressMppx.create({ secretKey: SECRET, realm: "quay.test", methods: [Stellar.server.charge({ ...common, store: sponsoredStore, feePayer: { envelopeSigner: sponsor } })] });
    const plain = ExpressMppx.create({ secretKey: SECRET, realm: "quay.test", methods: [Stellar.server.charge({ ...common, store: plainStore })] });
    const bumped = ExpressMppx.create({
      secretKey: SECRET,
      realm: "quay.test",
      methods: [Stellar.server.charge({ ...common, store: Store.memory(), feePayer: { envelopeSigner: sponsor, feeBumpSigner: bumper } })],
    });
    const app = newApp();
    app.get("/bumped", bumped.charge({ amount: "0.0025" }), (_req, res) => res.json({ paid: "bumped" }));
    app.get("/sponsored", sponsored.charge({ amount: "0.0025" }), (_req, res) => res.json({ paid: "sponsored" }));
    app.get("/plain", plain.charge({ amount: "0.0025" }), (_req, res) => res.json({ paid: "plain" }));
    const shortWait = ExpressMppx.create({
      secretKey: SECRET,
      realm: "quay.test",
      methods: [Stellar.server.charge({ ...common, store: Store.memory(), feePayer: { envelopeSigner: sponsor }, pollTimeoutMs: 3_000 })],
    });
    app.get("/short-wait", shortWait.charge({ amount: "0.0025" }), (_req, res) => res.json({ paid: "short-wait" }));
    // One expiry for every challenge: what two 402s issued in the same millisecond share.
    app.get("/same-expiry", sponsored.charge({ amount: "0.0025", expires: SAME_EXPIRY }), (_req, res) => res.json({ paid: "same-expiry" }));
    http = await listen(app);
  });
  afterAll(async () => {
    await http?.close();
    await t?.close();
  });

  const client = (mode: "pull" | "push" = "pull") =>
    ClientMppx.create({ polyfill: false, methods: [Stellar.client.charge({ keypair: payer, rpcUrl: t.devnet.rpcUrl, mode, pollIntervalMs: 100 })] });

  async function balances() {
    return { payer: await usdcBalance(t.server, payer.publicKey()), recipient: await usdcBalance(t.server, recipient.publicKey()) };
  }

  it("challenges with the SDK's request shape", async () => {
    const challenge = await challengeOf(`${http.url}/sponsored`);
    expect(challenge.method).toBe("stellar");
    expect(challenge.intent).toBe("charge");
    expect(challenge.request).toEqual({
      amount: PRICE.toString(),
      currency,
      recipient: recipient.publicKey(),
      methodDetails: { network: STELLAR_TESTNET, feePayer: true, credentialTypes: ["transaction"], reference: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    });
    const plain = await challengeOf(`${http.url}/plain`);
    expect(plain.request.methodDetails).toEqual({ network: STELLAR_TESTNET, credentialTypes: ["transaction", "signedHash"], reference: expect.any(String) });
  });

  it("two 402s with the same expiry are two challenges: two payers each pay once, neither is refused as the other's replay", async () => {
    const [first, second] = [await fetch(`${http.url}/same-expiry`), await fetch(`${http.url}/same-expiry`)];
    const other = await fundedKeypair(t.devnet, { usdc: 10n * UNIT });
    const otherClient = ClientMppx.create({ polyfill: false, methods: [Stellar.client.charge({ keypair: other, rpcUrl: t.devnet.rpcUrl, mode: "pull", pollIntervalMs: 100 })] });
    const credentials = [await client().createCredential(first), await otherClient.createCredential(second)];
    expect(Credential.deserialize(credentials[0]!).challenge.id).not.toBe(Credential.deserialize(credentials[1]!).challenge.id);
    const before = { payer: await usdcBalance(t.server, payer.publicKey()), other: await usdcBalance(t.server, other.publicKey()), recipient: await usdcBalance(t.server, recipient.publicKey()) };
    const paid = await Promise.all(credentials.map((authorization) => fetch(`${http.url}/same-expiry`, { headers: { authorization } })));
    expect(await Promise.all(paid.map(async (r) => (r.status === 200 ? 200 : refusal(r))))).toEqual([200, 200]);
    expect(before.payer - (await usdcBalance(t.server, payer.publicKey()))).toBe(PRICE);
    expect(before.other - (await usdcBalance(t.server, other.publicKey()))).toBe(PRICE);
    expect((await usdcBalance(t.server, recipient.publicKey())) - before.recipient).toBe(2n * PRICE);
  });

  it("concurrent sponsored charges on one envelope signer each settle once, in turn, none refused by the network's one-pending-per-account rule", async () => {
    const payers = await Promise.all([0, 1, 2].map(() => fundedKeypair(t.devnet, { usdc: 10n * UNIT })));
    const before = await Promise.all(payers.map((p) => usdcBalance(t.server, p.publicKey())));
    const recipientBefore = await usdcBalance(t.server, recipient.publicKey());
    const credentials = await Promise.all(
      payers.map(async (keypair) => {
        const payerClient = ClientMppx.create({ polyfill: false, methods: [Stellar.client.charge({ keypair, rpcUrl: t.devnet.rpcUrl, mode: "pull", pollIntervalMs: 100 })] });
        return payerClient.createCredential(await fetch(`${http.url}/sponsored`));
      }),
    );
    const paid = await Promise.all(credentials.map((authorization) => fetch(`${http.url}/sponsored`, { headers: { authorization } })));
    expect(await Promise.all(paid.map(async (r) => (r.status === 200 ? 200 : refusal(r))))).toEqual([200, 200, 200]);
    expect(new Set(paid.map((r) => receiptOf(r).reference)).size).toBe(3);
    for (const [i, p] of payers.entries()) expect(before[i]! - (await usdcBalance(t.server, p.publicKey()))).toBe(PRICE);
    expect((await usdcBalance(t.server, recipient.publicKey())) - recipientBefore).toBe(3n * PRICE);
  });

  it("a sponsored transaction the network accepts but never includes is refused as expired once its time bounds have passed on the ledger, not as ambiguous", async () => {
    const before = await balances();
    await setFaults(t.devnet, { swallow: { count: 1 } });
    try {
      const authorization = await client().createCredential(await fetch(`${http.url}/short-wait`));
      const res = await fetch(`${http.url}/short-wait`, { headers: { authorization } });
      expect(await refusal(res)).toMatchObject({ status: 402, code: "broadcast_failed", reason: "transaction_expired" });
    } finally {
      await clearFaults(t.devnet);
    }
    expect(await balances()).toEqual(before);
  });

  it("sponsored pull: 200 with a receipt naming the tx hash; exactly the price moved; the sponsor paid the fee; a replay is refused", async () => {
    const before = await balances();
    const sponsorXlm = BigInt((await t.server.getAccountEntry(sponsor.publicKey())).balance().toString());
    let credential = "";
    const mppx = client();
    mppx.onCredentialCreated(({ credential: c }) => {
      credential = c;
    });
    const res = await mppx.fetch(`${http.url}/sponsored`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ paid: "sponsored" });
    const receipt = receiptOf(res);
    expect(receipt.method).toBe("stellar");
    expect(receipt.reference).toMatch(/^[0-9a-f]{64}$/);
    const tx = await t.server.getTransaction(receipt.reference);
    expect(tx.status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    expect((tx as rpc.Api.GetSuccessfulTransactionResponse).envelopeXdr.v1().tx().sourceAccount().ed25519().toString("hex")).toBe(sponsor.rawPublicKey().toString("hex"));
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.recipient - before.recipient).toBe(PRICE);
    expect(BigInt((await t.server.getAccountEntry(sponsor.publicKey())).balance().toString())).toBeLessThan(sponsorXlm);

    expect(credential).toMatch(/^Payment /);
    const replay = await fetch(`${http.url}/sponsored`, { headers: { authorization: credential } });
    expect(await refusal(replay)).toMatchObject({ status: 402, type: "verification-failed", code: "already_used", reason: "challenge_used" });
    expect((await balances()).payer).toBe(after.payer);
  });

  it("sponsored pull with a fee-bump signer: the submitted envelope is a fee bump paid by it", async () => {
    const before = await balances();
    const bumperXlm = BigInt((await t.server.getAccountEntry(bumper.publicKey())).balance().toString());
    const res = await client().fetch(`${http.url}/bumped`);
    expect(res.status).toBe(200);
    const tx = (await t.server.getTransaction(receiptOf(res).reference)) as rpc.Api.GetSuccessfulTransactionResponse;
    expect(tx.status).toBe("SUCCESS");
    expect(tx.envelopeXdr.switch()).toBe(xdr.EnvelopeType.envelopeTypeTxFeeBump());
    const bump = tx.envelopeXdr.feeBump().tx();
    expect(bump.feeSource().ed25519().toString("hex")).toBe(bumper.rawPublicKey().toString("hex"));
    expect(bump.innerTx().v1().tx().sourceAccount().ed25519().toString("hex")).toBe(sponsor.rawPublicKey().toString("hex"));
    expect(BigInt((await t.server.getAccountEntry(bumper.publicKey())).balance().toString())).toBeLessThan(bumperXlm);
    expect((await balances()).recipient - before.recipient).toBe(PRICE);
  });

  it("unsponsored pull: the payer's own signed transaction is submitted as is", async () => {
    const before = await balances();
    const res = await client().fetch(`${http.url}/plain`);
    expect(res.status).toBe(200);
    const receipt = receiptOf(res);
    const tx = (await t.server.getTransaction(receipt.reference)) as rpc.Api.GetSuccessfulTransactionResponse;
    expect(tx.status).toBe("SUCCESS");
    expect(tx.envelopeXdr.v1().tx().sourceAccount().ed25519().toString("hex")).toBe(payer.rawPublicKey().toString("hex"));
    const after = await balances();
    expect(before.payer - after.payer).toBe(PRICE);
    expect(after.recipient - before.recipient).toBe(PRICE);
  });

  it("signedHash push: the client pays, then presents hash + signature; the same hash under a new challenge is refused", async () => {
    const before = await balances();
    let credential = "";
    const mppx = client("push");
    mppx.onCredentialCreated(({ credential: c }) => {
      credential = c;
    });
    const res = await mppx.fetch(`${http.url}/plain`);
    expect(res.status).toBe(200);
    const sent = Credential.deserialize<{ type: string; hash: string; sourceSignature: string }>(credential);
    expect(sent.payload.type).toBe("signedHash");
    expect(receiptOf(res).reference).toBe(sent.payload.hash);
    expect(sent.source).toBe(Did.from(STELLAR_TESTNET, payer.publicKey()));
    const after = await balances();
    expect(after.recipient - before.recipient).toBe(PRICE);

    // Re-sign the same hash for a fresh challenge: the hash is spent.
    const fresh = await challengeOf(`${http.url}/plain`);
    const sourceSignature = payer.sign(Buffer.from(ChargeCheck.sourceSignatureMessage(fresh.id, sent.payload.hash))).toString("hex");
    const again = Credential.serialize({ challenge: fresh, payload: { type: "signedHash", hash: sent.payload.hash, sourceSignature }, source: sent.source });
    expect(await refusal(await fetch(`${http.url}/plain`, { headers: { authorization: again } }))).toMatchObject({ code: "already_used", reason: "transaction_used" });
  });

  it("signedHash with a signature by someone else is refused, and the hash stays redeemable by its payer", async () => {
    const other = await fundedKeypair(t.devnet, { usdc: 10n * UNIT });
    // `other` pays the price on chain by itself...
    const account = await t.server.getAccount(other.publicKey());
    const paid = await t.server.prepareTransaction(
      new TransactionBuilder(account, { fee: BASE_FEE, networkPassphrase: t.passphrase })
        .addOperation(new Contract(currency).call("transfer", new Address(other.publicKey()).toScVal(), new Address(recipient.publicKey()).toScVal(), nativeToScVal(PRICE, { type: "i128" })))
        .setTimeout(60)
        .build(),
    );
    paid.sign(other);
    const sent = await t.server.sendTransaction(paid);
    const { waitForTx } = await import("../devnet/helpers");
    expect((await waitForTx(t.server, sent.hash)).status).toBe("SUCCESS");
    // ...and the payer tries to claim it under its own signature.
    const c1 = await challengeOf(`${http.url}/plain`);
    const forged = Credential.serialize({
      challenge: c1,
      payload: { type: "signedHash", hash: sent.hash, sourceSignature: payer.sign(Buffer.from(`${c1.id}:${sent.hash}`)).toString("hex") },
      source: Did.from(STELLAR_TESTNET, other.publicKey()),
    });
    expect(await refusal(await fetch(`${http.url}/plain`, { headers: { authorization: forged } }))).toMatchObject({ code: "invalid_payment", reason: "invalid_source_signature" });
    const c2 = await challengeOf(`${http.url}/plain`);
    const genuine = Credential.serialize({
      challenge: c2,
      payload: { type: "signedHash", hash: sent.hash, sourceSignature: other.sign(Buffer.from(`${c2.id}:${sent.hash}`)).toString("hex") },
      source: Did.from(STELLAR_TESTNET, other.publicKey()),
    });
    const ok = await fetch(`${http.url}/plain`, { headers: { authorization: genuine } });
    expect(ok.status).toBe(200);
    expect(receiptOf(ok).reference).toBe(sent.hash);
  });

  describe("tampered sponsored credentials", () => {
    interface Tamper {
      amount?: bigint;
      to?: string;
      signer?: Keypair;
      source?: string;
      subInvocation?: boolean;
      extraEntry?: boolean;
    }

    /** A sponsored credential built like the client, with one thing changed. */
    async function tampered(challenge: Challenge.Challenge, tamper: Tamper): Promise<string> {
      const from = tamper.signer ?? payer;
      const amount = tamper.amount ?? BigInt(challenge.request.amount as string);
      const call = new Contract(currency).call("transfer", new Address(from.publicKey()).toScVal(), new Address(tamper.to ?? recipient.publicKey()).toScVal(), nativeToScVal(amount, { type: "i128" }));
      const expires = Math.floor(Date.parse(challenge.expires!) / 1000);
      const prepared = await t.server.prepareTransaction(
        new TransactionBuilder(new Account(ALL_ZEROS, "0"), { fee: BASE_FEE, networkPassphrase: t.passphrase }).addOperation(call).setTimebounds(0, expires).build(),
      );
      const envelope = prepared.toEnvelope();
      const hostOp = envelope.v1().tx().operations()[0]!.body().invokeHostFunctionOp();
      const validUntil = (await t.server.getLatestLedger()).sequence + 30;
      const entries = hostOp.auth();
      const entry = entries[0]!;
      if (tamper.subInvocation) {
        const extra = new xdr.SorobanAuthorizedInvocation({
          function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(
            new xdr.InvokeContractArgs({ contractAddress: Address.fromString(currency).toScAddress(), functionName: "approve", args: [] }),
          ),
          subInvocations: [],
        });
        entry.rootInvocation().subInvocations().push(extra);
      }
      entries[0] = await authorizeEntry(entry, from, validUntil, t.passphrase);
      if (tamper.extraEntry) {
        const again = xdr.SorobanAuthorizationEntry.fromXDR(entry.toXDR());
        again.credentials().address().nonce(xdr.Int64.fromString("12345"));
        entries.push(await authorizeEntry(again, from, validUntil, t.passphrase));
      }
      return Credential.serialize({
        challenge,
        payload: { type: "transaction", transaction: envelope.toXDR("base64") },
        source: tamper.source ?? Did.from(STELLAR_TESTNET, payer.publicKey()),
      });
    }

    async function attempt(tamper: Tamper) {
      const before = await balances();
      const credential = await tampered(await challengeOf(`${http.url}/sponsored`), tamper);
      const outcome = await refusal(await fetch(`${http.url}/sponsored`, { headers: { authorization: credential } }));
      expect(await balances()).toEqual(before);
      return outcome;
    }

    it("the untampered helper output is accepted (so each refusal below is the tamper's doing)", async () => {
      const credential = await tampered(await challengeOf(`${http.url}/sponsored`), {});
      expect((await fetch(`${http.url}/sponsored`, { headers: { authorization: credential } })).status).toBe(200);
    });

    it("wrong amount", async () => {
      expect(await attempt({ amount: PRICE - 1n })).toMatchObject({ status: 402, type: "verification-failed", code: "invalid_payment", reason: "wrong_amount" });
    });
    it("wrong recipient", async () => {
      const elsewhere = await fundedKeypair(t.devnet, { usdc: 1n });
      expect(await attempt({ to: elsewhere.publicKey() })).toMatchObject({ code: "invalid_payment", reason: "wrong_recipient" });
    });
    it("source DID is not the transfer's from", async () => {
      const other = await fundedKeypair(t.devnet, { usdc: 10n * UNIT });
      expect(await attempt({ signer: other })).toMatchObject({ code: "invalid_payment", reason: "source_mismatch" });
    });
    it("source DID on another network", async () => {
      expect(await attempt({ source: Did.from(STELLAR_PUBNET, payer.publicKey()) })).toMatchObject({ code: "invalid_payment", reason: "wrong_network" });
    });
    it("an extra auth entry", async () => {
      expect(await attempt({ extraEntry: true })).toMatchObject({ code: "invalid_payment", reason: "unexpected_auth_entry" });
    });
    it("a sub-invocation in the payer's auth", async () => {
      expect(await attempt({ subInvocation: true })).toMatchObject({ code: "invalid_payment", reason: "sub_invocation" });
    });
    it("a sponsored transaction presented to the unsponsored route", async () => {
      const credential = await tampered(await challengeOf(`${http.url}/plain`), {});
      expect(await refusal(await fetch(`${http.url}/plain`, { headers: { authorization: credential } }))).toMatchObject({ code: "invalid_payment", reason: "sponsorship_unavailable" });
    });
  });
});

describe("ChargeCheck, pure: the shared transfer check in MPP's words", () => {
  // A sponsored payment built as the x402 tests build theirs: NULL-account source, the payer's signed entry.
  const base = (parties: Parties, transaction: string) => ({
    transaction,
    request: { amount: AMOUNT.toString(), currency: USDC_TESTNET, recipient: parties.payTo, methodDetails: { network: STELLAR_TESTNET } },
    source: Did.from(STELLAR_TESTNET, parties.payer.publicKey()),
    expires: new Date(Date.now() + 60_000).toISOString(),
    networkPassphrase: Network.passphrase(STELLAR_TESTNET),
    sponsorAddresses: [...parties.quayAddresses],
    sponsors: true,
    latestLedger: LATEST_LEDGER,
  });

  it("accepts the payment as built (so each refusal below is its tamper's doing)", async () => {
    const parties = newParties();
    expect(ChargeCheck.structure(base(parties, (await paymentTx(parties, { expiration: LATEST_LEDGER + 10 })).toXDR()))).toMatchObject({ ok: true });
  });

  it("refuses the payer's auth entry signed for other terms than the call as unexpected_auth_entry", async () => {
    const parties = newParties();
    const otherTerms = invocation(USDC_TESTNET, "transfer", transferArgs(parties.payer.publicKey(), parties.payTo, AMOUNT + 1n));
    const auth = [await signedEntry(parties.payer, otherTerms, LATEST_LEDGER + 10)];
    expect(ChargeCheck.structure(base(parties, (await paymentTx(parties, { auth })).toXDR()))).toEqual({
      ok: false,
      code: "invalid_payment",
      reason: "unexpected_auth_entry",
      message: "the auth entry authorises another call than the transfer",
    });
  });

  it("refuses a server account (or its muxed alias) as the operation source as sponsor_address_used", async () => {
    const parties = newParties();
    const muxed = new MuxedAccount(new Account(parties.channel.publicKey(), "0"), "3").accountId();
    expect(ChargeCheck.structure(base(parties, (await paymentTx(parties, { opSource: muxed })).toXDR()))).toMatchObject({ ok: false, reason: "sponsor_address_used" });
  });

  it("judges the simulated transfer against the challenge's recipient: elsewhere is event_mismatch, from a server account sponsor_is_sender", () => {
    const parties = newParties();
    const payer = parties.payer.publicKey();
    const expected = { currency: USDC_TESTNET, from: payer, to: parties.payTo, amount: AMOUNT };
    const simulation = (event: xdr.DiagnosticEvent) => ChargeCheck.simulation({ events: [event], expected, sponsorAddresses: [...parties.quayAddresses] });
    expect(simulation(transferEvent(USDC_TESTNET, payer, parties.payTo, AMOUNT))).toEqual({ ok: true, value: undefined });
    expect(simulation(transferEvent(USDC_TESTNET, payer, Keypair.random().publicKey(), AMOUNT))).toMatchObject({ ok: false, code: "invalid_payment", reason: "event_mismatch" });
    expect(simulation(transferEvent(USDC_TESTNET, parties.fund.publicKey(), parties.payTo, AMOUNT))).toMatchObject({ ok: false, reason: "sponsor_is_sender" });
    expect(ChargeCheck.simulation({ events: [], expected, sponsorAddresses: [] })).toMatchObject({ ok: false, code: "simulation_failed", reason: "no_transfer_event" });
  });
});

describe("ChargeCheck.structure, pure", () => {
  it("refuses a challenge whose methodDetails.network is not the verifier's", () => {
    const payer = Keypair.random();
    const result = ChargeCheck.structure({
      transaction: "AAAA",
      request: { amount: "1", currency: "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA", recipient: payer.publicKey(), methodDetails: { network: STELLAR_PUBNET } },
      source: Did.from(STELLAR_PUBNET, payer.publicKey()),
      expires: new Date(Date.now() + 60_000).toISOString(),
      networkPassphrase: Network.passphrase(STELLAR_TESTNET),
      sponsorAddresses: [],
      sponsors: true,
      latestLedger: 100,
    });
    expect(result).toMatchObject({ ok: false, code: "invalid_payment", reason: "wrong_network" });
  });

  it("refuses an expired challenge with `expired`, and garbage XDR with malformed_transaction", () => {
    const payer = Keypair.random();
    const base = {
      transaction: "not-xdr",
      request: { amount: "1", currency: "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA", recipient: payer.publicKey(), methodDetails: { network: STELLAR_TESTNET } },
      source: Did.from(STELLAR_TESTNET, payer.publicKey()),
      networkPassphrase: Network.passphrase(STELLAR_TESTNET),
      sponsorAddresses: [],
      sponsors: true,
      latestLedger: 100,
    };
    expect(ChargeCheck.structure({ ...base, expires: new Date(Date.now() - 1000).toISOString() })).toMatchObject({ ok: false, code: "expired" });
    expect(ChargeCheck.structure({ ...base, expires: new Date(Date.now() + 60_000).toISOString() })).toMatchObject({ ok: false, reason: "malformed_transaction" });
  });
});
