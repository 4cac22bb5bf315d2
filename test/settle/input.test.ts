import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair } from "@stellar/stellar-sdk";
import { allowClientHttpRpc } from "@quay/demo";
import { Vault } from "@quay/vault";
import { InvalidReason } from "@quay/x402";
import { paymentTx, type Parties } from "../x402/fixtures";
import { startQuay, transfers, type QuayHarness } from "./harness";
import { attempts, bodyFor, newPayee, newPayment, payments, post, requirementsFor, type SettleAnswer } from "./payments";

interface VerifyAnswer {
  isValid: boolean;
  invalidReason?: string;
  payer?: string;
}

/**
 * What /verify and /settle do with payments they must refuse: ones that would make Quay pay
 * with its own accounts, and bodies that are not payments at all. Refusals carry the library's
 * reason strings; nothing reaches the network; nothing is ever a 500.
 */
describe("refused payments and bad input over HTTP", () => {
  let quay: QuayHarness;
  let payTo: string;
  let channel: Keypair;
  const undo: Array<() => void> = [];

  beforeAll(async () => {
    undo.push(allowClientHttpRpc());
    quay = await startQuay({ poolSize: 1 });
    payTo = await newPayee(quay);
    const [row] = (await quay.pool.query<{ public_key: string; secret_encrypted: string }>("select public_key, secret_encrypted from channel_accounts")).rows;
    channel = Keypair.fromSecret(Vault.open(quay.config.masterKey!, row!.secret_encrypted, row!.public_key));
  });
  afterAll(async () => {
    await quay?.stop();
    undo.forEach((u) => u());
  });

  const verify = (body: unknown) => post<VerifyAnswer>(quay.apiUrl, "/verify", body, quay.apiKey);
  const settle = (body: unknown) => post<SettleAnswer>(quay.apiUrl, "/settle", body, quay.apiKey);

  describe("payments that involve Quay's own accounts", () => {
    async function quayAccountPayment(payer: Keypair, options: { txSource?: string; opSource?: string } = {}) {
      const ledger = (await quay.t.server.getLatestLedger()).sequence;
      const parties: Parties = { payer, payTo, fund: quay.fund, channel, quayAddresses: new Set() };
      const tx = await paymentTx(parties, { ...options, amount: 10_000n, expiration: ledger + 100, passphrase: quay.t.passphrase });
      return bodyFor(tx.toXDR(), requirementsFor(payTo));
    }

    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ["the fund account pays", () => quayAccountPayment(quay.fund), InvalidReason.facilitatorIsPayer],
      ["a channel account pays", () => quayAccountPayment(channel), InvalidReason.facilitatorIsPayer],
      ["a channel account is the transaction source", () => quayAccountPayment(Keypair.random(), { txSource: channel.publicKey() }), InvalidReason.unsafeTxOrOpSource],
      ["the fund account is the operation source", () => quayAccountPayment(Keypair.random(), { opSource: quay.fund.publicKey() }), InvalidReason.unsafeTxOrOpSource],
    ];
    for (const [name, build, reason] of cases) {
      it(`${name}: /verify and /settle refuse with ${reason}, and nothing is submitted`, async () => {
        const body = await build();
        const verified = await verify(body);
        expect(verified.status).toBe(200);
        expect(verified.body).toMatchObject({ isValid: false, invalidReason: reason });
        const settled = await settle(body);
        expect(settled.status).toBe(200);
        expect(settled.body).toMatchObject({ success: false, errorReason: reason, transaction: "", network: "stellar:testnet" });
        expect(await payments(quay)).toEqual([]);
        expect(await attempts(quay)).toEqual([]);
      });
    }

    it("moved nothing on chain", async () => {
      expect(await transfers(quay.t)).toEqual([]);
    });
  });

  describe("bodies that are not payments", () => {
    let valid: ReturnType<typeof bodyFor>;
    beforeAll(async () => {
      valid = (await newPayment(quay, payTo)).body;
    });

    const edit = (change: (body: ReturnType<typeof bodyFor>) => void) => {
      const copy = structuredClone(valid);
      change(copy);
      return copy;
    };

    it("malformed JSON and a body over the size limit get 400 and 413 with an error code", async () => {
      for (const path of ["/verify", "/settle"] as const) {
        const malformed = await post<{ error: string }>(quay.apiUrl, path, undefined, quay.apiKey, { raw: '{"x402Version": 2, "paymentPayload": ' });
        expect(malformed).toEqual({ status: 400, body: { error: "malformed_json", message: expect.any(String) } });
        const huge = await post<{ error: string }>(quay.apiUrl, path, undefined, quay.apiKey, { raw: JSON.stringify({ pad: "x".repeat(300 * 1024) }) });
        expect(huge).toEqual({ status: 413, body: { error: "body_too_large", message: expect.any(String) } });
        for (const notAnObject of ["[]", '"settle"', "null", "42"]) {
          const res = await post<{ error: string }>(quay.apiUrl, path, undefined, quay.apiKey, { raw: notAnObject });
          expect(res.status, notAnObject).toBe(400);
          expect(res.body.error).toBe("invalid_request");
        }
      }
    });

    const cases: Array<[string, () => unknown, string, string]> = [
      ["x402Version 1", () => edit((b) => void (b.paymentPayload.x402Version = 1)), InvalidReason.invalidX402Version, "stellar:testnet"],
      ["x402Version 3", () => edit((b) => void (b.paymentPayload.x402Version = 3)), InvalidReason.invalidX402Version, "stellar:testnet"],
      [
        "an unknown scheme",
        () => edit((b) => void (b.paymentRequirements.scheme = b.paymentPayload.accepted.scheme = "upto")),
        InvalidReason.unsupportedScheme,
        "stellar:testnet",
      ],
      [
        "a network that is not Stellar",
        () => edit((b) => void (b.paymentRequirements.network = b.paymentPayload.accepted.network = "eip155:8453")),
        InvalidReason.invalidNetwork,
        "eip155:8453",
      ],
      [
        "a Stellar network Quay does not serve",
        () => edit((b) => void (b.paymentRequirements.network = b.paymentPayload.accepted.network = "stellar:pubnet")),
        InvalidReason.unsupportedNetwork,
        "stellar:pubnet",
      ],
      ["unparsable XDR", () => edit((b) => void (b.paymentPayload.payload = { transaction: "AAAA!!not-xdr" })), InvalidReason.malformed, "stellar:testnet"],
      ["a missing transaction", () => edit((b) => void (b.paymentPayload.payload = {})), InvalidReason.malformed, "stellar:testnet"],
      ["an empty body", () => ({}), InvalidReason.invalidPayload, ""],
      ["no paymentPayload", () => ({ x402Version: 2, paymentRequirements: valid.paymentRequirements }), InvalidReason.invalidPayload, "stellar:testnet"],
      ["no paymentRequirements", () => ({ x402Version: 2, paymentPayload: valid.paymentPayload }), InvalidReason.invalidPaymentRequirements, ""],
      [
        "requirements without an amount",
        () => edit((b) => {
          const { amount: _, ...rest } = b.paymentRequirements;
          (b as { paymentRequirements: unknown }).paymentRequirements = rest;
        }),
        InvalidReason.invalidPaymentRequirements,
        "stellar:testnet",
      ],
      ["a fractional amount", () => edit((b) => void (b.paymentRequirements.amount = "1.5")), InvalidReason.invalidPaymentRequirements, "stellar:testnet"],
    ];
    for (const [name, build, reason, network] of cases) {
      it(`${name}: 200 with ${reason} from both routes; /settle carries transaction and network`, async () => {
        const body = build();
        const verified = await verify(body);
        expect(verified).toMatchObject({ status: 200, body: { isValid: false, invalidReason: reason } });
        const settled = await settle(body);
        expect(settled.status).toBe(200);
        expect(settled.body).toMatchObject({ success: false, errorReason: reason, transaction: "", network });
        expect(typeof settled.body.errorMessage).toBe("string");
      });
    }

    it("none of it created a payment", async () => {
      expect(await payments(quay)).toEqual([]);
    });
  });
});
