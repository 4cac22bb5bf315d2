import { randomBytes } from "node:crypto";
import { xdr } from "@stellar/stellar-sdk";
import { verifyEd25519 } from "../ed25519";
import { sha256 } from "../sha256";
import { StrKeys } from "../strkeys";
import { HostError } from "./errors";
import type { HostMode, LedgerInfo } from "./host";
import { Keys } from "./keys";
import { ScVals } from "./scval";
import type { HostStorage } from "./storage";

/**
 * Soroban authorization as CAP-46-11 specifies it.
 *
 * Enforcing: every `require_auth(address)` is matched against the op's auth entries for that
 * address — an entry's root is matched to a call (then authenticated: expiry, account signatures
 * vs the medium threshold, nonce consumed into a temporary ledger entry), and further calls made
 * beneath that call must match its sub-invocations. Unmatched calls fail with Error(Auth, InvalidAction).
 *
 * Recording: the same calls build the invocation trees simulation returns: source-account
 * credentials for the operation source, otherwise address credentials with a random nonce,
 * expiration 0 and a void signature; the nonce key is written so it lands in the footprint.
 */
export interface AuthFrame {
  /** 1-based depth of the call frame that called require_auth. */
  readonly depth: number;
  /** The contract that invoked the current one (for invoker-contract auth), if any. */
  readonly invoker: string | undefined;
}

const MAX_ACCOUNT_SIGNATURES = 20;

export class AuthManager {
  private readonly enforced: EnforcedEntry[];
  private readonly recorded: RecordedEntry[] = [];
  /** Address-credential signatures verified (or, recording, that will be): priced as instructions. */
  signatureChecks = 0;

  constructor(
    private readonly mode: HostMode,
    entries: readonly xdr.SorobanAuthorizationEntry[],
    private readonly sourceAccount: string,
    private readonly ledger: LedgerInfo,
    private readonly storage: HostStorage,
  ) {
    this.enforced = mode === "enforcing" ? entries.map((entry) => new EnforcedEntry(entry, sourceAccount)) : [];
  }

  requireAuth(address: string, fn: xdr.SorobanAuthorizedFunction, frame: AuthFrame): void {
    if (StrKeys.isContract(address) && frame.invoker === address) return;
    if (this.mode === "recording") this.record(address, fn, frame.depth);
    else this.enforce(address, fn, frame.depth);
  }

  /** Called when the frame at `depth` returns: matches made inside it are closed. */
  onFramePop(depth: number): void {
    for (const t of [...this.enforced, ...this.recorded]) t.pop(depth);
  }

  /** The auth entries simulation returns (recording) or the op carried (enforcing). */
  entries(): xdr.SorobanAuthorizationEntry[] {
    if (this.mode === "enforcing") return this.enforced.map((e) => e.entry);
    return this.recorded.map((r) => r.toEntry());
  }

  private enforce(address: string, fn: xdr.SorobanAuthorizedFunction, depth: number): void {
    for (const tracker of this.enforced) {
      if (tracker.address === address && tracker.matchChild(fn, depth)) return;
    }
    for (const tracker of this.enforced) {
      if (tracker.address !== address || !tracker.rootMatches(fn)) continue;
      if (!tracker.isSource) this.authenticate(tracker.entry.credentials().address(), address, tracker.entry.rootInvocation());
      tracker.matchRoot(depth);
      return;
    }
    throw HostError.host("Auth", "InvalidAction", `unauthorized function call for address ${address}: ${describe(fn)}`);
  }

  private record(address: string, fn: xdr.SorobanAuthorizedFunction, depth: number): void {
    for (const tracker of this.recorded) {
      if (tracker.address === address && tracker.addChild(fn, depth)) return;
    }
    const isSource = address === this.sourceAccount;
    const nonce = isSource ? undefined : randomNonce();
    if (nonce) {
      this.signatureChecks++;
      if (StrKeys.isAccount(address)) this.storage.get(Keys.account(address));
      // The signer picks the expiration later; rent is reserved for the longest one allowed.
      this.writeNonce(address, nonce, this.ledger.sequence + this.ledger.maxEntryTtl - 1);
    }
    this.recorded.push(new RecordedEntry(address, nonce, fn, depth));
  }

  private authenticate(creds: xdr.SorobanAddressCredentials, address: string, invocation: xdr.SorobanAuthorizedInvocation): void {
    const expiration = creds.signatureExpirationLedger();
    if (expiration < this.ledger.sequence) {
      throw HostError.host("Auth", "InvalidInput", `signature has expired (ledger ${expiration} < ${this.ledger.sequence})`);
    }
    if (expiration > this.ledger.sequence + this.ledger.maxEntryTtl - 1) {
      throw HostError.host("Auth", "InvalidInput", "signature expiration is too late");
    }
    const nonceKey = Keys.nonce(address, creds.nonce());
    if (this.storage.get(nonceKey)) {
      throw HostError.host("Auth", "ExistingValue", `nonce already exists for address ${address}`);
    }
    const payload = sha256(
      xdr.HashIdPreimage.envelopeTypeSorobanAuthorization(
        new xdr.HashIdPreimageSorobanAuthorization({
          networkId: this.ledger.networkId,
          nonce: creds.nonce(),
          signatureExpirationLedger: expiration,
          invocation,
        }),
      ).toXDR(),
    );
    this.signatureChecks++;
    if (StrKeys.isAccount(address)) this.checkAccountSignatures(address, creds.signature(), payload);
    else throw HostError.host("Auth", "InvalidAction", `contract ${address} has no __check_auth on this devnet`);
    this.writeNonce(address, creds.nonce(), expiration);
  }

  /** Stellar account authentication: sorted distinct ed25519 signers whose weights reach the medium threshold. */
  private checkAccountSignatures(accountId: string, signature: xdr.ScVal, payload: Buffer): void {
    const entry = this.storage.get(Keys.account(accountId));
    if (!entry) throw HostError.host("Storage", "MissingValue", `account ${accountId} does not exist`);
    const account = entry.data().account();
    if (signature.switch() !== xdr.ScValType.scvVec()) {
      throw HostError.host("Auth", "InvalidInput", "account signature must be a Vec of {public_key, signature}");
    }
    const signatures = signature.vec() ?? [];
    if (signatures.length > MAX_ACCOUNT_SIGNATURES) throw HostError.host("Auth", "InvalidInput", "too many signatures");
    let previous: Buffer | undefined;
    let weight = 0;
    for (const item of signatures) {
      const publicKey = ScVals.toBytes(ScVals.field(item, "public_key"), "public_key", 32);
      const sig = ScVals.toBytes(ScVals.field(item, "signature"), "signature", 64);
      if (previous && Buffer.compare(previous, publicKey) >= 0) {
        throw HostError.host("Auth", "InvalidInput", "signatures must be sorted by public key without duplicates");
      }
      previous = publicKey;
      if (!verifyEd25519(publicKey, payload, sig)) {
        throw HostError.host("Crypto", "InvalidInput", "failed ED25519 verification");
      }
      const signerWeight = signerWeightOf(account, publicKey);
      if (signerWeight === 0) throw HostError.host("Auth", "InvalidAction", "signer does not belong to the account");
      weight += signerWeight;
    }
    const mediumThreshold = account.thresholds()[2] ?? 0;
    if (weight < mediumThreshold || signatures.length === 0) {
      throw HostError.host("Auth", "InvalidAction", `signature weight ${weight} is lower than the medium threshold ${mediumThreshold}`);
    }
  }

  private writeNonce(address: string, nonce: xdr.Int64, liveUntil: number): void {
    const key = Keys.nonce(address, nonce);
    const d = key.contractData();
    const entry = new xdr.LedgerEntry({
      lastModifiedLedgerSeq: this.ledger.sequence,
      data: xdr.LedgerEntryData.contractData(
        new xdr.ContractDataEntry({
          ext: new xdr.ExtensionPoint(0),
          contract: d.contract(),
          key: d.key(),
          durability: d.durability(),
          val: xdr.ScVal.scvVoid(),
        }),
      ),
      ext: new xdr.LedgerEntryExt(0),
    });
    this.storage.put(key, entry, liveUntil);
  }
}

function signerWeightOf(account: xdr.AccountEntry, publicKey: Buffer): number {
  if (account.accountId().ed25519().equals(publicKey)) return account.thresholds()[0] ?? 0;
  for (const signer of account.signers()) {
    const key = signer.key();
    if (key.switch() === xdr.SignerKeyType.signerKeyTypeEd25519() && key.ed25519().equals(publicKey)) return signer.weight();
  }
  return 0;
}

function randomNonce(): xdr.Int64 {
  return xdr.Int64.fromString(randomBytes(8).readBigInt64BE().toString());
}

function sameFunction(required: xdr.SorobanAuthorizedFunction, authorized: xdr.SorobanAuthorizedFunction): boolean {
  if (required.toXDR().equals(authorized.toXDR())) return true;
  // A V1 create-contract entry also authorizes a V2 creation without constructor arguments.
  const T = xdr.SorobanAuthorizedFunctionType;
  if (required.switch() === T.sorobanAuthorizedFunctionTypeCreateContractV2HostFn() && authorized.switch() === T.sorobanAuthorizedFunctionTypeCreateContractHostFn()) {
    const v2 = required.createContractV2HostFn();
    const v1 = authorized.createContractHostFn();
    return v2.constructorArgs().length === 0 && v2.contractIdPreimage().toXDR().equals(v1.contractIdPreimage().toXDR()) && v2.executable().toXDR().equals(v1.executable().toXDR());
  }
  return false;
}

function describe(fn: xdr.SorobanAuthorizedFunction): string {
  if (fn.switch() === xdr.SorobanAuthorizedFunctionType.sorobanAuthorizedFunctionTypeContractFn()) {
    const c = fn.contractFn();
    return `${StrKeys.fromScAddress(c.contractAddress())}.${c.functionName().toString()}`;
  }
  return "create contract";
}

interface MatchedStep {
  readonly node: xdr.SorobanAuthorizedInvocation;
  readonly depth: number;
  readonly used: Set<number>;
}

/** One auth entry of the op, and how far its tree has been matched to the running calls. */
class EnforcedEntry {
  readonly address: string;
  readonly isSource: boolean;
  private rootDepth: number | undefined;
  private exhausted = false;
  private path: MatchedStep[] = [];

  constructor(readonly entry: xdr.SorobanAuthorizationEntry, sourceAccount: string) {
    const creds = entry.credentials();
    this.isSource = creds.switch() === xdr.SorobanCredentialsType.sorobanCredentialsSourceAccount();
    this.address = this.isSource ? sourceAccount : StrKeys.fromScAddress(creds.address().address());
  }

  rootMatches(fn: xdr.SorobanAuthorizedFunction): boolean {
    return this.rootDepth === undefined && !this.exhausted && sameFunction(fn, this.entry.rootInvocation().function());
  }

  matchRoot(depth: number): void {
    this.rootDepth = depth;
    this.path = [{ node: this.entry.rootInvocation(), depth, used: new Set() }];
  }

  matchChild(fn: xdr.SorobanAuthorizedFunction, depth: number): boolean {
    const current = this.path[this.path.length - 1];
    if (this.exhausted || !current || current.depth >= depth) return false;
    const children = current.node.subInvocations();
    for (let i = 0; i < children.length; i++) {
      if (current.used.has(i) || !sameFunction(fn, children[i]!.function())) continue;
      current.used.add(i);
      this.path.push({ node: children[i]!, depth, used: new Set() });
      return true;
    }
    return false;
  }

  pop(depth: number): void {
    this.path = this.path.filter((step) => step.depth < depth);
    if (this.rootDepth !== undefined && this.rootDepth >= depth) this.exhausted = true;
  }
}

class RecordedNode {
  readonly children: RecordedNode[] = [];
  constructor(readonly fn: xdr.SorobanAuthorizedFunction) {}

  toInvocation(): xdr.SorobanAuthorizedInvocation {
    return new xdr.SorobanAuthorizedInvocation({ function: this.fn, subInvocations: this.children.map((c) => c.toInvocation()) });
  }
}

/** An auth entry being recorded in simulation. */
class RecordedEntry {
  private readonly root: RecordedNode;
  private path: Array<{ node: RecordedNode; depth: number }>;
  private exhausted = false;

  constructor(
    readonly address: string,
    private readonly nonce: xdr.Int64 | undefined,
    fn: xdr.SorobanAuthorizedFunction,
    private readonly rootDepth: number,
  ) {
    this.root = new RecordedNode(fn);
    this.path = [{ node: this.root, depth: rootDepth }];
  }

  addChild(fn: xdr.SorobanAuthorizedFunction, depth: number): boolean {
    const current = this.path[this.path.length - 1];
    if (this.exhausted || !current || current.depth >= depth) return false;
    const node = new RecordedNode(fn);
    current.node.children.push(node);
    this.path.push({ node, depth });
    return true;
  }

  pop(depth: number): void {
    this.path = this.path.filter((step) => step.depth < depth);
    if (this.rootDepth >= depth) this.exhausted = true;
  }

  toEntry(): xdr.SorobanAuthorizationEntry {
    const credentials = this.nonce
      ? xdr.SorobanCredentials.sorobanCredentialsAddress(
          new xdr.SorobanAddressCredentials({
            address: StrKeys.scAddress(this.address),
            nonce: this.nonce,
            signatureExpirationLedger: 0,
            signature: xdr.ScVal.scvVoid(),
          }),
        )
      : xdr.SorobanCredentials.sorobanCredentialsSourceAccount();
    return new xdr.SorobanAuthorizationEntry({ credentials, rootInvocation: this.root.toInvocation() });
  }
}
