import { Account, Address, authorizeEntry, BASE_FEE, Contract, Keypair, nativeToScVal, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import { Credential, Method, z } from "mppx";
import { ALL_ZEROS, DEFAULT_LEDGER_CLOSE_SECONDS, DEFAULT_RPC_URL, DEFAULT_TIMEOUT_SECONDS, Network } from "../constants.js";
import type { NetworkId } from "../constants.js";
import { ChargeCheck } from "../charge-check.js";
import { Did } from "../did.js";
import { StellarMppError } from "../errors.js";
import { Methods } from "../methods.js";
import { Rpc } from "../rpc.js";

/**
 * `stellar/charge` on an MPP client: builds the credential exactly as stellar-mpp-sdk's client does.
 * Sponsored (feePayer: true): ALL_ZEROS source, prepared through simulation, only the address auth
 * entries signed (authorizeEntry), envelope unsigned. Unsponsored pull: the payer's own source,
 * envelope signed. Push: the payer sends and waits, then presents `signedHash`.
 */

/** What a charge client reports as it pays: the challenge seen, the credential signed, a push settled. */
export type ChargeProgressEvent =
  | { readonly type: "challenge"; readonly amount: string; readonly currency: string; readonly recipient: string }
  | { readonly type: "signed"; readonly mode: "pull" | "push" }
  | { readonly type: "settled"; readonly txHash: string };

export interface ChargeClientParameters {
  readonly keypair: Keypair;
  readonly onProgress?: (event: ChargeProgressEvent) => void;
  /** RPC to build with; default per network. http URLs (a local devnet) are allowed. */
  readonly rpcUrl?: string;
  /** Default 'pull'; per call through the `mode` context. */
  readonly mode?: "pull" | "push";
  /** Used when a challenge carries no expiry. */
  readonly timeoutSeconds?: number;
  readonly ledgerCloseSeconds?: number;
  readonly pollIntervalMs?: number;
  readonly pollTimeoutMs?: number;
}

export function charge(parameters: ChargeClientParameters) {
  const keypair = parameters.keypair;
  const closeSeconds = parameters.ledgerCloseSeconds ?? DEFAULT_LEDGER_CLOSE_SECONDS;
  const timeout = parameters.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;

  return Method.toClient(Methods.charge, {
    context: z.object({ mode: z.optional(z.enum(["push", "pull"])) }),
    async createCredential({ challenge, context }) {
      const { request } = challenge;
      const progress = parameters.onProgress ?? (() => undefined);
      progress({ type: "challenge", amount: request.amount, currency: request.currency, recipient: request.recipient });
      const network = request.methodDetails?.network ?? "stellar:testnet";
      if (!Network.isId(network)) throw new StellarMppError("unsupported", "unknown_network", `unknown network ${network}`);
      const passphrase = Network.passphrase(network);
      const server = Rpc.server(parameters.rpcUrl ?? DEFAULT_RPC_URL[network as NetworkId]);
      const mode = context?.mode ?? parameters.mode ?? "pull";
      const sponsored = request.methodDetails?.feePayer === true;
      const accepted = request.methodDetails?.credentialTypes;
      if (mode === "push" && (sponsored || !accepted?.includes("signedHash"))) {
        // Refuse before broadcasting: money sent to a server that will not take the hash is lost.
        throw new StellarMppError("unsupported", "push_not_accepted", "the server does not accept signedHash credentials");
      }
      if (mode === "pull" && accepted && !accepted.includes("transaction")) {
        throw new StellarMppError("unsupported", "pull_not_accepted", "the server does not accept transaction credentials");
      }
      if (!/^\d+$/.test(request.amount)) throw new StellarMppError("invalid_payment", "invalid_amount", "the challenge amount is not base units");

      const expires = challenge.expires ? Math.floor(Date.parse(challenge.expires) / 1000) : undefined;
      const transfer = new Contract(request.currency).call(
        "transfer",
        new Address(keypair.publicKey()).toScVal(),
        new Address(request.recipient).toScVal(),
        nativeToScVal(BigInt(request.amount), { type: "i128" }),
      );
      const source = Did.from(network, keypair.publicKey());
      const withBounds = (builder: TransactionBuilder) => (expires !== undefined ? builder.setTimebounds(0, expires) : builder.setTimeout(timeout));

      if (sponsored) {
        const draft = withBounds(new TransactionBuilder(new Account(ALL_ZEROS, "0"), { fee: BASE_FEE, networkPassphrase: passphrase }).addOperation(transfer)).build();
        const prepared = await Rpc.call("prepareTransaction", () => server.prepareTransaction(draft));
        const latest = (await Rpc.call("getLatestLedger", () => server.getLatestLedger())).sequence;
        const seconds = expires !== undefined ? Math.max(expires - Math.floor(Date.now() / 1000), 0) : timeout;
        const validUntil = latest + Math.ceil(seconds / closeSeconds) + (expires !== undefined ? 0 : 10);
        const envelope = prepared.toEnvelope();
        for (const op of envelope.v1().tx().operations()) {
          if (op.body().switch() !== xdr.OperationType.invokeHostFunction()) continue;
          const entries = op.body().invokeHostFunctionOp().auth();
          for (let i = 0; i < entries.length; i++) {
            const entry = entries[i]!;
            // V1, or CAP-71's V2 when the RPC recorded it: authorizeEntry signs either's own preimage.
            const arm = entry.credentials().switch().value;
            if (arm === xdr.SorobanCredentialsType.sorobanCredentialsAddress().value || arm === xdr.SorobanCredentialsType.sorobanCredentialsAddressV2().value) {
              entries[i] = await authorizeEntry(entry, keypair, validUntil, passphrase);
            }
          }
        }
        progress({ type: "signed", mode: "pull" });
        return Credential.serialize({ challenge, payload: { type: "transaction", transaction: envelope.toXDR("base64") }, source });
      }

      const account = await Rpc.call("getAccount", () => server.getAccount(keypair.publicKey()));
      const draft = withBounds(new TransactionBuilder(account, { fee: BASE_FEE, networkPassphrase: passphrase }).addOperation(transfer)).build();
      const prepared = await Rpc.call("prepareTransaction", () => server.prepareTransaction(draft));
      prepared.sign(keypair);
      if (mode === "pull") {
        progress({ type: "signed", mode: "pull" });
        return Credential.serialize({ challenge, payload: { type: "transaction", transaction: prepared.toXDR() }, source });
      }
      const hash = await Rpc.send(server, prepared);
      await Rpc.waitForSuccess(server, hash, {
        ...(parameters.pollIntervalMs !== undefined ? { intervalMs: parameters.pollIntervalMs } : {}),
        ...(parameters.pollTimeoutMs !== undefined ? { timeoutMs: parameters.pollTimeoutMs } : {}),
      });
      progress({ type: "settled", txHash: hash });
      progress({ type: "signed", mode: "push" });
      const sourceSignature = keypair.sign(Buffer.from(ChargeCheck.sourceSignatureMessage(challenge.id, hash))).toString("hex");
      return Credential.serialize({ challenge, payload: { type: "signedHash", hash: hash.toLowerCase(), sourceSignature }, source });
    },
  });
}
