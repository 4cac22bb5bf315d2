/**
 * Contract accounts (smart wallets) on the devnet, as the smart-account tests deploy and pay from
 * them: upload the native account's Wasm and create it with its constructor arguments through the
 * SDK, fund it with USDC or XLM over the SAC, and settle a buyer's x402 payload the way a
 * relayer-style facilitator does (same operation and auth, its own source and signature).
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { Address, Asset, hash, Keypair, nativeToScVal, Operation, rpc, Transaction, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { SmartAccountPayment, WebAuthnAssertion, type AccountSigner } from "@quay/x402-buyer";
import { ACCOUNT_CONTRACTS, type AccountContractKind } from "../../apps/devnet/src/soroban";
import { send, UNIT } from "./channel-fixtures";
import { builderFor, fundedKeypair, submitAndWait, USDC, type TestDevnet } from "./helpers";

export { UNIT };

const uploaded = new WeakMap<TestDevnet, Set<AccountContractKind>>();
let salts = 0;

export interface DeployOptions {
  /** Who deploys (the address preimage): with `salt`, fixes the account's address in advance. */
  readonly deployer?: Keypair;
  readonly salt?: Buffer;
}

/** Deploys a native contract account of `kind` with `constructorArgs`; returns its C… address. */
export async function deployAccount(t: TestDevnet, kind: AccountContractKind, constructorArgs: xdr.ScVal[], options: DeployOptions = {}): Promise<string> {
  const deployer = options.deployer ?? (await fundedKeypair(t.devnet));
  const code = ACCOUNT_CONTRACTS[kind];
  await uploadAccountWasm(t, kind, deployer);
  const outcome = await send(
    t,
    deployer,
    Operation.createCustomContract({
      address: Address.fromString(deployer.publicKey()),
      wasmHash: code.hash,
      salt: options.salt ?? hash(Buffer.from(`smart-account-${kind}-${++salts}-${Date.now()}`)),
      constructorArgs,
    }),
  );
  if (!outcome.returnValue) throw new Error("createCustomContract returned nothing");
  return Address.fromScVal(outcome.returnValue).toString();
}

/** Uploads the account kind's Wasm once per devnet (the code entry every deployment names). */
export async function uploadAccountWasm(t: TestDevnet, kind: AccountContractKind, uploader?: Keypair): Promise<void> {
  const done = uploaded.get(t) ?? new Set();
  if (done.has(kind)) return;
  await send(t, uploader ?? (await fundedKeypair(t.devnet)), Operation.uploadContractWasm({ wasm: ACCOUNT_CONTRACTS[kind].wasm }));
  done.add(kind);
  uploaded.set(t, done);
}

/** The address `deployer` gets for `salt`, known before deploying (sha256 of the contract-id preimage). */
export function predictAddress(t: TestDevnet, deployer: Keypair, salt: Buffer): string {
  const preimage = xdr.HashIdPreimage.envelopeTypeContractId(
    new xdr.HashIdPreimageContractId({
      networkId: hash(Buffer.from(t.passphrase)),
      contractIdPreimage: xdr.ContractIdPreimage.contractIdPreimageFromAddress(
        new xdr.ContractIdPreimageFromAddress({ address: Address.fromString(deployer.publicKey()).toScAddress(), salt }),
      ),
    }),
  );
  return Address.contract(hash(preimage.toXDR())).toString();
}

/** Sends `amount` of `asset` (USDC by default) to a contract address from a friendbot-funded G account. */
export async function fundContract(t: TestDevnet, contract: string, amount: bigint, asset: Asset = USDC): Promise<void> {
  const funder = await fundedKeypair(t.devnet, asset.isNative() ? {} : { usdc: amount });
  await send(
    t,
    funder,
    Operation.invokeContractFunction({
      contract: asset.contractId(t.passphrase),
      function: "transfer",
      args: [Address.fromString(funder.publicKey()).toScVal(), Address.fromString(contract).toScVal(), nativeToScVal(amount, { type: "i128" })],
    }),
  );
}

/** A SAC balance of any holder (G or C), read with `balance(id)` through simulation. */
export async function sacBalance(t: TestDevnet, holder: string, asset: Asset = USDC): Promise<bigint> {
  const source = await builderFor(t, (await reader(t)).publicKey());
  const tx = source
    .addOperation(Operation.invokeContractFunction({ contract: asset.contractId(t.passphrase), function: "balance", args: [Address.fromString(holder).toScVal()] }))
    .setTimeout(30)
    .build();
  const sim = await t.server.simulateTransaction(tx);
  if (!rpc.Api.isSimulationSuccess(sim) || !sim.result) throw new Error(`balance simulation failed: ${JSON.stringify(sim)}`);
  const parts = sim.result.retval.i128();
  return (BigInt(parts.hi().toString()) << 64n) + BigInt(parts.lo().toString());
}

const readers = new WeakMap<TestDevnet, Keypair>();
async function reader(t: TestDevnet): Promise<Keypair> {
  let kp = readers.get(t);
  if (!kp) {
    kp = await fundedKeypair(t.devnet);
    readers.set(t, kp);
  }
  return kp;
}

export async function validUntil(t: TestDevnet, ledgers = 60): Promise<number> {
  return (await t.server.getLatestLedger()).sequence + ledgers;
}

export interface PayOptions {
  readonly account: string;
  readonly payTo: string;
  readonly amount: bigint;
  readonly sign: AccountSigner;
  readonly validUntilLedger?: number;
  readonly asset?: Asset;
}

/** The buyer's side: an x402 exact payload from the contract account, built by @quay/x402-buyer. */
export async function buyerPayment(t: TestDevnet, o: PayOptions): Promise<SmartAccountPayment.Payment> {
  return SmartAccountPayment.build({
    rpcUrl: t.devnet.rpcUrl,
    allowHttp: true,
    account: o.account,
    asset: (o.asset ?? USDC).contractId(t.passphrase),
    payTo: o.payTo,
    amount: o.amount,
    validUntilLedger: o.validUntilLedger ?? (await validUntil(t)),
    sign: o.sign,
  });
}

/**
 * What a relayer-style facilitator does with the buyer's envelope: the same operation and auth and
 * Soroban data, its own account as source paying the client's fee, signed and submitted.
 * `auth` replaces the operation's auth (to land a forged entry with valid resources).
 */
export async function settle(t: TestDevnet, envelope: string, relayer: Keypair, auth?: xdr.SorobanAuthorizationEntry[]): Promise<rpc.Api.GetTransactionResponse> {
  const client = new Transaction(envelope, t.passphrase);
  const op = client.operations[0] as Operation.InvokeHostFunction;
  const sorobanData = client.toEnvelope().v1().tx().ext().sorobanData();
  const tx = new TransactionBuilder(await t.server.getAccount(relayer.publicKey()), { fee: client.fee, networkPassphrase: t.passphrase, sorobanData })
    .addOperation(Operation.invokeHostFunction({ func: op.func, auth: auth ?? op.auth ?? [] }))
    .setTimeout(60)
    .build();
  tx.sign(relayer);
  return submitAndWait(t.server, tx);
}

/** The invokeHostFunction operation of a buyer's envelope. */
export function invokeOp(envelope: string, passphrase: string): Operation.InvokeHostFunction {
  return new Transaction(envelope, passphrase).operations[0] as Operation.InvokeHostFunction;
}

/** Sorted ed25519 keys (public key order, as multisig signatures are sorted). */
export function ed25519Keys(n: number): Keypair[] {
  return Array.from({ length: n }, () => Keypair.random()).sort((a, b) => Buffer.compare(a.rawPublicKey(), b.rawPublicKey()));
}

export const bytesN = (b: Buffer): xdr.ScVal => xdr.ScVal.scvBytes(b);
export const addressVal = (a: string): xdr.ScVal => Address.fromString(a).toScVal();
export const i128 = (v: bigint): xdr.ScVal => nativeToScVal(v, { type: "i128" });

export interface Passkey {
  readonly privateKey: KeyObject;
  readonly publicKey: Buffer;
  readonly credentialId: Buffer;
}

export function newPasskey(): Passkey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, publicKey: WebAuthnAssertion.publicKeyBytes(publicKey), credentialId: randomBytes(16) };
}
