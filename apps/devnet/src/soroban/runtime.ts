import { xdr } from "@stellar/stellar-sdk";
import { Protocol } from "../protocol";
import { StrKeys } from "../strkeys";
import type { AccountContractHost, AuthManager } from "./auth";
import { hostCrypto, type HostCrypto } from "./crypto";
import { HostError } from "./errors";
import { RESOURCE_FEE_SCHEDULE } from "./fees";
import type { LedgerInfo } from "./host";
import { Keys } from "./keys";
import { ScVals } from "./scval";
import type { HostStorage } from "./storage";

/** What a native contract sees of the host while one of its functions runs. */
export interface ContractEnv {
  /** This contract's address (C…). */
  readonly self: string;
  readonly ledger: LedgerInfo;
  readonly storage: HostStorage;
  instanceGet(key: xdr.ScVal): xdr.ScVal | undefined;
  instanceSet(key: xdr.ScVal, val: xdr.ScVal): void;
  /** This contract's persistent entry under `key` (a new one gets the minimum persistent TTL). */
  persistentGet(key: xdr.ScVal): xdr.ScVal | undefined;
  persistentSet(key: xdr.ScVal, val: xdr.ScVal): void;
  /** Host crypto, charged as instructions; failures trap. */
  readonly crypto: HostCrypto;
  /** `address.require_auth()`: the current entry-point function with all its arguments. */
  requireAuth(address: string): void;
  call(contract: string, fn: string, args: xdr.ScVal[]): xdr.ScVal;
  /** `try_call`: a failing callee's writes and events are dropped and the caller goes on. */
  tryCall(contract: string, fn: string, args: xdr.ScVal[]): { ok: true; value: xdr.ScVal } | { ok: false; error: HostError };
  emit(topics: xdr.ScVal[], data: xdr.ScVal): void;
  /** CAP-71-01 `delegate_account_auth(address)`; only from inside `__check_auth`. */
  delegateAccountAuth(address: string): void;
  /** CAP-71-01 `get_delegated_signers_for_current_auth_check()`; only from inside `__check_auth`. */
  delegatedSigners(): string[];
}

/** A contract implemented in TypeScript, selected by the executable of a contract instance. */
export interface NativeContract {
  /** Runs `fn` (including `__constructor`, which only the host calls, at creation). */
  invoke(env: ContractEnv, fn: string, args: xdr.ScVal[]): xdr.ScVal;
  readonly hasConstructor: boolean;
}

export type ContractResolver = (executable: xdr.ContractExecutable) => NativeContract;

interface Frame {
  readonly contract: string | undefined; // undefined: the create-contract host function frame
  readonly fn: string;
  readonly args: xdr.ScVal[];
}

/** soroban-env-host's RESERVED_CONTRACT_FN_PREFIX: `__constructor`, `__check_auth`, … only the host calls. */
const RESERVED_PREFIX = "__";
const CHECK_AUTH = "__check_auth";

/** Call stack, contract dispatch, instance storage and events for one host invocation. */
export class HostRuntime implements AccountContractHost {
  readonly events: xdr.ContractEvent[] = [];
  private readonly frames: Frame[] = [];
  private readonly crypto: HostCrypto;
  calls = 0;
  /** Instructions charged by host crypto (signature checks made by contracts). */
  private cryptoInstructions = 0;

  constructor(
    readonly ledger: LedgerInfo,
    readonly storage: HostStorage,
    readonly auth: AuthManager,
    private readonly resolve: ContractResolver,
  ) {
    this.crypto = hostCrypto((n) => {
      this.cryptoInstructions += n;
    });
    auth.attach(this);
  }

  get instructions(): number {
    const s = RESOURCE_FEE_SCHEDULE.instructions;
    return s.opBase + this.calls * s.call + this.storage.accessInstructions + this.auth.signatureChecks * s.signature + this.cryptoInstructions;
  }

  callContract(contract: string, fn: string, args: xdr.ScVal[]): xdr.ScVal {
    if (fn.startsWith(RESERVED_PREFIX)) throw HostError.host("Context", "InvalidAction", `can't invoke a reserved function directly: ${fn}`);
    const impl = this.load(contract);
    return this.runFrame({ contract, fn, args }, "prohibited", () => impl.invoke(this.envFor(contract), fn, args));
  }

  /**
   * The host's internal call of an account's `__check_auth` (account_contract.rs,
   * check_account_contract_auth): it must return nothing; a missing function is an error, not a
   * no-op. Self re-entry is allowed only when the account is the innermost contract on the stack.
   */
  checkAuth(account: string, args: xdr.ScVal[], reentry: "self" | "prohibited"): void {
    const impl = this.load(account);
    const result = this.runFrame({ contract: account, fn: CHECK_AUTH, args }, reentry, () => impl.invoke(this.envFor(account), CHECK_AUTH, args));
    if (result.switch() !== xdr.ScValType.scvVoid()) throw HostError.host("Value", "UnexpectedType", "__check_auth must return nothing");
  }

  /** Runs the create-contract host function frame, in which the deployer's auth is required. */
  inCreateFrame(body: (depth: number) => void): void {
    this.runFrame({ contract: undefined, fn: "create_contract", args: [] }, "prohibited", () => body(this.frames.length));
  }

  /** Runs a freshly created contract's constructor, if its implementation has one. */
  construct(contract: string, args: xdr.ScVal[]): void {
    const impl = this.load(contract);
    if (!impl.hasConstructor) {
      if (args.length > 0) throw HostError.host("Context", "InvalidAction", "constructor arguments given to a contract without a constructor");
      return;
    }
    this.runFrame({ contract, fn: "__constructor", args }, "prohibited", () => impl.invoke(this.envFor(contract), "__constructor", args));
  }

  requireAuthFromHost(address: string, fn: xdr.SorobanAuthorizedFunction, depth: number): void {
    this.auth.requireAuth(address, fn, { depth, invoker: undefined });
  }

  private runFrame(frame: Frame, reentry: "self" | "prohibited", body: () => xdr.ScVal | void): xdr.ScVal {
    if (frame.contract && this.frames.some((f) => f.contract === frame.contract)) {
      // Only the innermost contract frame counts as "self" (frames without a contract are skipped).
      const innermost = [...this.frames].reverse().find((f) => f.contract !== undefined)?.contract;
      if (!(reentry === "self" && innermost === frame.contract)) {
        throw HostError.host("Context", "InvalidAction", `contract re-entry is not allowed (${frame.contract})`);
      }
    }
    this.calls++;
    this.frames.push(frame);
    const depth = this.frames.length;
    try {
      return body() ?? xdr.ScVal.scvVoid();
    } finally {
      this.frames.pop();
      this.auth.onFramePop(depth);
    }
  }

  private load(contract: string): NativeContract {
    if (!StrKeys.isContract(contract)) throw HostError.host("Value", "InvalidInput", `not a contract address: ${contract}`);
    const instance = this.storage.get(Keys.instance(contract));
    if (!instance) throw HostError.host("Storage", "MissingValue", `contract ${contract} does not exist`);
    const executable = instance.data().contractData().val().instance().executable();
    if (executable.switch() === xdr.ContractExecutableType.contractExecutableWasm()) {
      const code = this.storage.get(Keys.code(executable.wasmHash()));
      if (!code) throw HostError.host("Storage", "MissingValue", `Wasm ${executable.wasmHash().toString("hex")} of ${contract} does not exist`);
    }
    return this.resolve(executable);
  }

  private envFor(self: string): ContractEnv {
    const depth = this.frames.length;
    const frame = this.frames[depth - 1]!;
    const caller = this.frames[depth - 2]?.contract;
    const instanceKey = Keys.instance(self);
    const readInstance = (): xdr.ContractDataEntry => {
      const entry = this.storage.get(instanceKey);
      if (!entry) throw HostError.host("Storage", "MissingValue", `contract ${self} does not exist`);
      return entry.data().contractData();
    };
    const persistentKey = (key: xdr.ScVal): xdr.LedgerKey => Keys.contractData(self, key, xdr.ContractDataDurability.persistent());
    // delegate_account_auth and its getter exist from protocol 27 (env.json min_supported_protocol),
    // and only inside __check_auth (frame.rs, ensure_check_auth_frame).
    const inCheckAuth = (hostFn: string): void => {
      if (!Protocol.hasCap71(this.ledger.protocolVersion)) {
        throw HostError.host("WasmVm", "InvalidAction", `${hostFn} is not available before protocol 27`);
      }
      if (frame.fn !== CHECK_AUTH) {
        throw HostError.host("Context", "InvalidAction", `${hostFn} host function can only be called from within \`__check_auth\`, but was called within ${frame.fn}`);
      }
    };
    return {
      self,
      ledger: this.ledger,
      storage: this.storage,
      crypto: this.crypto,
      instanceGet: (key) => {
        const stored = readInstance().val().instance().storage() ?? [];
        return stored.find((e) => ScVals.equals(e.key(), key))?.val();
      },
      instanceSet: (key, val) => {
        const data = readInstance();
        const instance = data.val().instance();
        const rest = (instance.storage() ?? []).filter((e) => !ScVals.equals(e.key(), key)).map((e) => [e.key(), e.val()] as const);
        const storage = ScVals.map([...rest, [key, val]]).map() ?? [];
        const updated = new xdr.ContractDataEntry({
          ext: data.ext(),
          contract: data.contract(),
          key: data.key(),
          durability: data.durability(),
          val: xdr.ScVal.scvContractInstance(new xdr.ScContractInstance({ executable: instance.executable(), storage })),
        });
        this.storage.put(instanceKey, new xdr.LedgerEntry({ lastModifiedLedgerSeq: 0, data: xdr.LedgerEntryData.contractData(updated), ext: new xdr.LedgerEntryExt(0) }));
      },
      persistentGet: (key) => this.storage.get(persistentKey(key))?.data().contractData().val(),
      persistentSet: (key, val) => {
        const ledgerKey = persistentKey(key);
        const exists = this.storage.get(ledgerKey) !== undefined;
        const d = ledgerKey.contractData();
        const entry = new xdr.LedgerEntry({
          lastModifiedLedgerSeq: this.ledger.sequence,
          data: xdr.LedgerEntryData.contractData(
            new xdr.ContractDataEntry({ ext: new xdr.ExtensionPoint(0), contract: d.contract(), key: d.key(), durability: d.durability(), val }),
          ),
          ext: new xdr.LedgerEntryExt(0),
        });
        this.storage.put(ledgerKey, entry, exists ? undefined : this.ledger.sequence + this.ledger.minPersistentTtl - 1);
      },
      delegateAccountAuth: (address) => {
        inCheckAuth("delegate_account_auth");
        this.auth.delegateAccountAuth(address);
      },
      delegatedSigners: () => {
        inCheckAuth("get_delegated_signers_for_current_auth_check");
        return this.auth.delegatedSigners();
      },
      requireAuth: (address) => {
        const fn = xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(
          new xdr.InvokeContractArgs({ contractAddress: StrKeys.scAddress(self), functionName: frame.fn, args: frame.args }),
        );
        this.auth.requireAuth(address, fn, { depth, invoker: caller });
      },
      call: (contract, fn, args) => this.callContract(contract, fn, args),
      tryCall: (contract, fn, args) => {
        const eventCount = this.events.length;
        this.storage.beginNested();
        try {
          const value = this.callContract(contract, fn, args);
          this.storage.endNested(true);
          return { ok: true, value };
        } catch (error) {
          this.storage.endNested(false);
          this.events.length = eventCount;
          // Footprint and budget violations end the whole invocation, as in the real host; the rest is the caller's to handle.
          const recoverable = error instanceof HostError && error.kind === "trapped" && !(error.type === "Storage" && error.code === "ExceededLimit");
          if (recoverable) return { ok: false, error };
          throw error;
        }
      },
      emit: (topics, data) => {
        this.events.push(
          new xdr.ContractEvent({
            ext: new xdr.ExtensionPoint(0),
            // The SDK types ContractId (a Hash) as Opaque[]; at runtime it is the 32-byte Buffer.
            contractId: StrKeys.contractBytes(self) as unknown as xdr.ContractId,
            type: xdr.ContractEventType.contract(),
            body: new xdr.ContractEventBody(0, new xdr.ContractEventV0({ topics, data })),
          }),
        );
      },
    };
  }
}
