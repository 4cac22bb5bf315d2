/**
 * Shared by the x402 verify tests: payment transactions built with the SDK the way the
 * @x402/stellar client builds them (NULL-account source, one invokeContract `transfer`, a signed
 * address-credential auth entry, no envelope signature), and a scripted JSON-RPC server on
 * loopback that answers getLatestLedger / getLedgers / simulateTransaction as a test tells it to.
 * The scripted server stands in for the RPC only where the devnet cannot help: simulations shaped
 * to hit one check, and an RPC that is down, slow or erroring.
 */
import http, { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  Account,
  Address,
  authorizeEntry,
  Keypair,
  nativeToScVal,
  Networks,
  Operation,
  SorobanDataBuilder,
  TransactionBuilder,
  xdr,
  type Transaction,
} from "@stellar/stellar-sdk";
import { createMetrics, type Metrics } from "@quay/metrics";
import { StellarNetwork } from "@quay/stellar";
import type { NetworkVerifyContext, VerifierContext } from "@quay/x402";

export const USDC_TESTNET = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";
export const OTHER_TOKEN = "CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75";
/** The SDK's NULL account: what the @x402/stellar client uses as the transaction source. */
export const NULL_ACCOUNT = "GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF";
export const AMOUNT = 10_000n;
export const LATEST_LEDGER = 1_000;

export interface Parties {
  readonly payer: Keypair;
  readonly payTo: string;
  readonly fund: Keypair;
  readonly channel: Keypair;
  readonly quayAddresses: ReadonlySet<string>;
}

export function newParties(): Parties {
  const fund = Keypair.random();
  const channel = Keypair.random();
  return {
    payer: Keypair.random(),
    payTo: Keypair.random().publicKey(),
    fund,
    channel,
    quayAddresses: new Set([fund.publicKey(), channel.publicKey()]),
  };
}

export interface PaymentTxOptions {
  readonly from?: string;
  readonly to?: string;
  readonly amount?: bigint;
  readonly asset?: string;
  readonly functionName?: string;
  readonly args?: xdr.ScVal[];
  readonly txSource?: string;
  readonly opSource?: string;
  readonly fee?: string;
  /** Auth entries as built; default: the payer's, signed, expiring at `expiration`. */
  readonly auth?: xdr.SorobanAuthorizationEntry[];
  readonly expiration?: number;
  readonly extraOperation?: boolean;
  readonly signEnvelopeWith?: Keypair;
  readonly passphrase?: string;
}

export function transferArgs(from: string, to: string, amount: bigint): xdr.ScVal[] {
  return [new Address(from).toScVal(), new Address(to).toScVal(), nativeToScVal(amount, { type: "i128" })];
}

export function invocation(contract: string, functionName: string, args: xdr.ScVal[], sub: xdr.SorobanAuthorizedInvocation[] = []) {
  return new xdr.SorobanAuthorizedInvocation({
    function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(
      new xdr.InvokeContractArgs({ contractAddress: new Address(contract).toScAddress(), functionName, args }),
    ),
    subInvocations: sub,
  });
}

/** An unsigned address-credential entry for `address`. */
export function unsignedEntry(address: string, root: xdr.SorobanAuthorizedInvocation, expiration: number, nonce = 42n) {
  return new xdr.SorobanAuthorizationEntry({
    credentials: xdr.SorobanCredentials.sorobanCredentialsAddress(
      new xdr.SorobanAddressCredentials({
        address: new Address(address).toScAddress(),
        nonce: xdr.Int64.fromString(nonce.toString()),
        signatureExpirationLedger: expiration,
        signature: xdr.ScVal.scvVoid(),
      }),
    ),
    rootInvocation: root,
  });
}

export async function signedEntry(
  signer: Keypair,
  root: xdr.SorobanAuthorizedInvocation,
  expiration: number,
  passphrase: string = Networks.TESTNET,
  nonce = 42n,
): Promise<xdr.SorobanAuthorizationEntry> {
  return authorizeEntry(unsignedEntry(signer.publicKey(), root, expiration, nonce), signer, expiration, passphrase);
}

export function sourceAccountEntry(root: xdr.SorobanAuthorizedInvocation) {
  return new xdr.SorobanAuthorizationEntry({ credentials: xdr.SorobanCredentials.sorobanCredentialsSourceAccount(), rootInvocation: root });
}

export async function paymentTx(parties: Parties, options: PaymentTxOptions = {}): Promise<Transaction> {
  const asset = options.asset ?? USDC_TESTNET;
  const from = options.from ?? parties.payer.publicKey();
  const args = options.args ?? transferArgs(from, options.to ?? parties.payTo, options.amount ?? AMOUNT);
  const functionName = options.functionName ?? "transfer";
  const passphrase: string = options.passphrase ?? Networks.TESTNET;
  const expiration = options.expiration ?? LATEST_LEDGER + 12;
  const auth = options.auth ?? [await signedEntry(parties.payer, invocation(asset, functionName, args), expiration, passphrase)];
  const builder = new TransactionBuilder(new Account(options.txSource ?? NULL_ACCOUNT, "0"), {
    fee: options.fee ?? "100",
    networkPassphrase: passphrase,
  })
    .setTimeout(300)
    .setSorobanData(new SorobanDataBuilder().setResourceFee(50_000).build())
    .addOperation(
      Operation.invokeContractFunction({
        contract: asset,
        function: functionName,
        args,
        auth,
        ...(options.opSource ? { source: options.opSource } : {}),
      }),
    );
  if (options.extraOperation) builder.addOperation(Operation.bumpSequence({ bumpTo: "10" }));
  const tx = builder.build();
  if (options.signEnvelopeWith) tx.sign(options.signEnvelopeWith);
  return tx;
}

export interface Requirements {
  scheme: string;
  network: string;
  asset: string;
  amount: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra: Record<string, unknown>;
}

export function requirements(parties: Parties, overrides: Partial<Requirements> = {}): Requirements {
  return {
    scheme: "exact",
    network: "stellar:testnet",
    asset: USDC_TESTNET,
    amount: AMOUNT.toString(),
    payTo: parties.payTo,
    maxTimeoutSeconds: 60,
    extra: { areFeesSponsored: true },
    ...overrides,
  };
}

/** A /verify body: the payload's `accepted` is the requirements unless overridden. */
export function verifyBody(
  transaction: Transaction | string,
  reqs: Requirements,
  overrides: { accepted?: Partial<Requirements>; x402Version?: unknown; payload?: unknown } = {},
) {
  const envelope = typeof transaction === "string" ? transaction : transaction.toXDR();
  return {
    x402Version: 2,
    paymentPayload: {
      x402Version: "x402Version" in overrides ? overrides.x402Version : 2,
      accepted: { ...reqs, ...overrides.accepted },
      payload: "payload" in overrides ? overrides.payload : { transaction: envelope },
    },
    paymentRequirements: reqs,
  };
}

export function verifierContext(
  network: StellarNetwork,
  metrics: Metrics,
  options: { quayAddresses?: ReadonlySet<string>; assets?: readonly string[]; maxFeeStroops?: bigint } = {},
): VerifierContext {
  const context: NetworkVerifyContext = {
    network,
    quayAddresses: options.quayAddresses ?? new Set(),
    assets: options.assets ?? [USDC_TESTNET],
    maxFeeStroops: options.maxFeeStroops ?? 1_000_000n,
  };
  return { metrics, networks: new Map([[network.id, context]]) };
}

export function testMetrics(): Metrics {
  return createMetrics({ defaultMetrics: false });
}

/** One labelled series: a counter's value, or a histogram's observation count. */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const hit = metric?.values.find((v) => {
    const series = (v as { metricName?: string }).metricName;
    return (series === undefined || series === `${name}_count`) && Object.entries(labels).every(([k, val]) => v.labels[k] === val);
  });
  return hit?.value ?? 0;
}

// ---------------------------------------------------------------------------------------------
// Simulation pieces

export function contractEvent(
  contract: string,
  topics: xdr.ScVal[],
  data: xdr.ScVal,
  options: { inSuccessfulContractCall?: boolean; type?: xdr.ContractEventType; withoutContractId?: boolean } = {},
): xdr.DiagnosticEvent {
  return new xdr.DiagnosticEvent({
    inSuccessfulContractCall: options.inSuccessfulContractCall ?? true,
    event: new xdr.ContractEvent({
      ext: new xdr.ExtensionPoint(0),
      contractId: options.withoutContractId ? null : Address.fromString(contract).toScAddress().contractId(),
      type: options.type ?? xdr.ContractEventType.contract(),
      body: new xdr.ContractEventBody(0, new xdr.ContractEventV0({ topics, data })),
    }),
  });
}

/** The SAC transfer event as CAP-67 emits it: ["transfer", from, to, "<asset string>"], data i128. */
export function transferEvent(asset: string, from: string, to: string, amount: bigint, options: { inSuccessfulContractCall?: boolean } = {}) {
  return contractEvent(
    asset,
    [nativeToScVal("transfer", { type: "symbol" }), new Address(from).toScVal(), new Address(to).toScVal(), nativeToScVal("USDC:GISSUER", { type: "string" })],
    nativeToScVal(amount, { type: "i128" }),
    options,
  );
}

export function diagnosticEvent(): xdr.DiagnosticEvent {
  return contractEvent(USDC_TESTNET, [nativeToScVal("fn_call", { type: "symbol" })], xdr.ScVal.scvVoid(), { type: xdr.ContractEventType.diagnostic() });
}

export interface RawSimulation {
  latestLedger?: number;
  error?: string;
  minResourceFee?: string;
  transactionData?: string;
  events?: string[];
  results?: { auth: string[]; xdr: string }[];
  restorePreamble?: { minResourceFee: string; transactionData: string };
}

export function simulationSuccess(events: xdr.DiagnosticEvent[], minResourceFee = 50): RawSimulation {
  return {
    latestLedger: LATEST_LEDGER,
    minResourceFee: String(minResourceFee),
    transactionData: new SorobanDataBuilder().setResourceFee(minResourceFee).build().toXDR("base64"),
    events: events.map((e) => e.toXDR("base64")),
    results: [{ auth: [], xdr: xdr.ScVal.scvVoid().toXDR("base64") }],
  };
}

// ---------------------------------------------------------------------------------------------
// Scripted JSON-RPC server

type Answer = { result: unknown } | { error: { code: number; message: string } } | { httpStatus: number } | { hang: true };

export interface ScriptedRpc {
  readonly url: string;
  /** Method names in call order. */
  readonly calls: string[];
  latestLedger: number;
  /** Seconds between the ledger 20 back and the latest, as getLedgers reports them. */
  closeSecondsPerLedger: number;
  /** What simulateTransaction answers for the envelope it gets. */
  simulate: (envelopeXdr: string) => RawSimulation;
  /** Per-method override of the whole answer (outage, error, hang). */
  readonly override: Map<string, Answer>;
  close(): Promise<void>;
}

export async function startScriptedRpc(): Promise<ScriptedRpc> {
  const hung: ServerResponse[] = [];
  const state = {
    calls: [] as string[],
    latestLedger: LATEST_LEDGER,
    closeSecondsPerLedger: 5,
    simulate: (_: string): RawSimulation => ({ error: "no simulation scripted" }),
    override: new Map<string, Answer>(),
  };
  const answer = (method: string, params: Record<string, unknown>): Answer => {
    const override = state.override.get(method);
    if (override) return override;
    switch (method) {
      case "getLatestLedger":
        return { result: { id: "ab".repeat(32), sequence: state.latestLedger, protocolVersion: 23 } };
      case "getHealth":
        return { result: { status: "healthy", latestLedger: state.latestLedger, oldestLedger: 1, ledgerRetentionWindow: 17_280 } };
      case "getLedgers": {
        const start = Number(params.startLedger);
        const closeTime = (seq: number) => 1_700_000_000 + Math.round(seq * state.closeSecondsPerLedger);
        return {
          result: {
            ledgers: [{ hash: "cd".repeat(32), sequence: start, ledgerCloseTime: String(closeTime(start)), headerXdr: "", metadataXdr: "" }],
            latestLedger: state.latestLedger,
            latestLedgerCloseTime: closeTime(state.latestLedger),
            oldestLedger: 1,
            oldestLedgerCloseTime: closeTime(1),
            cursor: String(start),
          },
        };
      }
      case "simulateTransaction":
        return { result: { latestLedger: state.latestLedger, ...state.simulate(String(params.transaction)) } };
      default:
        return { error: { code: -32601, message: "method not found" } };
    }
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    req.on("end", () => {
      const request = JSON.parse(raw) as { id: number; method: string; params: Record<string, unknown> | null };
      state.calls.push(request.method);
      const reply = answer(request.method, request.params ?? {});
      if ("hang" in reply) return void hung.push(res);
      if ("httpStatus" in reply) {
        res.writeHead(reply.httpStatus, { "content-type": "text/plain" }).end("unavailable");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: request.id, ...reply }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** A StellarNetwork for stellar:testnet on `rpcUrl`, with short timeouts for tests. */
export function testNetwork(rpcUrl: string, metrics: Metrics, options: ConstructorParameters<typeof StellarNetwork>[2] = {}) {
  return new StellarNetwork({ id: "stellar:testnet", passphrase: Networks.TESTNET, rpcUrl }, metrics, { timeoutMs: 2_000, ...options });
}

// ---------------------------------------------------------------------------------------------
export { allowClientHttpRpc, blockNonLoopbackNetwork, ExternalNetworkBlocked, type NetworkBlock } from "@quay/demo";
