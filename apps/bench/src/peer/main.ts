/**
 * The peer: the facilitator a user would self-host instead of Quay, as the x402 reference e2e
 * facilitator serves it. `x402Facilitator` from @x402/core with @x402/stellar's ExactStellarScheme
 * over the same channel accounts (its signers, round-robin) and the same fund account (its fee-bump
 * signer), on a small express server: POST /verify, POST /settle, GET /supported. Nothing added:
 * no queue, no locking, no retries, so what it does under load is what the library does.
 *
 * Environment (set by the benchmark, never logged): PEER_PORT, PEER_RPC_URL, PEER_SIGNER_SECRETS
 * (comma-separated), PEER_FEE_BUMP_SECRET, PEER_MAX_FEE_STROOPS.
 */
import express from "express";
import { x402Facilitator } from "@x402/core/facilitator";
import type { PaymentPayload, PaymentRequirements, SchemeNetworkFacilitator } from "@x402/core/types";
import { createEd25519Signer } from "@x402/stellar";
import { ExactStellarScheme } from "@x402/stellar/exact/facilitator";
import { blockNonLoopbackNetwork } from "@quay/demo";

blockNonLoopbackNetwork();

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`peer: ${name} is not set\n`);
    process.exit(2);
  }
  return value;
}

const NETWORK = "stellar:testnet" as const;
const port = Number(required("PEER_PORT"));
const signers = required("PEER_SIGNER_SECRETS")
  .split(",")
  .map((secret) => createEd25519Signer(secret, NETWORK));
const feeBumpSigner = createEd25519Signer(required("PEER_FEE_BUMP_SECRET"), NETWORK);
const scheme = new ExactStellarScheme(signers, {
  rpcConfig: { url: required("PEER_RPC_URL") },
  feeBumpSigner,
  maxTransactionFeeStroops: Number(required("PEER_MAX_FEE_STROOPS")),
});

// @x402/stellar 2.9 implements the SchemeNetworkFacilitator of its own nested @x402/core 2.9; the
// shapes agree, the nominal types do not.
const facilitator = new x402Facilitator().register(NETWORK, scheme as unknown as SchemeNetworkFacilitator);

// The library logs every failed simulation and settlement to the console; under overload that is
// thousands of lines the benchmark does not read.
console.error = () => undefined;
console.warn = () => undefined;

const app = express();
app.use(express.json({ limit: "1mb" }));

app.post("/verify", async (req, res) => {
  const { paymentPayload, paymentRequirements } = (req.body ?? {}) as { paymentPayload?: PaymentPayload; paymentRequirements?: PaymentRequirements };
  if (!paymentPayload || !paymentRequirements) return void res.status(400).json({ error: "Missing paymentPayload or paymentRequirements" });
  try {
    res.json(await facilitator.verify(paymentPayload, paymentRequirements));
  } catch (error) {
    res.status(500).json({ error: error instanceof Error ? error.message : "Unknown error" });
  }
});

app.post("/settle", async (req, res) => {
  const { paymentPayload, paymentRequirements } = (req.body ?? {}) as { paymentPayload?: PaymentPayload; paymentRequirements?: PaymentRequirements };
  if (!paymentPayload || !paymentRequirements) return void res.status(400).json({ error: "Missing paymentPayload or paymentRequirements" });
  try {
    res.json(await facilitator.settle(paymentPayload, paymentRequirements));
  } catch (error) {
    res.status(500).json({ error: error instanceof Error ? error.message : "Unknown error" });
  }
});

app.get("/supported", (_req, res) => {
  res.json(facilitator.getSupported());
});

const server = app.listen(port, "127.0.0.1", () => {
  process.stdout.write(`peer listening on http://127.0.0.1:${port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
