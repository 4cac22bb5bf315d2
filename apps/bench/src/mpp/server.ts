/**
 * An MPP server as an MPP developer writes one from the docs: express, mppx, and Quay's Stellar
 * method (`@quay/mpp`), one mppx instance per channel (the channel method is per channel), serving
 * `GET /c/<i>` for a voucher of 1 base unit on channel i. MPPB_MODE=local: the method checks
 * vouchers itself and keeps the highest in `Store.memory()` (the docs' setup; reading the channel
 * from the ledger per voucher, @quay/mpp's default). MPPB_MODE=relay: vouchers are kept by Quay
 * (feePayer = Quay), and `GET /charge` sells a route by sponsored charge through Quay.
 */
import express from "express";
import { Store } from "mppx";
import { Mppx } from "mppx/express";
import { STELLAR_TESTNET, Stellar } from "@quay/mpp";
import { blockNonLoopbackNetwork } from "@quay/demo";
import { CHARGE_PRICE, VOUCHER_PRICE } from "./prices";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

blockNonLoopbackNetwork();
const mode = env("MPPB_MODE");
const secretKey = env("MPPB_SECRET");
const rpcUrl = env("MPPB_RPC_URL");
const relay = { relayerUrl: env("MPPB_QUAY_URL"), apiKey: env("MPPB_API_KEY") };
const channels = env("MPPB_CHANNELS")
  .split(",")
  .map((pair) => {
    const [channel, commitmentKey] = pair.split(":");
    return { channel: channel!, commitmentKey: commitmentKey! };
  });

const app = express();
app.get("/healthz", (_req, res) => {
  res.json({ status: "ok" });
});
channels.forEach(({ channel, commitmentKey }, i) => {
  const method =
    mode === "relay"
      ? Stellar.server.channel({ channel, commitmentKey, network: STELLAR_TESTNET, relay })
      : Stellar.server.channel({ channel, commitmentKey, network: STELLAR_TESTNET, store: Store.memory(), rpcUrl });
  const mppx = Mppx.create({ secretKey, realm: "quay.bench", methods: [method] });
  app.get(`/c/${i}`, mppx.channel({ amount: VOUCHER_PRICE }), (_req, res) => {
    res.json({ ok: true });
  });
});
if (mode === "relay") {
  const charge = Mppx.create({
    secretKey,
    realm: "quay.bench",
    methods: [Stellar.server.charge({ recipient: env("MPPB_CHARGE_RECIPIENT"), currency: env("MPPB_CURRENCY"), network: STELLAR_TESTNET, relay })],
  });
  app.get("/charge", charge.charge({ amount: CHARGE_PRICE }), (_req, res) => {
    res.json({ paid: true });
  });
}

const server = app.listen(Number(env("MPPB_PORT")), "127.0.0.1", () => {
  process.stdout.write(`mppx ${mode} server listening on 127.0.0.1:${env("MPPB_PORT")}\n`);
});
server.keepAliveTimeout = 60_000;
const shutdown = () => server.close(() => process.exit(0));
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
