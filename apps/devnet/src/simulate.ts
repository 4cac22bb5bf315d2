import { SorobanDataBuilder, xdr } from "@stellar/stellar-sdk";
import { Envelopes } from "./envelope";
import type { DevnetNode, SorobanHost } from "./node";
import type { HostMode, LedgerInfo, SorobanOpResult } from "./soroban/host";
import type { LedgerState } from "./state";

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

/**
 * Runs a Soroban transaction's single operation against a throw-away fork of the latest state, as
 * the next ledger would. Without an explicit authMode the real RPC records auth when the
 * invocation carries no auth entries and enforces the given ones otherwise.
 */
export function simulate(node: DevnetNode, host: SorobanHost | undefined, envelopeXdr: string, authMode: AuthModeParam): RawSimulation {
  const latestLedger = node.latest().sequence;
  const tx = Envelopes.parse(envelopeXdr, node.config.networkPassphrase);
  const ops = tx.inner.operations;
  const op = ops[0];
  if (ops.length !== 1 || !op || !Envelopes.isSorobanOp(op)) {
    return { latestLedger, error: "Transaction contains unsupported operation type or more than one operation; simulation needs exactly one invokeHostFunction, extendFootprintTtl or restoreFootprint operation" };
  }
  if (!host) return { latestLedger, error: "this devnet runs without a Soroban host" };

  const opType = Envelopes.operationType(op);
  const givenAuth = opType === "invokeHostFunction" ? op.body().invokeHostFunctionOp().auth() : [];
  const mode: HostMode =
    authMode === "enforce" ? "enforcing" : authMode === "record" || authMode === "record_allow_nonroot" ? "recording" : givenAuth.length > 0 ? "enforcing" : "recording";
  const next = node.nextLedger();
  const ledger = node.ledgerInfo(next.sequence, next.closeTime);
  const footprint = tx.inner.sorobanData?.resources().footprint();
  const run = (state: LedgerState = node.state.fork()): SorobanOpResult =>
    host.executeSorobanOp({
      state,
      ledger,
      txSource: tx.inner.source,
      opSource: Envelopes.opSource(op, tx.inner.source),
      operation: op,
      mode,
      ...(footprint ? { txFootprint: footprint } : {}),
    });

  let result: SorobanOpResult;
  try {
    result = run();
  } catch (err) {
    return { latestLedger, error: `HostError: internal error: ${(err as Error).message}` };
  }

  if (!result.ok && result.archivedKeys?.length && opType === "invokeHostFunction") {
    return withRestorePreamble(node, host, result.archivedKeys, run, latestLedger, ledger);
  }
  return answer(result, opType, latestLedger);
}

function answer(result: SorobanOpResult, opType: string, latestLedger: number): RawSimulation {
  const events = result.diagnosticEvents.map((e) => e.toXDR("base64"));
  if (!result.ok) return { latestLedger, error: result.error, events };
  return {
    latestLedger,
    events,
    transactionData: result.transactionData.toXDR("base64"),
    minResourceFee: result.minResourceFee.toString(),
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

/**
 * The invocation needs archived entries: like the real RPC, answer the simulation as if they were
 * restored, plus a restorePreamble (the restoreFootprint transaction data and fee) to send first.
 */
function withRestorePreamble(
  node: DevnetNode,
  host: SorobanHost,
  archivedKeys: xdr.LedgerKey[],
  run: (state?: LedgerState) => SorobanOpResult,
  latestLedger: number,
  ledger: LedgerInfo,
): RawSimulation {
  const footprint = new xdr.LedgerFootprint({ readOnly: [], readWrite: archivedKeys });
  const restoreOp = xdr.Operation.fromXDR(
    new xdr.Operation({ sourceAccount: null, body: xdr.OperationBody.restoreFootprint(new xdr.RestoreFootprintOp({ ext: new xdr.ExtensionPoint(0) })) }).toXDR(),
  );
  const restoredState = node.state.fork();
  const restore = host.executeSorobanOp({
    state: restoredState,
    ledger,
    txSource: node.root.publicKey(),
    opSource: node.root.publicKey(),
    operation: restoreOp,
    mode: "recording",
    txFootprint: footprint,
  });
  if (!restore.ok) return { latestLedger, error: restore.error, events: restore.diagnosticEvents.map((e) => e.toXDR("base64")) };
  const asIfRestored = run(restoredState.fork());
  const main = answer(asIfRestored, "invokeHostFunction", latestLedger);
  if (main.error) return main;
  const preambleData = new SorobanDataBuilder(restore.transactionData.toXDR("base64")).setResourceFee(restore.minResourceFee).build();
  return {
    ...main,
    restorePreamble: { minResourceFee: restore.minResourceFee.toString(), transactionData: preambleData.toXDR("base64") },
  };
}
