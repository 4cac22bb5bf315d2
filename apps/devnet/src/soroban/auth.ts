import { randomBytes } from "node:crypto";
import { xdr } from "@stellar/stellar-sdk";
import { verifyEd25519 } from "../ed25519";
import { sha256 } from "../sha256";
import { StrKeys } from "../strkeys";
import { AuthContexts } from "./auth-context";
import { HostError } from "./errors";
import type { HostMode, LedgerInfo } from "./host";
import { Keys } from "./keys";
import { ScVals } from "./scval";
import type { HostStorage } from "./storage";

/**
 * Soroban authorization as CAP-46-11 specifies it, with the CAP-71 credentials of protocol 27.
 *
 * Enforcing: every `require_auth(address)` is matched against the op's auth entries for that
 * address — an entry's root is matched to a call (then authenticated, then expiry and the nonce
 * checked, the nonce consumed into a temporary ledger entry keyed by the address, G or C alike),
 * and further calls made beneath that call must match its sub-invocations. Unmatched calls fail
 * with Error(Auth, InvalidAction), and so does a failed authentication (the host turns every
 * recoverable error of the account check, a contract account's own contract errors included, into
 * that one, so no contract can mistake it for its own).
 *
 * Authentication (soroban-env-host `auth.rs`, `AccountAuthorizationTracker::authenticate`): a G
 * account's signatures are checked against its signers and medium threshold; a contract account's
 * `__check_auth(signature_payload: BytesN<32>, signature: Val, auth_contexts: Vec<Context>)` is
 * called as an internal host call, running as the account (its own storage, its events, its
 * calls made with the account as invoker), with self re-entry allowed (`account_contract.rs`,
 * `check_account_contract_auth`: ContractReentryMode::SelfAllowed). While an entry is being
 * authenticated it cannot authorize anything itself: a `require_auth` of the same address from
 * inside its `__check_auth` finds no usable entry (the host skips the borrowed tracker).
 *
 * The signature payload depends on the credentials: SOROBAN_CREDENTIALS_ADDRESS (V1) signs
 * ENVELOPE_TYPE_SOROBAN_AUTHORIZATION; SOROBAN_CREDENTIALS_ADDRESS_V2 and ..._WITH_DELEGATES sign
 * ENVELOPE_TYPE_SOROBAN_AUTHORIZATION_WITH_ADDRESS, which also binds the top-level address
 * (CAP-71-02, CAP-71-01), so a signature relabelled from one arm to the other does not verify.
 * Delegate trees are checked when the entries are taken (each list sorted by address, no
 * duplicates), before any contract runs. Delegates are consumed only by `delegate_account_auth`
 * from inside a contract account's `__check_auth` (CAP-71-01): each delegate, G or C, is
 * authenticated with the top-level payload and contexts and its own signature, at most once per
 * list, its nested delegates becoming the current list while it runs. The built-in check of a G
 * account reads only the top-level signature, so under a G address the delegates' signatures are
 * never verified and a void top-level signature fails.
 *
 * Recording: the same calls build the invocation trees simulation returns: source-account
 * credentials for the operation source, otherwise address credentials (V1, or V2 when asked for)
 * with a random nonce, expiration 0 and a void signature; the nonce key is written so it lands in
 * the footprint. `__check_auth` is not run while recording (the host cannot: no signature yet), only
 * the account's instance and code are read, as soroban-env-host's `emulate_authentication` does —
 * so a contract account's own reads, writes and CPU appear only in an enforcing simulation.
 */
export interface AuthFrame {
  /** 1-based depth of the call frame that called require_auth. */
  readonly depth: number;
  /** The contract that invoked the current one (for invoker-contract auth), if any. */
  readonly invoker: string | undefined;
}

/** How the auth manager reaches contract accounts: the runtime, which owns the call stack. */
export interface AccountContractHost {
  /**
   * Calls `account.__check_auth(args…)` as an internal host call. `self`: the account may be the
   * innermost contract on the stack (authenticating the account's own call); `prohibited`: it
   * must not be on the stack at all (a delegate's check, CAP-71-01).
   */
  checkAuth(account: string, args: xdr.ScVal[], reentry: "self" | "prohibited"): void;
}

/** One authentication in progress: what its delegates are checked with (CAP-71-01). */
interface AuthenticationFrame {
  readonly payload: Buffer;
  readonly contexts: xdr.ScVal;
  readonly delegates: DelegateTracker | undefined;
}

const MAX_ACCOUNT_SIGNATURES = 20;
/** soroban-env-host's DEFAULT_HOST_DEPTH_LIMIT: how deep the host recurses, delegate trees included. */
const HOST_DEPTH_LIMIT = 100;

/** Which arm of SorobanCredentials an auth entry uses. */
export type CredentialKind = "sourceAccount" | "address" | "addressV2" | "addressWithDelegates";

export namespace AuthCredentials {
  export function kind(credentials: xdr.SorobanCredentials): CredentialKind {
    const T = xdr.SorobanCredentialsType;
    switch (credentials.switch()) {
      case T.sorobanCredentialsSourceAccount():
        return "sourceAccount";
      case T.sorobanCredentialsAddress():
        return "address";
      case T.sorobanCredentialsAddressV2():
        return "addressV2";
      case T.sorobanCredentialsAddressWithDelegates():
        return "addressWithDelegates";
      default:
        throw HostError.host("Value", "InvalidInput", `unknown credentials type ${credentials.switch().name}`);
    }
  }

  /** The address credentials every non-source arm carries (for WITH_DELEGATES, the top-level ones). */
  export function address(credentials: xdr.SorobanCredentials): xdr.SorobanAddressCredentials | undefined {
    switch (kind(credentials)) {
      case "address":
        return credentials.address();
      case "addressV2":
        return credentials.addressV2();
      case "addressWithDelegates":
        return credentials.addressWithDelegates().addressCredentials();
      case "sourceAccount":
        return undefined;
    }
  }

  /**
   * The host's check of a delegate tree as it takes the entries: in every list the addresses are
   * strictly increasing (ScAddress order, which is the order of their XDR), and the tree is no
   * deeper than the host recurses.
   */
  export function checkDelegates(delegates: readonly xdr.SorobanDelegateSignature[], depth = 2): void {
    // The root counts as one level of the host's recursion, each delegate list as one more.
    if (depth >= HOST_DEPTH_LIMIT) throw HostError.host("Context", "ExceededLimit", "delegated signers are nested too deeply");
    for (let i = 1; i < delegates.length; i++) {
      const order = Buffer.compare(delegates[i - 1]!.address().toXDR(), delegates[i]!.address().toXDR());
      if (order === 0) throw HostError.host("Auth", "InvalidInput", "delegated signers contain duplicate address");
      if (order > 0) throw HostError.host("Auth", "InvalidInput", "delegated signer addresses are not in sorted order");
    }
    for (const d of delegates) checkDelegates(d.nestedDelegates(), depth + 1);
  }

  /** sha256 of the HashIdPreimage the credentials' signer signs (CAP-46-11, CAP-71). */
  export function signaturePayload(
    kind: Exclude<CredentialKind, "sourceAccount">,
    networkId: Buffer,
    creds: xdr.SorobanAddressCredentials,
    invocation: xdr.SorobanAuthorizedInvocation,
  ): Buffer {
    const preimage =
      kind === "address"
        ? xdr.HashIdPreimage.envelopeTypeSorobanAuthorization(
            new xdr.HashIdPreimageSorobanAuthorization({
              networkId,
              nonce: creds.nonce(),
              signatureExpirationLedger: creds.signatureExpirationLedger(),
              invocation,
            }),
          )
        : xdr.HashIdPreimage.envelopeTypeSorobanAuthorizationWithAddress(
            new xdr.HashIdPreimageSorobanAuthorizationWithAddress({
              networkId,
              nonce: creds.nonce(),
              signatureExpirationLedger: creds.signatureExpirationLedger(),
              address: creds.address(),
              invocation,
            }),
          );
    return sha256(preimage.toXDR());
  }
}

export class AuthManager {
  private readonly enforced: EnforcedEntry[];
  private readonly recorded: RecordedEntry[] = [];
  private readonly authentications: AuthenticationFrame[] = [];
  private contractHost: AccountContractHost | undefined;
  /** G-account signature checks made (or, recording, that will be): priced as instructions. */
  signatureChecks = 0;

  /**
   * Takes the op's entries as the host does before running anything: a malformed delegate tree
   * throws here. `recordV2` makes recorded address credentials SOROBAN_CREDENTIALS_ADDRESS_V2.
   */
  constructor(
    private readonly mode: HostMode,
    entries: readonly xdr.SorobanAuthorizationEntry[],
    private readonly sourceAccount: string,
    private readonly ledger: LedgerInfo,
    private readonly storage: HostStorage,
    private readonly recordV2 = false,
  ) {
    this.enforced = mode === "enforcing" ? entries.map((entry) => new EnforcedEntry(entry, sourceAccount)) : [];
  }

  /** Connects the runtime that calls contract accounts' `__check_auth`. */
  attach(host: AccountContractHost): void {
    this.contractHost = host;
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
    return this.recorded.map((r) => r.toEntry(this.recordV2));
  }

  private enforce(address: string, fn: xdr.SorobanAuthorizedFunction, depth: number): void {
    // An entry being authenticated is skipped: it cannot authorize calls made by its own check.
    for (const tracker of this.enforced) {
      if (!tracker.authenticating && tracker.address === address && tracker.matchChild(fn, depth)) return;
    }
    for (const tracker of this.enforced) {
      if (tracker.authenticating || tracker.address !== address || !tracker.rootMatches(fn)) continue;
      if (tracker.kind !== "sourceAccount") {
        tracker.authenticating = true;
        try {
          this.authenticate(tracker, address);
        } finally {
          tracker.authenticating = false;
        }
      }
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
      if (StrKeys.isAccount(address)) {
        this.signatureChecks++;
        this.storage.get(Keys.account(address));
      } else {
        this.emulateContractAuthentication(address);
      }
      // The signer picks the expiration later; rent is reserved for the longest one allowed.
      this.writeNonce(address, nonce, this.ledger.sequence + this.ledger.maxEntryTtl - 1);
    }
    this.recorded.push(new RecordedEntry(address, nonce, fn, depth));
  }

  private authenticate(tracker: EnforcedEntry, address: string): void {
    const kind = tracker.kind as Exclude<CredentialKind, "sourceAccount">;
    const creds = AuthCredentials.address(tracker.entry.credentials())!;
    const invocation = tracker.entry.rootInvocation();
    const payload = AuthCredentials.signaturePayload(kind, this.ledger.networkId, creds, invocation);
    try {
      if (StrKeys.isAccount(address)) {
        this.signatureChecks++;
        this.checkAccountSignatures(address, creds.signature(), payload);
      } else {
        const frame: AuthenticationFrame = { payload, contexts: AuthContexts.of(invocation), delegates: tracker.delegates() };
        this.authentications.push(frame);
        try {
          this.checkContractAccount(address, creds.signature(), frame, "self");
        } finally {
          this.authentications.pop();
        }
      }
    } catch (error) {
      // The host reports any recoverable failure of the account check as this one error, so a
      // contract cannot mistake it for its own.
      if (error instanceof HostError && error.recoverable) {
        throw HostError.host("Auth", "InvalidAction", `failed account authentication for ${address} with error: ${error.message}`);
      }
      throw error;
    }
    // Expiry and nonce are checked after the signatures, as the host does.
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
    this.writeNonce(address, creds.nonce(), expiration);
  }

  private checkContractAccount(account: string, signature: xdr.ScVal, frame: AuthenticationFrame, reentry: "self" | "prohibited"): void {
    if (!this.contractHost) throw HostError.host("Auth", "InternalError", "no runtime attached to call __check_auth");
    this.contractHost.checkAuth(account, [ScVals.bytes(frame.payload), signature, frame.contexts], reentry);
  }

  /**
   * `delegate_account_auth(address)` from the `__check_auth` running now (CAP-71-01): the next
   * unused delegate named `address` in the current list is authenticated with the top-level
   * payload and contexts and its own signature; while it runs, its nested delegates are the list.
   */
  delegateAccountAuth(address: string): void {
    const frame = this.authentications[this.authentications.length - 1];
    if (!frame) throw HostError.host("Auth", "InternalError", "delegate_account_auth outside of an authentication");
    if (!frame.delegates) {
      throw HostError.host("Auth", "InvalidInput", `no delegated signers were provided, but delegate_account_auth was called for address ${address}`);
    }
    const signature = frame.delegates.push(address);
    try {
      if (StrKeys.isAccount(address)) {
        this.signatureChecks++;
        this.checkAccountSignatures(address, signature, frame.payload);
      } else {
        this.checkContractAccount(address, signature, frame, "prohibited");
      }
    } finally {
      frame.delegates.pop();
    }
  }

  /** `get_delegated_signers_for_current_auth_check()`: the current list's addresses (empty without delegates). */
  delegatedSigners(): string[] {
    const frame = this.authentications[this.authentications.length - 1];
    if (!frame) throw HostError.host("Auth", "InternalError", "get_delegated_signers_for_current_auth_check outside of an authentication");
    return frame.delegates?.addresses() ?? [];
  }

  /** Recording: what the host reads in place of running `__check_auth` (the instance, and the code it names). */
  private emulateContractAuthentication(account: string): void {
    const instance = this.storage.get(Keys.instance(account));
    if (!instance) return;
    const val = instance.data().contractData().val();
    if (val.switch() !== xdr.ScValType.scvContractInstance()) return;
    const executable = val.instance().executable();
    if (executable.switch() === xdr.ContractExecutableType.contractExecutableWasm()) this.storage.get(Keys.code(executable.wasmHash()));
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
  readonly kind: CredentialKind;
  /** True while this entry's account check runs (the host's borrowed tracker). */
  authenticating = false;
  private delegateTracker: DelegateTracker | undefined;
  private rootDepth: number | undefined;
  private exhausted = false;
  private path: MatchedStep[] = [];

  constructor(readonly entry: xdr.SorobanAuthorizationEntry, sourceAccount: string) {
    const creds = entry.credentials();
    this.kind = AuthCredentials.kind(creds);
    if (this.kind === "addressWithDelegates") {
      const delegates = creds.addressWithDelegates().delegates();
      AuthCredentials.checkDelegates(delegates);
      this.delegateTracker = new DelegateTracker(delegates);
    }
    const addressCreds = AuthCredentials.address(creds);
    this.address = addressCreds ? StrKeys.fromScAddress(addressCreds.address()) : sourceAccount;
  }

  /** The delegate tree of WITH_DELEGATES credentials (undefined for the other arms). */
  delegates(): DelegateTracker | undefined {
    return this.delegateTracker;
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

  toEntry(v2: boolean): xdr.SorobanAuthorizationEntry {
    const addressCredentials = (nonce: xdr.Int64): xdr.SorobanAddressCredentials =>
      new xdr.SorobanAddressCredentials({
        address: StrKeys.scAddress(this.address),
        nonce,
        signatureExpirationLedger: 0,
        signature: xdr.ScVal.scvVoid(),
      });
    const credentials = !this.nonce
      ? xdr.SorobanCredentials.sorobanCredentialsSourceAccount()
      : v2
        ? xdr.SorobanCredentials.sorobanCredentialsAddressV2(addressCredentials(this.nonce))
        : xdr.SorobanCredentials.sorobanCredentialsAddress(addressCredentials(this.nonce));
    return new xdr.SorobanAuthorizationEntry({ credentials, rootInvocation: this.root.toInvocation() });
  }
}

interface DelegateNode {
  readonly address: string;
  readonly signature: xdr.ScVal;
  exhausted: boolean;
  readonly children: DelegateNode[];
}

/**
 * The delegate tree of one WITH_DELEGATES entry and where `delegate_account_auth` calls have got
 * to in it (soroban-env-host's DelegatedAccountAuthTracker): the match stack holds the index of
 * each delegate being authenticated, so the current list is the nested delegates of the innermost.
 */
class DelegateTracker {
  private readonly root: DelegateNode[];
  private readonly matched: number[] = [];

  constructor(delegates: readonly xdr.SorobanDelegateSignature[]) {
    const node = (d: xdr.SorobanDelegateSignature): DelegateNode => ({
      address: StrKeys.fromScAddress(d.address()),
      signature: d.signature(),
      exhausted: false,
      children: d.nestedDelegates().map(node),
    });
    this.root = delegates.map(node);
  }

  addresses(): string[] {
    return this.current().map((d) => d.address);
  }

  /** Marks `address` used in the current list and makes its nested delegates current; returns its signature. */
  push(address: string): xdr.ScVal {
    const list = this.current();
    const index = list.findIndex((d) => d.address === address);
    const found = list[index];
    if (!found) throw HostError.host("Auth", "InvalidInput", `delegated signer ${address} has not provided a signature`);
    if (found.exhausted) {
      throw HostError.host("Auth", "InvalidInput", `delegate_account_auth has already been called for address ${address}, but it may only be called once`);
    }
    found.exhausted = true;
    this.matched.push(index);
    return found.signature;
  }

  pop(): void {
    this.matched.pop();
  }

  private current(): DelegateNode[] {
    let list = this.root;
    for (const i of this.matched) list = list[i]!.children;
    return list;
  }
}
