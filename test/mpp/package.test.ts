/**
 * @quay/mpp as MPP developers get it: built (tsc) and packed, its tarball installed into a fresh
 * project outside the workspace next to mppx and @stellar/stellar-sdk only (plus express, which
 * the docs' servers use), and the MPP docs' Stellar examples (charge server and client, channel
 * server, client and close) run there as separate Node processes against Quay on the devnet.
 *
 * The examples are the docs' code with these substitutions, all listed in SUBSTITUTIONS:
 * - the import path `@stellar/mpp/...` → `@quay/mpp/...` (the point of the package);
 * - mppx 0.11 has no `Mppx` in its root export and no `mppx.middleware()`: the servers import
 *   `Mppx` from `mppx/express` and put mppx's route middleware on the route (the docs give no
 *   price: 0.01 here), the clients import it from `mppx/client`;
 * - the fixed ports 3002/3003 are free ports, and the close example's `lastCumulativeAmount` /
 *   `lastCommitmentSignature` (undefined in the docs) come from the environment.
 * Quay and the devnet are chosen by the environment only: QUAY_URL/QUAY_API_KEY make Quay the
 * servers' fee payer and relayer, STELLAR_RPC_URL points every RPC at the devnet.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fundedKeypair, usdcBalance } from "../devnet/helpers";
import { openChannel, UNIT } from "./method-helpers";
import { startRelayer, type Relayer } from "./relayer-fixtures";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../..");
const PRICE = 100_000n; // "0.01"

const SUBSTITUTIONS: Array<[string | RegExp, string]> = [
  [/@stellar\/mpp\//g, "@quay/mpp/"],
  ['import { Mppx } from "mppx";\nimport * as stellar from "@quay/mpp/charge/server";', 'import { Mppx } from "mppx/express";\nimport * as stellar from "@quay/mpp/charge/server";'],
  ['import { Mppx, Store } from "mppx";\nimport * as stellar from "@quay/mpp/channel/server";', 'import { Store } from "mppx";\nimport { Mppx } from "mppx/express";\nimport * as stellar from "@quay/mpp/channel/server";'],
  ['app.use(mppx.middleware());\n\napp.get("/data", (req, res) => {\n  res.json({ result: "paid content" });', 'app.get("/data", mppx.channel({ amount: "0.01" }), (req, res) => {\n  res.json({ result: "paid content" });'],
  ['app.use(mppx.middleware());\n\napp.get("/data", (req, res) => {', 'app.get("/data", mppx.charge({ amount: "0.01" }), (req, res) => {'],
  ['import { Mppx } from "mppx";\nimport * as stellar from "@quay/mpp/charge/client";', 'import { Mppx } from "mppx/client";\nimport * as stellar from "@quay/mpp/charge/client";'],
  ['import { Mppx } from "mppx";\nimport * as stellar from "@quay/mpp/channel/client";', 'import { Mppx } from "mppx/client";\nimport * as stellar from "@quay/mpp/channel/client";'],
  [/300([23])/g, "${PORT_$1}"],
  ["const txHash = await close({", "const lastCumulativeAmount = BigInt(process.env.LAST_AMOUNT);\nconst lastCommitmentSignature = process.env.LAST_SIGNATURE;\nconst txHash = await close({"],
];

/** The docs' examples (../shared/seeds, "Part 2: MPP"), verbatim. */
const DOCS = {
  "charge-server.js": `import express from "express";
import { Mppx } from "mppx";
import * as stellar from "@stellar/mpp/charge/server";
import * as StellarSdk from "@stellar/stellar-sdk";

const USDC_SAC_TESTNET = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";
const RECIPIENT = process.env.STELLAR_RECIPIENT; // G... address

const mppx = Mppx.create({
  secretKey: process.env.MPP_SECRET_KEY, // shared secret for credential verification
  methods: [
    stellar.charge({
      recipient: RECIPIENT,
      currency: USDC_SAC_TESTNET,
      network: "stellar:testnet",
      // optional: server pays network fees so clients don't need XLM
      feePayer: process.env.FEE_PAYER_SECRET
        ? { envelopeSigner: StellarSdk.Keypair.fromSecret(process.env.FEE_PAYER_SECRET) }
        : undefined,
    }),
  ],
});

const app = express();
app.use(express.json());

// mppx middleware: returns 402 with challenge, then validates payment on retry
app.use(mppx.middleware());

app.get("/data", (req, res) => {
  res.json({ result: "paid content", price: "$0.001 USDC" });
});

app.listen(3002, () => console.log("MPP charge server on http://localhost:3002"));
`,
  "charge-client.js": `import { Mppx } from "mppx";
import * as stellar from "@stellar/mpp/charge/client";
import * as StellarSdk from "@stellar/stellar-sdk";

const keypair = StellarSdk.Keypair.fromSecret(process.env.STELLAR_SECRET_KEY);

const mppx = Mppx.create({
  methods: [
    stellar.charge({
      keypair,
      mode: "pull", // server assembles and broadcasts the transaction
      onProgress(event) {
        // event.type: "challenge" | "signed" | "settled"
        if (event.type === "settled") console.log("Settled:", event.txHash);
      },
    }),
  ],
});

// mppx wraps fetch — 402 handling is transparent
const res = await mppx.fetch("http://localhost:3002/data");
console.log(await res.json());
`,
  "channel-server.js": `import express from "express";
import { Mppx, Store } from "mppx";
import * as stellar from "@stellar/mpp/channel/server";

const mppx = Mppx.create({
  secretKey: process.env.MPP_SECRET_KEY,
  methods: [
    stellar.channel({
      channel: process.env.CHANNEL_CONTRACT,       // C... contract address
      commitmentKey: process.env.COMMITMENT_PUBKEY, // 64-char hex ed25519 public key
      store: Store.memory(), // dev only — use persistent store in production
      network: "stellar:testnet",
    }),
  ],
});

const app = express();
app.use(express.json());
app.use(mppx.middleware());

app.get("/data", (req, res) => {
  res.json({ result: "paid content" });
});

app.listen(3003);
`,
  "channel-client.js": `import { Mppx } from "mppx";
import * as stellar from "@stellar/mpp/channel/client";
import * as StellarSdk from "@stellar/stellar-sdk";

// commitment key must be a raw ed25519 seed — NOT a standard Stellar secret key
const commitmentKey = StellarSdk.Keypair.fromRawEd25519Seed(
  Buffer.from(process.env.COMMITMENT_SECRET, "hex") // 64-char hex secret
);

const mppx = Mppx.create({
  methods: [
    stellar.channel({
      commitmentKey,
      onProgress(event) {
        // event.type: "challenge" | "signed"
      },
    }),
  ],
});

// Make many requests — each signs a cumulative off-chain commitment
for (let i = 0; i < 100; i++) {
  const res = await mppx.fetch("http://localhost:3003/data");
  console.log(i, await res.json());
}
`,
  "channel-close.js": `import { close } from "@stellar/mpp/channel/server";
import * as StellarSdk from "@stellar/stellar-sdk";

const txHash = await close({
  channel: process.env.CHANNEL_CONTRACT,
  amount: lastCumulativeAmount, // bigint, total USDC owed in base units
  signature: lastCommitmentSignature, // hex string from final commitment
  feePayer: { envelopeSigner: StellarSdk.Keypair.fromSecret(process.env.FEE_PAYER_SECRET) },
  network: "stellar:testnet",
});
// Single on-chain transaction settles the full session
console.log("Channel closed:", txHash);
`,
};

function adapt(code: string, ports: Record<string, number>): string {
  let out = code;
  for (const [from, to] of SUBSTITUTIONS) out = typeof from === "string" ? out.split(from).join(to) : out.replace(from, to);
  return out.replace(/\$\{PORT_([23])\}/g, (_m, d: string) => String(ports[d]));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Builds and packs @quay/mpp, installs the tarball with only mppx, @stellar/stellar-sdk (and express) into a new project. */
async function installPackage(dir: string): Promise<void> {
  await run("npm", ["run", "build", "-w", "@quay/mpp"], { cwd: ROOT });
  await run("npm", ["pack", "--pack-destination", dir], { cwd: join(ROOT, "libs/mpp/dist") });
  const tarball = (await readdir(dir)).find((f) => f.endsWith(".tgz"))!;
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "mpp-docs-examples", private: true, type: "module" }));
  // The workspace's versions (viem pinned as mppx needs it), from the npm cache where it has them.
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", `./${tarball}`, "mppx@0.11.0", "viem@2.57.0", "@stellar/stellar-sdk@16.3.0", "express@5.2.1"], { cwd: dir });
}

describe("@quay/mpp packed and installed: the MPP docs' Stellar examples against Quay on the devnet", () => {
  let quay: Relayer;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "quay-mpp-package-"));
    [quay] = await Promise.all([startRelayer({ ledgerCloseMs: 200 }), installPackage(dir)]);
  }, 180_000);
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await quay?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const baseEnv = () => ({
    PATH: process.env.PATH ?? "",
    STELLAR_RPC_URL: quay.t.devnet.rpcUrl,
    QUAY_URL: quay.apiUrl,
    QUAY_API_KEY: quay.apiKey,
    MPP_SECRET_KEY: "quay-mpp-package-test-secret-0123456789abcdef",
  });

  async function write(name: keyof typeof DOCS, ports: Record<string, number>): Promise<string> {
    const file = join(dir, name.replace(/\.js$/, ".mjs"));
    await writeFile(file, adapt(DOCS[name], ports));
    return file;
  }

  async function serve(file: string, env: Record<string, string>, port: number): Promise<void> {
    const child = spawn(process.execPath, [file], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${file} exited: ${stderr}`);
      const up = await fetch(`http://127.0.0.1:${port}/data`).then((r) => r.status, () => 0);
      if (up === 402) return;
      if (Date.now() > deadline) throw new Error(`${file} did not answer 402 (last ${up}): ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function runScript(file: string, env: Record<string, string>): Promise<string> {
    const { stdout } = await run(process.execPath, [file], { cwd: dir, env, timeout: 60_000 });
    return stdout;
  }

  it("charge: the docs' server (Quay sponsoring and settling) and client: the client pays, the recipient is paid", async () => {
    const ports = { "2": await freePort(), "3": 0 };
    const recipient = await fundedKeypair(quay.t.devnet, { usdc: 1n });
    const payer = await fundedKeypair(quay.t.devnet, { usdc: 10n * UNIT });
    await serve(await write("charge-server.js", ports), { ...baseEnv(), STELLAR_RECIPIENT: recipient.publicKey() }, ports["2"]);
    const out = await runScript(await write("charge-client.js", ports), { ...baseEnv(), STELLAR_SECRET_KEY: payer.secret() });
    expect(out).toContain("paid content");
    expect(await usdcBalance(quay.t.server, recipient.publicKey())).toBe(1n + PRICE);
    expect(await usdcBalance(quay.t.server, payer.publicKey())).toBe(10n * UNIT - PRICE);
    // Quay settled it: one sponsored charge.
    expect((await quay.pool.query("select count(*)::int as n from submissions where kind = 'mpp_charge' and status = 'succeeded'")).rows[0].n).toBe(1);
  });

  it("channel: the docs' server (vouchers kept by Quay) and client pay 100 requests; the docs' close pays the recipient exactly their sum", async () => {
    const ports = { "2": 0, "3": await freePort() };
    const deposit = 2n * UNIT;
    const o = await openChannel(quay.t, deposit, "package-docs", 50);
    const env = {
      ...baseEnv(),
      CHANNEL_CONTRACT: o.channel,
      COMMITMENT_PUBKEY: o.commitmentKey.rawPublicKey().toString("hex"),
      COMMITMENT_SECRET: o.commitmentKey.rawSecretKey().toString("hex"),
    };
    await serve(await write("channel-server.js", ports), env, ports["3"]);
    const out = await runScript(await write("channel-client.js", ports), env);
    expect(out.trim().split("\n")).toHaveLength(100);
    expect(out).toContain("99 { result: 'paid content' }");

    const state = await quay.call("GET", `/mpp/channels/${o.channel}`);
    expect(state.body).toMatchObject({ cumulative: (100n * PRICE).toString(), state: "open" });
    const recipientBefore = await usdcBalance(quay.t.server, o.recipient.publicKey());
    const funderBefore = await usdcBalance(quay.t.server, o.funder.publicKey());
    const closed = await runScript(await write("channel-close.js", ports), {
      ...env,
      FEE_PAYER_SECRET: o.recipient.secret(),
      LAST_AMOUNT: state.body.cumulative,
      LAST_SIGNATURE: state.body.signature,
    });
    const txHash = /Channel closed: ([0-9a-f]{64})/.exec(closed)?.[1];
    expect(txHash).toBeDefined();
    expect((await quay.t.server.getTransaction(txHash!)).status).toBe("SUCCESS");
    expect(await usdcBalance(quay.t.server, o.recipient.publicKey())).toBe(recipientBefore + 100n * PRICE);
    expect(await usdcBalance(quay.t.server, o.funder.publicKey())).toBe(funderBefore + deposit - 100n * PRICE);
  });
});
