/**
 * Fixtures for unit tests of the devnet's Soroban host, driven directly on a LedgerState (the
 * end-to-end tests go through the RPC instead). Simulation runs on a dropped fork; apply runs on a
 * fork committed only on success, as the pipeline does.
 */
import { type Asset, authorizeEntry, hash, Keypair, Networks, Operation, xdr } from "@stellar/stellar-sdk";
import { Accounts } from "../../apps/devnet/src/accounts";
import { executeSorobanOp, installGenesisContracts, type GenesisContracts, type LedgerInfo, type SorobanOpResult } from "../../apps/devnet/src/soroban";
import { LedgerState } from "../../apps/devnet/src/state";
import { DEFAULT_PROTOCOL_VERSION, USDC_ISSUER } from "../../apps/devnet/src/config";

export const XLM = 10_000_000n;

export type Ok = Extract<SorobanOpResult, { ok: true }>;
export type Failed = Extract<SorobanOpResult, { ok: false }>;

export function ledgerInfo(sequence: number, overrides: Partial<LedgerInfo> = {}): LedgerInfo {
  return {
    sequence,
    closeTime: 1_700_000_000n + BigInt(sequence) * 5n,
    networkPassphrase: Networks.TESTNET,
    networkId: hash(Buffer.from(Networks.TESTNET)),
    protocolVersion: DEFAULT_PROTOCOL_VERSION,
    minPersistentTtl: 4_096,
    minTemporaryTtl: 16,
    maxEntryTtl: 100_000,
    baseReserve: 5_000_000n,
    ...overrides,
  };
}

export class HostFixture {
  readonly state = new LedgerState();
  readonly genesis: GenesisContracts;
  readonly usdc: Asset;
  sequence: number;

  constructor(sequence = 1_000, private readonly overrides: Partial<LedgerInfo> = {}) {
    this.sequence = sequence;
    this.genesis = installGenesisContracts(this.state, this.ledger, { usdcIssuer: USDC_ISSUER });
    this.usdc = this.genesis.usdc;
    this.fund(USDC_ISSUER, 100n * XLM);
  }

  get ledger(): LedgerInfo {
    return ledgerInfo(this.sequence, this.overrides);
  }

  fund(accountId: string, balance: bigint, mutate?: (a: xdr.AccountEntry) => void): void {
    const account = Accounts.create(accountId, balance, this.sequence);
    mutate?.(account);
    Accounts.store(this.state, account, this.sequence);
  }

  trust(accountId: string, balance: bigint, limit = 1_000_000_000n * XLM): void {
    Accounts.storeTrustline(this.state, Accounts.newTrustline(accountId, this.usdc, limit, balance), this.usdc, this.sequence);
    const account = Accounts.load(this.state, accountId);
    if (!account) throw new Error("trust() needs a funded account");
    account.numSubEntries(account.numSubEntries() + 1);
    Accounts.store(this.state, account, this.sequence);
  }

  /** A funded account with a USDC trustline. */
  newHolder(usdc = 0n, xlm = 100n * XLM): Keypair {
    const kp = Keypair.random();
    this.fund(kp.publicKey(), xlm);
    this.trust(kp.publicKey(), usdc);
    return kp;
  }

  usdcBalance(accountId: string): bigint {
    const line = Accounts.loadTrustline(this.state, accountId, this.usdc);
    if (!line) throw new Error(`no trustline for ${accountId}`);
    return Accounts.trustlineBalance(line);
  }

  xlmBalance(accountId: string): bigint {
    const account = Accounts.load(this.state, accountId);
    if (!account) throw new Error(`no account ${accountId}`);
    return Accounts.balance(account);
  }

  /** Simulation as the RPC runs it: recording when the op carries no auth, enforcing otherwise. */
  simulate(operation: xdr.Operation, source: string, txFootprint?: xdr.LedgerFootprint): SorobanOpResult {
    const hasAuth = operation.body().switch() === xdr.OperationType.invokeHostFunction() && operation.body().invokeHostFunctionOp().auth().length > 0;
    return executeSorobanOp({
      state: this.state.fork(),
      ledger: this.ledger,
      txSource: source,
      opSource: source,
      operation,
      mode: hasAuth ? "enforcing" : "recording",
      ...(txFootprint ? { txFootprint } : {}),
    });
  }

  /** Applies with a declared SorobanTransactionData; commits only on success. */
  apply(operation: xdr.Operation, source: string, declared: xdr.SorobanTransactionData): SorobanOpResult {
    const fork = this.state.fork();
    const result = executeSorobanOp({ state: fork, ledger: this.ledger, txSource: source, opSource: source, operation, mode: "enforcing", declared });
    if (result.ok) fork.commit();
    return result;
  }

  /** Simulates, signs every address-credential entry the simulation asks for, re-simulates, applies. */
  async run(op: InvokeSpec, source: string, signers: Keypair[] = [], expiration?: number): Promise<SorobanOpResult> {
    const first = this.simulate(invoke({ ...op, auth: [] }), source);
    if (!first.ok) return first;
    const auth = await signAll(first.auth, signers, expiration ?? this.sequence + 10);
    const withAuth = invoke({ ...op, auth });
    const second = auth.length > 0 ? this.simulate(withAuth, source) : first;
    if (!second.ok) return second;
    return this.apply(withAuth, source, second.transactionData);
  }
}

export interface InvokeSpec {
  readonly contract: string;
  readonly fn: string;
  readonly args: xdr.ScVal[];
  readonly auth?: xdr.SorobanAuthorizationEntry[];
}

export function invoke(spec: InvokeSpec): xdr.Operation {
  return Operation.invokeContractFunction({ contract: spec.contract, function: spec.fn, args: spec.args, auth: spec.auth ?? [] });
}

/** Signs the address-credential entries with the matching keypair, as `authorizeEntry` does for a wallet. */
export async function signAll(entries: xdr.SorobanAuthorizationEntry[], signers: Keypair[], expiration: number): Promise<xdr.SorobanAuthorizationEntry[]> {
  return Promise.all(
    entries.map(async (entry) => {
      if (entry.credentials().switch() !== xdr.SorobanCredentialsType.sorobanCredentialsAddress()) return entry;
      const address = entry.credentials().address().address();
      const signer = signers.find((kp) => address.switch() === xdr.ScAddressType.scAddressTypeAccount() && kp.rawPublicKey().equals(address.accountId().ed25519()));
      if (!signer) return entry;
      return authorizeEntry(entry, signer, expiration, Networks.TESTNET);
    }),
  );
}

export function expectOk(result: SorobanOpResult): Ok {
  if (!result.ok) throw new Error(`expected success, got: ${result.error}`);
  return result;
}

export function expectFailed(result: SorobanOpResult): Failed {
  if (result.ok) throw new Error("expected failure, got success");
  return result;
}

/** The InvokeHostFunctionResult / ExtendFootprintTtlResult / RestoreFootprintResult code name of a failure. */
export function codeName(result: Failed): string {
  const tr = result.code.tr();
  return (tr.value() as { switch(): { name: string } }).switch().name;
}

export function keyIds(keys: xdr.LedgerKey[]): string[] {
  return keys.map((k) => k.toXDR("base64"));
}
