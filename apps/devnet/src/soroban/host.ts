import type { xdr } from "@stellar/stellar-sdk";
import type { LedgerState } from "../state";

/**
 * The seam between the devnet's ledger/transaction pipeline (apps/devnet/src/*) and its Soroban host
 * (apps/devnet/src/soroban/*). The pipeline owns accounts, sequence numbers, signatures, fees, the
 * queue and ledger closing; the host owns contract execution, Soroban auth, storage TTL and
 * resource accounting. Each side calls the other only through these types.
 */

/** Network-wide facts the host needs; the pipeline fills them from its config and current ledger. */
export interface LedgerInfo {
  readonly sequence: number; // the ledger being applied (or, for simulation, latest closed + 1)
  readonly closeTime: bigint; // unix seconds
  readonly networkPassphrase: string;
  readonly networkId: Buffer; // sha256(passphrase)
  readonly protocolVersion: number;
  readonly minPersistentTtl: number;
  readonly minTemporaryTtl: number;
  readonly maxEntryTtl: number;
  /** Base reserve in stroops, for the native SAC's minimum-balance rule (added by the host; defaults to 5 000 000). */
  readonly baseReserve?: bigint;
}

export type HostMode =
  /** Simulation with no auth given: record which addresses must authorize what. */
  | "recording"
  /** Apply (and simulation of a tx that already carries auth): every require_auth must be satisfied. */
  | "enforcing";

export interface SorobanOpInput {
  readonly state: LedgerState; // a fork; the host writes into it; the caller commits or drops it
  readonly ledger: LedgerInfo;
  /** Transaction source account (G...), which source-account credentials authorize as. */
  readonly txSource: string;
  /** Operation source if set, else the tx source. */
  readonly opSource: string;
  readonly operation: xdr.Operation; // invokeHostFunction | extendFootprintTtl | restoreFootprint
  readonly mode: HostMode;
  /**
   * The declared footprint and resources when applying a transaction. Undefined in simulation, where
   * the host computes them. When set, touching an entry outside the footprint fails the op.
   */
  readonly declared?: xdr.SorobanTransactionData;
  /**
   * The footprint the transaction itself carries (added by the host). extendFootprintTtl and
   * restoreFootprint take their keys from it, also in simulation where `declared` is unset.
   */
  readonly txFootprint?: xdr.LedgerFootprint;
  /**
   * Recording only: record address credentials as SOROBAN_CREDENTIALS_ADDRESS_V2 (CAP-71-02) rather
   * than V1, as stellar-rpc does for simulateTransaction's `useUpgradedAuth` (added by the host).
   */
  readonly recordAuthV2?: boolean;
  /**
   * Applying only: the state moved between simulation and apply (the fault switch's resourceDrift),
   * so the invocation runs out of its declared budget or meets an entry archived since (added by the
   * pipeline). The invocation fails as the host would fail it; nothing it did is kept.
   */
  readonly drift?: ResourceDrift;
}

export type ResourceDrift = "resourceLimitExceeded" | "entryArchived";

export type SorobanOpResult =
  | {
      readonly ok: true;
      readonly returnValue?: xdr.ScVal; // invokeHostFunction only
      /** Recorded (recording mode) or the given auth entries (enforcing mode), as simulation returns them. */
      readonly auth: xdr.SorobanAuthorizationEntry[];
      readonly events: xdr.ContractEvent[]; // contract events, in emission order
      readonly diagnosticEvents: xdr.DiagnosticEvent[];
      /** The footprint and resources this op used; simulation returns it as transactionData. */
      readonly transactionData: xdr.SorobanTransactionData;
      /** Resource fee in stroops the network would charge (what simulation reports as minResourceFee). */
      readonly minResourceFee: bigint;
      /**
       * The same fee split as the network splits it (added by the host): refundable = rent + events
       * and return value; `rent` is the rent part alone.
       */
      readonly resourceFee?: { readonly nonRefundable: bigint; readonly refundable: bigint; readonly rent?: bigint };
    }
  | {
      readonly ok: false;
      /** The op result code the real network gives, e.g. invokeHostFunctionTrapped, ...ResourceLimitExceeded, ...EntryArchived. */
      readonly code: xdr.OperationResult;
      /** A readable reason, as the RPC puts in simulation's `error` string (e.g. "HostError: Error(Auth, InvalidAction)"). */
      readonly error: string;
      readonly diagnosticEvents: xdr.DiagnosticEvent[];
    };

export type ExecuteSorobanOp = (input: SorobanOpInput) => SorobanOpResult;
