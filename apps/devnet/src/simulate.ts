import { SorobanDataBuilder, xdr } from "@stellar/stellar-sdk";
import { Envelopes } from "./envelope";
import type { ParsedTx } from "./envelope";
import { Protocol } from "./protocol";
import { Fees } from "./soroban/fees";
import { Keys } from "./soroban/keys";
import type { DevnetNode, SorobanHost } from "./node";
import type { HostMode, LedgerInfo, SorobanOpResult } from "./soroban/host";
import type { LedgerState } from "./state";
import type { ChainView } from "./view";

/** simulateTransaction's raw answer, as rpc.Server parses it. */
export interface RawSimulation {
  latestLedger: number;
  error?: string;
  events?: string[];
  transactionData?: string;
  minResourceFee?: string;
  results?: { auth: string[]; xdr: string }[];
  restorePreamble?: { minResourceFee: string; transactionData: string };
}

export type AuthModeParam = "enforce" | "record" | "record_allow_nonroot" | undefined;

export interface SimulateParams {
  readonly authMode: AuthModeParam;
  /** stellar-rpc v27.1's `useUpgradedAuth`: record address credentials as V2 (default false: V1). */
  readonly useUpgradedAuth: boolean;
  /** `resourceConfig.instructionLeeway`: raises the additive instruction padding to at least this. */
  readonly instructionLeeway?: number;
}

/** How simulation prices what the host measured (see Pricing.of). */
interface PricingRules {
  /** Pad as stellar-rpc does (NetworkRules.simulationPadding). */
  readonly padding: boolean;
  /** Price the transaction size, as the network does with networkResourceFees. */
  readonly size: boolean;
  readonly instructionLeeway: number;
}

/**
 * Runs a Soroban transaction's single operation against a throw-away fork of the latest state (as
 * the answering port sees it), as the next ledger would. Without an explicit authMode the real RPC records auth when the
 * invocation carries no auth entries and enforces the given ones otherwise.
 *
 * An invocation that needs archived persistent entries is answered as protocol 23's automatic
 * restore does it: no restorePreamble, the entries in the read-write footprint marked for restore
 * and their rent in the fee. extendFootprintTtl of archived entries still gets a restorePreamble.
 */
export function simulate(node: DevnetNode, view: ChainView, host: SorobanHost | undefined, envelopeXdr: string, params: SimulateParams): RawSimulation {
  const latestLedger = view.latest().sequence;
  const tx = Envelopes.parse(envelopeXdr, node.config.networkPassphrase);
  const ops = tx.inner.operations;
  const op = ops[0];
  if (ops.length !== 1 || !op || !Envelopes.isSorobanOp(op)) {
    return { latestLedger, error: "Transaction contains unsupported operation type or more than one operation; simulation needs exactly one invokeHostFunction, extendFootprintTtl or restoreFootprint operation" };
  }
  // stellar-rpc >= v25.1 refuses memos up front, with these words.
  if (tx.inner.hasMemo) return { latestLedger, error: "Transaction contains a memo. Soroban transactions do not support memos." };
  // An RPC of a protocol without CAP-71 has no XDR for its credentials.
  if (!Protocol.operationsParseAt(ops, node.config.protocolVersion)) return { latestLedger, error: "Could not unmarshal transaction" };
  if (!host) return { latestLedger, error: "this devnet runs without a Soroban host" };

  const opType = Envelopes.operationType(op);
  const givenAuth = opType === "invokeHostFunction" ? op.body().invokeHostFunctionOp().auth() : [];
  const authMode = params.authMode;
  const mode: HostMode =
    authMode === "enforce" ? "enforcing" : authMode === "record" || authMode === "record_allow_nonroot" ? "recording" : givenAuth.length > 0 ? "enforcing" : "recording";
  const next = view.nextLedger();
  const ledger = node.ledgerInfo(next.sequence, next.closeTime);
  const footprint = tx.inner.sorobanData?.resources().footprint();
  const run = (state: LedgerState = view.state.fork()): SorobanOpResult =>
    host.executeSorobanOp({
      state,
      ledger,
      txSource: tx.inner.source,
      opSource: Envelopes.opSource(op, tx.inner.source),
      operation: op,
      mode,
      // Before CAP-71 there is no V2 to record, whatever the client asks.
      recordAuthV2: params.useUpgradedAuth && Protocol.hasCap71(node.config.protocolVersion),
      ...(footprint ? { txFootprint: footprint } : {}),
    });

  let result: SorobanOpResult;
  try {
    result = run();
  } catch (err) {
    return { latestLedger, error: `HostError: internal error: ${(err as Error).message}` };
  }
  const rules = node.rules;
  const pricing: PricingRules = { padding: rules.simulationPadding, size: rules.networkResourceFees, instructionLeeway: params.instructionLeeway ?? 0 };
  const template = Pricing.template(tx);
  const simulation = answer(result, opType, latestLedger, (ok) => Pricing.of(ok, pricing, template, op));
  if (simulation.error || opType !== "extendFootprintTtl" || !footprint) return simulation;
  const archived = footprint.readOnly().filter((key) => isArchived(view, key, ledger.sequence));
  if (archived.length === 0) return simulation;
  return withRestorePreamble(simulation, node, view, host, archived, ledger, (restore, restoreOp) => Pricing.of(restore, pricing, template, restoreOp));
}

type Priced = { readonly transactionData: xdr.SorobanTransactionData; readonly minResourceFee: bigint };
type OkResult = Extract<SorobanOpResult, { ok: true }>;

function answer(result: SorobanOpResult, opType: string, latestLedger: number, price: (ok: OkResult) => Priced): RawSimulation {
  const events = result.diagnosticEvents.map((e) => e.toXDR("base64"));
  if (!result.ok) return { latestLedger, error: result.error, events };
  const priced = price(result);
  return {
    latestLedger,
    events,
    transactionData: priced.transactionData.toXDR("base64"),
    minResourceFee: priced.minResourceFee.toString(),
    ...(opType === "invokeHostFunction"
      ? {
          results: [
            {
              auth: result.auth.map((a) => a.toXDR("base64")),
              xdr: (result.returnValue ?? xdr.ScVal.scvVoid()).toXDR("base64"),
            },
          ],
        }
      : {}),
  };
}

function isArchived(view: ChainView, key: xdr.LedgerKey, sequence: number): boolean {
  const stored = view.state.get(key);
  return stored?.liveUntilLedgerSeq !== undefined && stored.liveUntilLedgerSeq < sequence && Keys.isPersistent(key);
}

/**
 * Extending archived entries needs them restored first: like stellar-rpc's extend simulation, add a
 * restorePreamble (the restoreFootprint transaction data and fee) to send before.
 */
function withRestorePreamble(
  simulation: RawSimulation,
  node: DevnetNode,
  view: ChainView,
  host: SorobanHost,
  archivedKeys: xdr.LedgerKey[],
  ledger: LedgerInfo,
  price: (restore: OkResult, op: xdr.Operation) => Priced,
): RawSimulation {
  const footprint = new xdr.LedgerFootprint({ readOnly: [], readWrite: archivedKeys });
  const restoreOp = new xdr.Operation({ sourceAccount: null, body: xdr.OperationBody.restoreFootprint(new xdr.RestoreFootprintOp({ ext: new xdr.ExtensionPoint(0) })) });
  const restore = host.executeSorobanOp({
    state: view.state.fork(),
    ledger,
    txSource: node.root.publicKey(),
    opSource: node.root.publicKey(),
    operation: restoreOp,
    mode: "recording",
    txFootprint: footprint,
  });
  if (!restore.ok) return { latestLedger: simulation.latestLedger, error: restore.error, events: restore.diagnosticEvents.map((e) => e.toXDR("base64")) };
  const priced = price(restore, restoreOp);
  const preambleData = new SorobanDataBuilder(priced.transactionData.toXDR("base64")).setResourceFee(priced.minResourceFee).build();
  return {
    ...simulation,
    restorePreamble: { minResourceFee: priced.minResourceFee.toString(), transactionData: preambleData.toXDR("base64") },
  };
}

/**
 * What simulation answers for resources and fee, from what the host measured, as stellar-rpc's
 * preflight (soroban-simulation's SimulationAdjustmentConfig::default_adjustment) computes it:
 * each adjusted value becomes max(value + additive, floor(value x factor)), 0 staying 0 —
 * instructions x1.04 / +50 000 (or + instructionLeeway if more), the estimated transaction size
 * x1.1 / +500, the refundable fee (rent, events, return value) x1.15; read and write bytes as
 * measured. The fee is then the non-refundable fee of the adjusted resources plus the adjusted
 * refundable fee.
 */
namespace Pricing {
  /** A signature an unsigned address credential will carry: Vec[Map{public_key: Bytes(32), signature: Bytes(64)}] replacing Void. */
  const AUTH_SIGNATURE_BYTES = 172;
  const ENVELOPE_SIGNATURE = new xdr.DecoratedSignature({ hint: Buffer.alloc(4), signature: Buffer.alloc(64) });

  /** The plain transaction whose size is estimated (the inner one of a fee bump). */
  export function template(tx: ParsedTx): xdr.TransactionV1Envelope | undefined {
    const env = tx.envelope;
    if (env.switch() === xdr.EnvelopeType.envelopeTypeTx()) return env.v1();
    if (env.switch() === xdr.EnvelopeType.envelopeTypeTxFeeBump()) return env.feeBump().tx().innerTx().v1();
    return undefined;
  }

  export function of(result: OkResult, rules: PricingRules, template: xdr.TransactionV1Envelope | undefined, op: xdr.Operation): Priced {
    const data = xdr.SorobanTransactionData.fromXDR(result.transactionData.toXDR());
    const resources = data.resources();
    const split = result.resourceFee ?? { nonRefundable: result.minResourceFee, refundable: 0n };
    let size = rules.size ? estimateSize(template, op, data, result.auth) : 0;
    let refundable = split.refundable;
    if (rules.padding) {
      resources.instructions(adjust(resources.instructions(), 1.04, Math.max(50_000, rules.instructionLeeway)));
      size = adjust(size, 1.1, 500);
      refundable = BigInt(adjust(Number(refundable), 1.15, 0));
    }
    const fee = Fees.nonRefundableOf(Fees.declared(data, size)) + refundable;
    data.resourceFee(xdr.Int64.fromString(fee.toString()));
    return { transactionData: data, minResourceFee: fee };
  }

  /** soroban-simulation's adjust_u32/adjust_i64, in the same f64 arithmetic. */
  function adjust(value: number, factor: number, additive: number): number {
    if (value === 0) return 0;
    return Math.max(value + additive, Math.floor(value * factor));
  }

  /**
   * The XDR size of the transaction as it will be sent: the simulated envelope with this
   * transaction data and these auth entries, an envelope signature if it has none, and a signature
   * for each address credential still unsigned.
   */
  function estimateSize(template: xdr.TransactionV1Envelope | undefined, op: xdr.Operation, data: xdr.SorobanTransactionData, auth: readonly xdr.SorobanAuthorizationEntry[]): number {
    if (!template) return 0;
    const env = xdr.TransactionV1Envelope.fromXDR(template.toXDR());
    const tx = env.tx();
    tx.ext(new xdr.TransactionExt(1, data));
    const sent = xdr.Operation.fromXDR(op.toXDR());
    if (sent.body().switch() === xdr.OperationType.invokeHostFunction()) sent.body().invokeHostFunctionOp().auth([...auth]);
    tx.operations([sent]);
    if (env.signatures().length === 0) env.signatures([ENVELOPE_SIGNATURE]);
    const unsigned = auth.filter((entry) => {
      const creds = entry.credentials();
      if (creds.switch() === xdr.SorobanCredentialsType.sorobanCredentialsSourceAccount()) return false;
      return creds.value() instanceof xdr.SorobanAddressCredentials && (creds.value() as xdr.SorobanAddressCredentials).signature().switch() === xdr.ScValType.scvVoid();
    }).length;
    return xdr.TransactionEnvelope.envelopeTypeTx(env).toXDR().length + unsigned * AUTH_SIGNATURE_BYTES;
  }
}
