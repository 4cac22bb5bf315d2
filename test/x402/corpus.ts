/**
 * The devnet corpus: a real @x402/stellar client payload, and tamperings of it, each with the
 * answer Quay's verify must give and the answer @x402/stellar's own facilitator gives. Shared by
 * verify-devnet.test.ts (Quay's answers) and witness.test.ts (Quay against the library).
 *
 * Where the two answers differ, witness.test.ts lists why Quay is deliberately different.
 */
import {
  Address,
  authorizeEntry,
  hash,
  Keypair,
  Operation,
  TransactionBuilder,
  nativeToScVal,
  xdr,
  type rpc,
} from "@stellar/stellar-sdk";
import { ExactStellarScheme as ClientScheme, createEd25519Signer } from "@x402/stellar";
import { InvalidReason } from "@quay/x402";
import { fund, submitAndWait, type TestDevnet } from "../devnet/helpers";
import { AMOUNT, OTHER_TOKEN, invocation, newParties, requirements, transferArgs, verifyBody, type Parties, type Requirements } from "./fixtures";

export type Answer = "valid" | string;

export interface CorpusInput {
  readonly body: unknown;
  /** Added to Quay's accounts for this case (and to the library's signers). */
  readonly extraQuayAddresses?: readonly string[];
  readonly maxFeeStroops?: bigint;
}

export interface CorpusCase {
  readonly name: string;
  readonly quay: Answer;
  readonly library: Answer;
  /** For simulation_failed: what the simulation error must name, so the case fails for the reason it means to. */
  readonly simulationError?: string;
  build(world: World): Promise<CorpusInput>;
}

export interface World {
  readonly t: TestDevnet;
  readonly parties: Parties;
  readonly requirements: Requirements;
  /** A valid client payload's envelope (base64), never settled. */
  readonly envelope: string;
  latestLedger(): Promise<number>;
  /** A fresh payer with `usdc` base units and a fresh valid payload of AMOUNT from it. */
  freshPayment(usdc?: bigint): Promise<{ payer: Keypair; envelope: string }>;
  /** Submits the payment as a settlement would (rebuilt on a funded source) and waits for it. */
  settle(envelope: string): Promise<rpc.Api.GetTransactionResponse>;
}

export async function createWorld(t: TestDevnet): Promise<World> {
  // Quay measures ledger close time over recent ledgers; a devnet only a ledger or two old has no
  // span to measure yet, and cases that depend on the measurement would meet the 5 s fallback.
  while ((await t.server.getLatestLedger()).sequence < 5) await new Promise((resolve) => setTimeout(resolve, 50));
  const parties = newParties();
  const reqs = requirements(parties);
  await fund(t.devnet, parties.payTo, { usdc: 1n });
  const submitter = Keypair.random();
  await fund(t.devnet, submitter.publicKey());

  const payWith = async (payer: Keypair): Promise<string> => {
    const client = new ClientScheme(createEd25519Signer(payer.secret(), "stellar:testnet"), { url: t.devnet.rpcUrl });
    const payload = await client.createPaymentPayload(2, reqs as Parameters<ClientScheme["createPaymentPayload"]>[1]);
    return String(payload.payload.transaction);
  };
  await fund(t.devnet, parties.payer.publicKey(), { usdc: 1_000_000n });
  const envelope = await payWith(parties.payer);

  return {
    t,
    parties,
    requirements: reqs,
    envelope,
    latestLedger: async () => (await t.server.getLatestLedger()).sequence,
    async freshPayment(usdc = 1_000_000n) {
      const payer = Keypair.random();
      await fund(t.devnet, payer.publicKey(), { usdc });
      return { payer, envelope: await payWith(payer) };
    },
    async settle(paymentEnvelope: string) {
      const tx = xdr.TransactionEnvelope.fromXDR(paymentEnvelope, "base64").v1().tx();
      const op = tx.operations()[0]!.body().invokeHostFunctionOp();
      const rebuilt = new TransactionBuilder(await t.server.getAccount(submitter.publicKey()), {
        fee: "10000",
        networkPassphrase: t.passphrase,
        sorobanData: tx.ext().sorobanData(),
      })
        .setTimeout(60)
        .addOperation(Operation.invokeHostFunction({ func: op.hostFunction(), auth: op.auth() }))
        .build();
      rebuilt.sign(submitter);
      return submitAndWait(t.server, rebuilt);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Envelope surgery: decode, change one thing, re-encode.

export function editEnvelope(envelope: string, edit: (tx: xdr.Transaction, env: xdr.TransactionEnvelope) => void): string {
  const env = xdr.TransactionEnvelope.fromXDR(envelope, "base64");
  edit(env.v1().tx(), env);
  return env.toXDR("base64");
}

function invokeOf(tx: xdr.Transaction): xdr.InvokeHostFunctionOp {
  return tx.operations()[0]!.body().invokeHostFunctionOp();
}

/** The payer's entry re-signed (by `signer`, default the payer) after `change`. */
async function resignAuth(
  world: World,
  envelope: string,
  expiration: number,
  options: { signer?: Keypair; change?: (entry: xdr.SorobanAuthorizationEntry) => void } = {},
): Promise<string> {
  const tx = xdr.TransactionEnvelope.fromXDR(envelope, "base64").v1().tx();
  const entry = xdr.SorobanAuthorizationEntry.fromXDR(invokeOf(tx).auth()[0]!.toXDR());
  options.change?.(entry);
  const signed = await authorizeEntry(entry, options.signer ?? world.parties.payer, expiration, world.t.passphrase);
  return editEnvelope(envelope, (t) => invokeOf(t).auth([signed]));
}

const body = (world: World, envelope: string, overrides: Parameters<typeof verifyBody>[2] = {}, reqs: Partial<Requirements> = {}) =>
  verifyBody(envelope, { ...world.requirements, ...reqs }, overrides);

// ---------------------------------------------------------------------------------------------

const same = (reason: string) => ({ quay: reason, library: reason });

export const CORPUS: readonly CorpusCase[] = [
  { name: "the client's payload as built", quay: "valid", library: "valid", build: async (w) => ({ body: body(w, w.envelope) }) },
  {
    name: "x402Version 1",
    ...same(InvalidReason.invalidX402Version),
    build: async (w) => ({ body: body(w, w.envelope, { x402Version: 1 }) }),
  },
  {
    name: "requirements scheme 'upto'",
    ...same(InvalidReason.unsupportedScheme),
    build: async (w) => ({ body: verifyBody(w.envelope, { ...w.requirements, scheme: "upto" }, { accepted: w.requirements }) }),
  },
  {
    name: "accepted on pubnet, required on testnet",
    ...same(InvalidReason.networkMismatch),
    build: async (w) => ({ body: body(w, w.envelope, { accepted: { network: "stellar:pubnet" } }) }),
  },
  {
    name: "a network that is not Stellar's",
    ...same(InvalidReason.invalidNetwork),
    build: async (w) => ({ body: body(w, w.envelope, {}, { network: "stellar:futurenet" }) }),
  },
  {
    name: "an asset Quay does not settle",
    quay: InvalidReason.unsupportedAsset,
    library: InvalidReason.wrongAsset,
    build: async (w) => ({ body: body(w, w.envelope, {}, { asset: OTHER_TOKEN }) }),
  },
  {
    name: "a transaction that is not XDR",
    ...same(InvalidReason.malformed),
    build: async (w) => ({ body: body(w, "bm90IGEgdHJhbnNhY3Rpb24=") }),
  },
  {
    name: "a second operation",
    ...same(InvalidReason.wrongOperation),
    build: async (w) => ({
      body: body(
        w,
        editEnvelope(w.envelope, (tx) => tx.operations([...tx.operations(), Operation.bumpSequence({ bumpTo: "99" })])),
      ),
    }),
  },
  {
    name: "Quay's fund account as the transaction source",
    ...same(InvalidReason.unsafeTxOrOpSource),
    build: async (w) => ({
      body: body(w, editEnvelope(w.envelope, (tx) => tx.sourceAccount(xdr.MuxedAccount.keyTypeEd25519(w.parties.fund.rawPublicKey())))),
    }),
  },
  {
    name: "a function other than transfer",
    ...same(InvalidReason.wrongFunctionName),
    build: async (w) => ({
      body: body(w, editEnvelope(w.envelope, (tx) => invokeOf(tx).hostFunction().invokeContract().functionName("approve"))),
    }),
  },
  {
    name: "the payer is one of Quay's accounts",
    ...same(InvalidReason.facilitatorIsPayer),
    build: async (w) => ({ body: body(w, w.envelope), extraQuayAddresses: [w.parties.payer.publicKey()] }),
  },
  {
    name: "requirements ask for another payee",
    ...same(InvalidReason.wrongRecipient),
    build: async (w) => ({ body: body(w, w.envelope, { accepted: w.requirements }, { payTo: Keypair.random().publicKey() }) }),
  },
  {
    name: "requirements ask for one base unit more",
    ...same(InvalidReason.wrongAmount),
    build: async (w) => ({ body: body(w, w.envelope, { accepted: w.requirements }, { amount: (AMOUNT + 1n).toString() }) }),
  },
  {
    name: "a signed envelope",
    quay: InvalidReason.hasEnvelopeSignatures,
    library: "valid",
    build: async (w) => ({
      body: body(
        w,
        editEnvelope(w.envelope, (_tx, env) => {
          const signer = Keypair.random();
          env.v1().signatures([signer.signDecorated(Buffer.alloc(32, 1))]);
        }),
      ),
    }),
  },
  {
    name: "auth re-signed to expire 2 ledgers from now",
    quay: InvalidReason.authAlreadyExpired,
    library: "valid",
    build: async (w) => ({ body: body(w, await resignAuth(w, w.envelope, (await w.latestLedger()) + 2)) }),
  },
  {
    name: "auth re-signed with an expiration already passed",
    quay: InvalidReason.authAlreadyExpired,
    library: InvalidReason.simulationFailed,
    build: async (w) => ({ body: body(w, await resignAuth(w, w.envelope, (await w.latestLedger()) - 1)) }),
  },
  {
    name: "auth expiring far beyond maxTimeoutSeconds",
    ...same(InvalidReason.signatureExpirationTooFar),
    build: async (w) => ({ body: body(w, await resignAuth(w, w.envelope, (await w.latestLedger()) + 5_000)) }),
  },
  {
    name: "auth expiring inside the bound measured on the RPC but past the library's 5 s guess",
    quay: "valid",
    library: InvalidReason.signatureExpirationTooFar,
    // Past the library's 12 + 2; inside Quay's ceil(60 / measured) + 2 while the devnet closes ledgers faster than every 4 s.
    build: async (w) => ({ body: body(w, await resignAuth(w, w.envelope, (await w.latestLedger()) + 16)) }),
  },
  {
    name: "auth signed by a key that is not the payer's",
    ...same(InvalidReason.simulationFailed),
    simulationError: "Error(Auth, InvalidAction)",
    build: async (w) => ({ body: body(w, await resignAuth(w, w.envelope, (await w.latestLedger()) + 10, { signer: Keypair.random() })) }),
  },
  {
    name: "amount raised in the call after the payer signed",
    quay: InvalidReason.authInvocationMismatch,
    library: InvalidReason.simulationFailed,
    build: async (w) => {
      const raised = AMOUNT * 2n;
      const envelope = editEnvelope(w.envelope, (tx) => {
        const args = transferArgs(w.parties.payer.publicKey(), w.parties.payTo, raised);
        invokeOf(tx).hostFunction().invokeContract().args(args);
      });
      const reqs = { ...w.requirements, amount: raised.toString() };
      return { body: verifyBody(envelope, reqs) };
    },
  },
  {
    name: "a fee above the facilitator's maximum",
    ...same(InvalidReason.feeExceedsMaximum),
    build: async (w) => ({ body: body(w, w.envelope), maxFeeStroops: 100n }),
  },
  {
    name: "a sub-invocation added to the payer's auth, re-signed",
    quay: InvalidReason.hasSubinvocations,
    library: InvalidReason.hasSubinvocations,
    build: async (w) => {
      const expiration = (await w.latestLedger()) + 10;
      const envelope = await resignAuth(w, w.envelope, expiration, {
        change: (entry) => {
          const extra = invocation(OTHER_TOKEN, "transfer", transferArgs(w.parties.payer.publicKey(), w.parties.payTo, 1n));
          entry.rootInvocation().subInvocations([extra]);
        },
      });
      return { body: body(w, withHeadroom(envelope)) };
    },
  },
  {
    name: "an extra auth entry signed by Quay's channel account",
    quay: InvalidReason.facilitatorInAuth,
    library: InvalidReason.facilitatorInAuth,
    build: async (w) => {
      const expiration = (await w.latestLedger()) + 10;
      const channel = w.parties.channel;
      const entry = new xdr.SorobanAuthorizationEntry({
        credentials: xdr.SorobanCredentials.sorobanCredentialsAddress(
          new xdr.SorobanAddressCredentials({
            address: new Address(channel.publicKey()).toScAddress(),
            nonce: xdr.Int64.fromString("7"),
            signatureExpirationLedger: expiration,
            signature: xdr.ScVal.scvVoid(),
          }),
        ),
        rootInvocation: invocation(w.requirements.asset, "transfer", transferArgs(w.parties.payer.publicKey(), w.parties.payTo, AMOUNT)),
      });
      const signed = await authorizeEntry(entry, channel, expiration, w.t.passphrase);
      return { body: body(w, withHeadroom(editEnvelope(w.envelope, (tx) => invokeOf(tx).auth([...invokeOf(tx).auth(), signed])))) };
    },
  },
  {
    name: "a second signed entry, from a stranger",
    quay: InvalidReason.unexpectedAuthEntries,
    library: "valid",
    build: async (w) => {
      const expiration = (await w.latestLedger()) + 10;
      const stranger = Keypair.random();
      const entry = new xdr.SorobanAuthorizationEntry({
        credentials: xdr.SorobanCredentials.sorobanCredentialsAddress(
          new xdr.SorobanAddressCredentials({
            address: new Address(stranger.publicKey()).toScAddress(),
            nonce: xdr.Int64.fromString("9"),
            signatureExpirationLedger: expiration,
            signature: xdr.ScVal.scvVoid(),
          }),
        ),
        rootInvocation: invocation(w.requirements.asset, "balance", [nativeToScVal(stranger.publicKey(), { type: "address" })]),
      });
      const signed = await authorizeEntry(entry, stranger, expiration, w.t.passphrase);
      return { body: body(w, withHeadroom(editEnvelope(w.envelope, (tx) => invokeOf(tx).auth([...invokeOf(tx).auth(), signed])))) };
    },
  },
  {
    name: "a payment already settled (its nonce is spent)",
    ...same(InvalidReason.simulationFailed),
    simulationError: "Error(Auth, ExistingValue)",
    build: async (w) => {
      const { envelope } = await w.freshPayment();
      const settled = await w.settle(envelope);
      if (settled.status !== "SUCCESS") throw new Error(`settling the corpus payment failed: ${settled.status}`);
      return { body: body(w, envelope) };
    },
  },
  {
    name: "a payer whose balance went elsewhere after signing",
    ...same(InvalidReason.simulationFailed),
    // The SAC's BalanceError.
    simulationError: "Error(Contract, #10)",
    build: async (w) => {
      // Two payments of the whole balance: once the first lands, the second cannot.
      const { payer, envelope: first } = await w.freshPayment(AMOUNT);
      const client = new ClientScheme(createEd25519Signer(payer.secret(), "stellar:testnet"), { url: w.t.devnet.rpcUrl });
      const second = String((await client.createPaymentPayload(2, w.requirements as Parameters<ClientScheme["createPaymentPayload"]>[1])).payload.transaction);
      const settled = await w.settle(first);
      if (settled.status !== "SUCCESS") throw new Error(`settling the corpus payment failed: ${settled.status}`);
      return { body: body(w, second) };
    },
  },
  // CAP-71 (protocol 27): the same payment's auth as V2 credentials, and forgeries of it. The
  // library (SDK 14) cannot even decode them: malformed.
  {
    name: "the payer's auth as V2 credentials (CAP-71), signed over the address-bound preimage",
    quay: "valid",
    library: InvalidReason.malformed,
    build: async (w) => ({ body: body(w, await resignAuth(w, w.envelope, (await w.latestLedger()) + 10, { change: toV2 })) }),
  },
  {
    name: "a V1 signature relabelled as V2",
    quay: InvalidReason.simulationFailed,
    library: InvalidReason.malformed,
    simulationError: "Error(Auth, InvalidAction)",
    build: async (w) => {
      const signed = await resignAuth(w, w.envelope, (await w.latestLedger()) + 10);
      return { body: body(w, editEnvelope(signed, (tx) => invokeOf(tx).auth().forEach(toV2))) };
    },
  },
  {
    name: "a V2 entry whose signature binds another address",
    quay: InvalidReason.simulationFailed,
    library: InvalidReason.malformed,
    simulationError: "Error(Auth, InvalidAction)",
    build: async (w) => {
      const expiration = (await w.latestLedger()) + 10;
      const envelope = editEnvelope(w.envelope, (tx) => {
        const [entry] = invokeOf(tx).auth();
        toV2(entry!);
        const credentials = entry!.credentials().addressV2();
        credentials.signatureExpirationLedger(expiration);
        // The payer signs the V2 preimage with a stranger's address in it: valid for the stranger's entry, not for its own.
        const preimage = xdr.HashIdPreimage.envelopeTypeSorobanAuthorizationWithAddress(
          new xdr.HashIdPreimageSorobanAuthorizationWithAddress({
            networkId: hash(Buffer.from(w.t.passphrase)),
            nonce: credentials.nonce(),
            signatureExpirationLedger: expiration,
            address: new Address(Keypair.random().publicKey()).toScAddress(),
            invocation: entry!.rootInvocation(),
          }),
        );
        credentials.signature(accountSignature(w.parties.payer, hash(preimage.toXDR())));
      });
      return { body: body(w, envelope) };
    },
  },
  {
    name: "a V1 signature under delegated credentials (CAP-71 ADDRESS_WITH_DELEGATES)",
    quay: InvalidReason.simulationFailed,
    library: InvalidReason.malformed,
    simulationError: "Error(Auth, InvalidAction)",
    build: async (w) => {
      const envelope = editEnvelope(w.envelope, (tx) => {
        const [entry] = invokeOf(tx).auth();
        const credentials = entry!.credentials().address();
        entry!.credentials(
          xdr.SorobanCredentials.sorobanCredentialsAddressWithDelegates(new xdr.SorobanAddressCredentialsWithDelegates({ addressCredentials: credentials, delegates: [] })),
        );
      });
      return { body: body(w, envelope) };
    },
  },
];

/**
 * More fee on an envelope whose auth grew after the client simulated it: the library still judges
 * the client's own fee against the simulated minimum (Quay does not), and an extra signature check
 * costs more than the client's figure once simulation pads its estimate as stellar-rpc does.
 */
function withHeadroom(envelope: string): string {
  return editEnvelope(envelope, (tx) => tx.fee(tx.fee() + 200_000));
}

/** Relabels an entry's address credentials as CAP-71 V2 (the same payload, signed or not). */
function toV2(entry: xdr.SorobanAuthorizationEntry): void {
  entry.credentials(xdr.SorobanCredentials.sorobanCredentialsAddressV2(entry.credentials().address()));
}

/** A G account's signature ScVal as the host reads it: `[{public_key, signature}]`. */
function accountSignature(signer: Keypair, payload: Buffer): xdr.ScVal {
  const field = (key: string, bytes: Buffer) => new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol(key), val: xdr.ScVal.scvBytes(bytes) });
  return xdr.ScVal.scvVec([xdr.ScVal.scvMap([field("public_key", signer.rawPublicKey()), field("signature", signer.sign(payload))])]);
}
