import {
  Account,
  Address,
  BASE_FEE,
  buildAuthorizationEntryPreimage,
  buildWithDelegatesEntry,
  hash,
  nativeToScVal,
  Operation,
  rpc,
  TransactionBuilder,
  xdr,
} from "@stellar/stellar-sdk";
import type { DelegateSignature } from "@stellar/stellar-sdk";
import type { AccountSigner, DelegateSigner } from "./signers";

/**
 * The x402 `exact` payment for Stellar, paid from a contract account (a C… smart wallet), which
 * @x402/stellar's own client cannot do: it signs only with an ed25519 secret.
 *
 * What it builds is what that client builds — a transaction from the null account (sequence 0)
 * with one `transfer(from = account, to = payTo, amount)` on the asset contract, its footprint and
 * resource fee from simulation, unsigned (the facilitator rebuilds and submits it) — with the
 * account's authorization signed the way the account expects:
 *
 *   1. recording simulation: the RPC returns the account's auth entry (its nonce, its invocation);
 *      it does not run `__check_auth` (it cannot without the signature), so its resources miss the
 *      account's own work;
 *   2. the entry is put in the signer's credentials arm with `validUntilLedger`, and its payload —
 *      sha256 of the V1 preimage, or of the address-bound one for V2 and delegates — is signed;
 *   3. enforcing simulation of the signed entry: now `__check_auth` runs, so a bad signature fails
 *      here (`Error(Auth, InvalidAction)`), and the footprint, instructions and fee include what
 *      the account reads, writes, verifies and emits;
 *   4. the transaction is assembled from that second simulation.
 * This is the two-simulation flow CAP-71-01's appendix describes for custom accounts.
 */
export namespace SmartAccountPayment {
  /** The null account x402 clients build from (SDK contract client's NULL_ACCOUNT). */
  export const NULL_ACCOUNT = "GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF";

  export interface Options {
    readonly rpcUrl: string;
    /** Defaults to the RPC's own (getNetwork). */
    readonly networkPassphrase?: string;
    /** Plain-http RPC (a local devnet). */
    readonly allowHttp?: boolean;
    /** The paying account: C… (a contract account) or G…. */
    readonly account: string;
    /** The token contract (C…), e.g. the USDC SAC. */
    readonly asset: string;
    readonly payTo: string;
    /** Base units. */
    readonly amount: bigint;
    /** The last ledger the authorization is valid in (its signatureExpirationLedger). */
    readonly validUntilLedger: number;
    /** The account's signer, or a bare signing function (V1 credentials). */
    readonly sign: AccountSigner | ((payload: Buffer) => Promise<xdr.ScVal>);
    /** The transaction's time bound, in seconds. Default 300 (the SDK contract client's). */
    readonly timeoutSeconds?: number;
  }

  export interface Payment {
    /** Base64 TransactionEnvelope: x402 `payload.transaction`. */
    readonly transaction: string;
    /** The signed authorization entry in it. */
    readonly authEntry: xdr.SorobanAuthorizationEntry;
    /** The 32-byte payload the account signed. */
    readonly signaturePayload: Buffer;
    /** What the enforcing simulation asked for. */
    readonly minResourceFee: bigint;
    readonly transactionData: xdr.SorobanTransactionData;
  }

  /** Simulation refused the payment; `error` is the RPC's string (e.g. "HostError: Error(Auth, InvalidAction) …"). */
  export class SimulationError extends Error {
    constructor(
      readonly stage: "recording" | "enforcing",
      readonly error: string,
    ) {
      super(`${stage} simulation failed: ${error}`);
      this.name = "SmartAccountPayment.SimulationError";
    }
  }

  export async function build(options: Options): Promise<Payment> {
    const server = new rpc.Server(options.rpcUrl, { allowHttp: options.allowHttp ?? false });
    const networkPassphrase = options.networkPassphrase ?? (await server.getNetwork()).passphrase;
    const signer: AccountSigner = typeof options.sign === "function" ? { credentials: "address", sign: options.sign } : options.sign;
    const func = Operation.invokeContractFunction({
      contract: options.asset,
      function: "transfer",
      args: [Address.fromString(options.account).toScVal(), Address.fromString(options.payTo).toScVal(), nativeToScVal(options.amount, { type: "i128" })],
    })
      .body()
      .invokeHostFunctionOp()
      .hostFunction();
    const draft = (auth: xdr.SorobanAuthorizationEntry[]) =>
      new TransactionBuilder(new Account(NULL_ACCOUNT, "0"), { fee: BASE_FEE, networkPassphrase })
        .addOperation(Operation.invokeHostFunction({ func, auth }))
        .setTimeout(options.timeoutSeconds ?? 300)
        .build();

    const recording = await server.simulateTransaction(draft([]));
    if (!rpc.Api.isSimulationSuccess(recording)) throw new SimulationError("recording", rpc.Api.isSimulationError(recording) ? recording.error : "no result");
    const recorded = recording.result?.auth ?? [];
    const entry = recorded[0];
    if (recorded.length !== 1 || !entry || addressOf(entry) !== options.account) {
      throw new Error(`expected exactly one auth entry, for ${options.account}; simulation asked for ${recorded.map(addressOf).join(", ") || "none"}`);
    }

    const { signed, payload } = await signEntry(entry, signer, options.validUntilLedger, networkPassphrase);
    const withAuth = draft([signed]);
    const enforcing = await server.simulateTransaction(withAuth);
    if (!rpc.Api.isSimulationSuccess(enforcing)) throw new SimulationError("enforcing", rpc.Api.isSimulationError(enforcing) ? enforcing.error : "no result");
    const assembled = rpc.assembleTransaction(withAuth, enforcing).build();
    return {
      transaction: assembled.toXDR(),
      authEntry: signed,
      signaturePayload: payload,
      minResourceFee: BigInt(enforcing.minResourceFee),
      transactionData: enforcing.transactionData.build(),
    };
  }

  /**
   * Puts the recorded entry's address credentials (nonce kept) in the signer's arm, sets the
   * expiration and signs: the account's signature, and for delegates every node of the tree.
   */
  export async function signEntry(
    recorded: xdr.SorobanAuthorizationEntry,
    signer: AccountSigner,
    validUntilLedger: number,
    networkPassphrase: string,
  ): Promise<{ signed: xdr.SorobanAuthorizationEntry; payload: Buffer }> {
    const creds = addressCredentials(recorded);
    const unsigned = new xdr.SorobanAddressCredentials({
      address: creds.address(),
      nonce: creds.nonce(),
      signatureExpirationLedger: validUntilLedger,
      signature: xdr.ScVal.scvVoid(),
    });
    const T = xdr.SorobanCredentials;
    const shaped = new xdr.SorobanAuthorizationEntry({
      credentials:
        signer.credentials === "address"
          ? T.sorobanCredentialsAddress(unsigned)
          : signer.credentials === "addressV2"
            ? T.sorobanCredentialsAddressV2(unsigned)
            : T.sorobanCredentialsAddressWithDelegates(new xdr.SorobanAddressCredentialsWithDelegates({ addressCredentials: unsigned, delegates: [] })),
      rootInvocation: recorded.rootInvocation(),
    });
    // The delegates are not part of the preimage: one payload for the account and every delegate.
    const payload = hash(buildAuthorizationEntryPreimage(shaped, validUntilLedger, networkPassphrase).toXDR());
    const signature = await signer.sign(payload);
    if (signer.credentials !== "addressWithDelegates") {
      unsigned.signature(signature);
      return { signed: shaped, payload };
    }
    const delegates = await Promise.all((signer.delegates ?? []).map((d) => signDelegate(d, payload)));
    // The SDK's builder sorts every list by address and refuses duplicates, as the host requires.
    const signed = buildWithDelegatesEntry({
      entry: new xdr.SorobanAuthorizationEntry({ credentials: T.sorobanCredentialsAddressV2(unsigned), rootInvocation: recorded.rootInvocation() }),
      validUntilLedgerSeq: validUntilLedger,
      delegates,
      signature,
    });
    return { signed, payload };
  }

  async function signDelegate(delegate: DelegateSigner, payload: Buffer): Promise<DelegateSignature> {
    const nested = await Promise.all((delegate.nested ?? []).map((d) => signDelegate(d, payload)));
    return { address: delegate.address, signature: await delegate.sign(payload), nestedDelegates: nested };
  }

  function addressCredentials(entry: xdr.SorobanAuthorizationEntry): xdr.SorobanAddressCredentials {
    const creds = entry.credentials();
    const T = xdr.SorobanCredentialsType;
    switch (creds.switch()) {
      case T.sorobanCredentialsAddress():
        return creds.address();
      case T.sorobanCredentialsAddressV2():
        return creds.addressV2();
      case T.sorobanCredentialsAddressWithDelegates():
        return creds.addressWithDelegates().addressCredentials();
      default:
        throw new Error("the auth entry has source-account credentials, not the account's");
    }
  }

  function addressOf(entry: xdr.SorobanAuthorizationEntry): string {
    try {
      return Address.fromScAddress(addressCredentials(entry).address()).toString();
    } catch {
      return "the transaction source";
    }
  }
}
