import { Address, Keypair, scValToBigInt, StrKey, xdr } from "@stellar/stellar-sdk";
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { columnName, enumLiteral, isUniqueViolation, schema, type Db } from "@quay/db";
import { Commitment } from "@quay/mpp";
import { isFinal, type OutcomeWaiter, type SettleQueue } from "@quay/settlement";
import { AuthEntry, type StellarNetwork } from "@quay/stellar";
import { Vault } from "@quay/vault";
import type { Caller } from "./charge";
import { Closer, Closes, type Channel, type Close, type CloseQueue } from "./closes";
import { ChannelError, ChannelsError } from "./errors";
import { ChannelLedger } from "./ledger";
import { VoucherSignature } from "./voucher-signature";

const { mppChannels, mppCloses, mppVouchers } = schema;

/**
 * One-way channels a tenant registers with Quay: registration (checked against the ledger and the
 * Wasm allow-list), vouchers (verified offline, strictly increasing, never above what the channel
 * can pay, the highest kept with its signature in one conditional update), state, policy, and
 * close requests. Every query is scoped to the caller's tenant.
 */

export interface ChannelsDeps {
  readonly db: Db;
  readonly networks: ReadonlyMap<string, StellarNetwork>;
  /** Seals entrusted recipient keys; without it Quay refuses to hold one. */
  readonly masterKey: Buffer | undefined;
  /** Hex Wasm hashes of the one-way channel contract accepted at registration. */
  readonly wasmHashes: readonly string[];
  readonly closeQueue: CloseQueue;
  /** Where a close's submission is queued for the worker (the api records it; only the worker submits). */
  readonly settleQueue: SettleQueue;
  /** Waits for a close's submission to be final (the one x402 /settle and MPP charges use). */
  readonly waiter: OutcomeWaiter;
  /** How long a close request waits for its transaction to be final before answering "pending". */
  readonly closeWaitMs: number;
}

/**
 * What a close request came to: `closed` (its transaction is final and succeeded: the view carries
 * its hash as `txHash`) or `pending` (the wait ran out; the worker carries on, and asking again
 * waits again). A close that failed throws ChannelError `close_failed` with its reason.
 */
export type CloseOutcome = { readonly kind: "closed"; readonly view: ChannelView } | { readonly kind: "pending"; readonly view: ChannelView };

const I128_MAX = (1n << 127n) - 1n;
const amountString = z.string().regex(/^\d{1,39}$/, "a whole number of base units").transform(BigInt).refine((v) => v <= I128_MAX, "fits an i128");
const seconds = z.number().int().min(1).max(10 * 365 * 86_400);
const ledgerCount = z.number().int().min(1).max(6_312_000);
const recipientSecret = z.string().regex(/^S[A-Z2-7]{55}$/, "a Stellar secret seed (S...)");

export const PolicySchema = z
  .object({
    idleCloseSeconds: seconds.nullable().optional(),
    ttlThresholdLedgers: ledgerCount.nullable().optional(),
    /** 0 turns TTL extension off for this channel: it is closed instead when its TTL runs low. */
    ttlExtendTo: z.number().int().min(0).max(6_312_000).nullable().optional(),
    recipientSecret: recipientSecret.nullable().optional(),
  })
  .strict();

export const RegisterSchema = z
  .object({
    address: z.string().refine((v) => StrKey.isValidContract(v), "a C… contract address"),
    network: z.string().min(1).max(64),
    commitmentKey: z.string().min(1).max(64),
    recipientSecret: recipientSecret.optional(),
    policy: PolicySchema.omit({ recipientSecret: true }).optional(),
  })
  .strict();

export const VoucherSchema = z
  .object({
    amount: amountString,
    signature: z.string().regex(/^[0-9a-fA-F]{128}$/, "128 hex characters"),
    challengeId: z.string().min(1).max(256).optional(),
    requested: amountString.optional(),
  })
  .strict();

export const CloseRequestSchema = z.object({ recipientAuth: z.string().min(1).max(8_192).optional() }).strict();

/** A refused voucher, answered as `{success: false, error: {code, reason, message}}` (mppx codes). */
export class VoucherRefusal extends ChannelsError {
  override readonly name = "VoucherRefusal";
  constructor(
    readonly code: "invalid_payment" | "already_used" | "insufficient_funds",
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a tenant sees of a channel: never the recipient key. */
export interface ChannelView {
  readonly address: string;
  readonly network: string;
  readonly funder: string;
  readonly recipient: string;
  readonly token: string;
  readonly commitmentKey: string;
  readonly refundWaitingPeriod: number;
  readonly capacity: string;
  readonly withdrawn: string;
  readonly cumulative: string;
  /** Same as `cumulative`, and `deposited` as `capacity`: the names @quay/mpp's relay client reads. */
  readonly highestAmount: string;
  readonly deposited: string;
  readonly signature: string | null;
  readonly state: Channel["state"];
  readonly closeEffectiveAtLedger: number | null;
  readonly recipientKeyHeld: boolean;
  readonly liveUntilLedger: number | null;
  readonly policy: { idleCloseSeconds: number | null; ttlThresholdLedgers: number | null; ttlExtendTo: number | null };
  /** The close transaction's hash once it succeeded (what a relay client puts in its receipt). */
  readonly txHash?: string;
  readonly close: null | {
    readonly status: Close["status"];
    readonly trigger: string;
    readonly amount: string | null;
    readonly txHash: string | null;
    readonly paid: string | null;
    readonly refunded: string | null;
    readonly reason: string | null;
  };
}

export const Channels = {
  async register(deps: ChannelsDeps, caller: Caller, input: z.infer<typeof RegisterSchema>): Promise<ChannelView> {
    caller.assertNetwork(input.network);
    const network = deps.networks.get(input.network);
    if (!network) throw new ChannelError(400, "network_not_served", `Quay does not serve ${input.network}`);
    const commitmentKey = commitmentKeyHex(input.commitmentKey);
    const onChain = await ChannelLedger.read(network, input.address);
    if (!deps.wasmHashes.includes(onChain.wasmHash)) {
      throw new ChannelError(422, "unsupported_contract", "the contract is not the one-way channel contract Quay accepts (Wasm hash not allowed)");
    }
    if (onChain.commitmentKey !== commitmentKey) throw new ChannelError(422, "commitment_key_mismatch", "the channel's commitment key is not the one given");
    if (onChain.closeEffectiveAtLedger !== null && onChain.closeEffectiveAtLedger <= onChain.latestLedger) {
      throw new ChannelError(409, "channel_closed", "the channel is already closed on chain");
    }
    const sealed = input.recipientSecret ? sealRecipient(deps, input.address, onChain.recipient, input.recipientSecret) : null;
    const [row] = await deps.db
      .insert(mppChannels)
      .values({
        tenantId: caller.tenantId,
        apiKeyId: caller.apiKeyId,
        network: input.network,
        address: input.address,
        funder: onChain.funder,
        recipient: onChain.recipient,
        token: onChain.token,
        commitmentKey,
        wasmHash: onChain.wasmHash,
        refundWaitingPeriod: onChain.refundWaitingPeriod,
        capacity: onChain.balance + onChain.withdrawn,
        withdrawn: onChain.withdrawn,
        closeEffectiveAtLedger: onChain.closeEffectiveAtLedger,
        recipientSecretEncrypted: sealed,
        idleCloseSeconds: input.policy?.idleCloseSeconds ?? null,
        ttlThresholdLedgers: input.policy?.ttlThresholdLedgers ?? null,
        ttlExtendTo: input.policy?.ttlExtendTo ?? null,
      })
      .onConflictDoNothing({ target: [mppChannels.network, mppChannels.address] })
      .returning();
    if (!row) throw new ChannelError(409, "already_registered", "this channel is already registered");
    return view(row, undefined);
  },

  async get(deps: ChannelsDeps, caller: Caller, address: string): Promise<ChannelView> {
    const channel = await own(deps.db, caller, address);
    const [close] = await deps.db.select().from(mppCloses).where(eq(mppCloses.channelId, channel.id));
    return view(channel, close);
  },

  /** Accepts a voucher or throws VoucherRefusal; returns the new cumulative. */
  async voucher(deps: ChannelsDeps, caller: Caller, address: string, input: z.infer<typeof VoucherSchema>): Promise<bigint> {
    let channel = await own(deps.db, caller, address);
    if (channel.state !== "open") throw new VoucherRefusal("invalid_payment", "channel_closed", `the channel is ${channel.state}: it takes no more vouchers`);
    const network = deps.networks.get(channel.network);
    if (!network) throw new ChannelError(503, "network_not_served", "the channel's network is not served");
    if (input.amount <= 0n) throw new VoucherRefusal("invalid_payment", "invalid_amount", "the cumulative amount must be positive");
    const signature = input.signature.toLowerCase();
    if (!VoucherSignature.verify(channel.commitmentKey, { channel: channel.address, amount: input.amount, networkPassphrase: network.passphrase }, signature)) {
      throw new VoucherRefusal("invalid_payment", "invalid_signature", "the signature is not the commitment key's over this amount");
    }
    refuseLowOrReplayed(channel, input);
    if (channel.closeEffectiveAtLedger !== null && (await network.latestLedger()) >= channel.closeEffectiveAtLedger) {
      throw new VoucherRefusal("invalid_payment", "channel_closed", "the channel's close is effective on chain");
    }
    if (input.amount > channel.capacity) {
      // A top-up (or a plain transfer to the contract) raises what the channel can pay: read it again.
      const onChain = await ChannelLedger.read(network, channel.address);
      const capacity = onChain.balance + onChain.withdrawn;
      await deps.db.update(mppChannels).set({ capacity, updatedAt: sql`now()` }).where(eq(mppChannels.id, channel.id));
      channel = { ...channel, capacity };
      if (input.amount > capacity) throw new VoucherRefusal("insufficient_funds", "amount_exceeds_deposit", "the cumulative amount is above what the channel holds");
    }

    const accepted = await recordVoucher(deps.db, channel.id, input, signature).catch((error: unknown) => {
      if (isUniqueViolation(error, mppVouchers, "mpp_vouchers_challenge")) {
        throw new VoucherRefusal("already_used", "replay", "this challenge already paid with a voucher on this channel");
      }
      throw error;
    });
    if (!accepted) {
      // Lost a race with another voucher (or a close): say why against the current row.
      const current = await own(deps.db, caller, address);
      if (current.state !== "open") throw new VoucherRefusal("invalid_payment", "channel_closed", `the channel is ${current.state}: it takes no more vouchers`);
      refuseLowOrReplayed(current, input);
      throw new VoucherRefusal("invalid_payment", "not_increasing", "the voucher does not raise the cumulative amount");
    }
    return accepted;
  },

  async setPolicy(deps: ChannelsDeps, caller: Caller, address: string, input: z.infer<typeof PolicySchema>): Promise<ChannelView> {
    const channel = await own(deps.db, caller, address);
    const patch: Partial<typeof mppChannels.$inferInsert> = {};
    if (input.idleCloseSeconds !== undefined) patch.idleCloseSeconds = input.idleCloseSeconds;
    if (input.ttlThresholdLedgers !== undefined) patch.ttlThresholdLedgers = input.ttlThresholdLedgers;
    if (input.ttlExtendTo !== undefined) patch.ttlExtendTo = input.ttlExtendTo;
    if (input.recipientSecret !== undefined) {
      patch.recipientSecretEncrypted = input.recipientSecret === null ? null : sealRecipient(deps, channel.address, channel.recipient, input.recipientSecret);
    }
    const [row] = await deps.db
      .update(mppChannels)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(eq(mppChannels.id, channel.id))
      .returning();
    return Channels.get(deps, caller, row!.address);
  },

  /**
   * Decides a close with the highest voucher, records its transaction for the worker to submit, and
   * answers once that transaction is final (or when `closeWaitMs` runs out). With `recipientAuth`
   * (the recipient's signed entry for close(amount, sig)), it must authorise exactly the highest voucher.
   */
  async requestClose(deps: ChannelsDeps, caller: Caller, address: string, input: z.infer<typeof CloseRequestSchema>): Promise<CloseOutcome> {
    const channel = await own(deps.db, caller, address);
    if (channel.state === "closed") return settledOutcome(deps, caller, address);
    if (!channel.signature || channel.cumulative <= 0n) throw new ChannelError(409, "no_voucher", "the channel has no voucher to close with");
    const network = deps.networks.get(channel.network);
    if (!network) throw new ChannelError(503, "network_not_served", "the channel's network is not served");
    if (input.recipientAuth) await checkRecipientAuth(network, channel, input.recipientAuth);
    else if (!channel.recipientSecretEncrypted) {
      throw new ChannelError(422, "recipient_auth_required", "Quay holds no recipient key for this channel: send recipientAuth, the recipient's signed entry for close(amount, sig)");
    }
    const close = await Closes.request(deps.db, channel.id, "request", input.recipientAuth ? { recipientAuth: input.recipientAuth } : {});
    if (!close) throw new ChannelError(409, "cannot_close", "the channel cannot be closed now");
    return awaitClose(deps, caller, channel, close);
  },
};

/**
 * The api's side of a close, as of an x402 /settle: record the close's submission through Intake
 * (`Closer.run` does, linking it to the close), wait for the worker to make it final with the
 * OutcomeWaiter, then record the outcome (`Closer.run` again: two runs of one close are safe).
 * The close's job is queued in any case, so the worker finishes a close this process leaves.
 */
async function awaitClose(deps: ChannelsDeps, caller: Caller, channel: Channel, decided: Close): Promise<CloseOutcome> {
  const closer = { db: deps.db, settleQueue: deps.settleQueue, networks: deps.networks, masterKey: deps.masterKey };
  let close: Close = decided;
  let landed: string | undefined;
  if (decided.status === "requested" || decided.status === "submitting") {
    try {
      close = (await Closer.run(closer, channel.id)) ?? decided;
    } finally {
      await Closes.enqueue(deps.closeQueue, channel.id);
    }
  }
  if (close.submissionId && (close.status === "requested" || close.status === "submitting")) {
    // The close is recorded and queued by now: a failure while waiting (or recording) answers "pending", never 5xx.
    const submission = await deps.waiter.wait(close.submissionId, deps.closeWaitMs).catch(() => undefined);
    // Final: record the outcome now rather than leave it to the worker's next run.
    if (submission && isFinal(submission)) close = (await Closer.run(closer, channel.id).catch(() => undefined)) ?? close;
    if (submission?.status === "succeeded" && submission.txHash) landed = submission.txHash;
  }
  // Read afresh: another run of this close may have recorded its outcome first.
  const view = await Channels.get(deps, caller, channel.address);
  if (view.close?.status === "failed") {
    const reason = view.close.reason ?? "close_failed";
    throw new ChannelError(409, "close_failed", `the close transaction failed (${reason}): the channel takes vouchers again`, reason);
  }
  if (view.close?.status === "succeeded" && view.txHash) return { kind: "closed", view };
  // Landed, its outcome not recorded yet (the worker's run records it): the hash is the answer.
  if (landed) return { kind: "closed", view: { ...view, txHash: landed } };
  return { kind: "pending", view };
}

/** A channel already closed: its close's hash when Quay closed it. */
async function settledOutcome(deps: ChannelsDeps, caller: Caller, address: string): Promise<CloseOutcome> {
  const view = await Channels.get(deps, caller, address);
  if (!view.txHash) throw new ChannelError(409, "closed_elsewhere", "the channel was closed on chain by another transaction than Quay's");
  return { kind: "closed", view };
}

function refuseLowOrReplayed(channel: Channel, input: z.infer<typeof VoucherSchema>): void {
  if (input.amount <= channel.cumulative) {
    throw new VoucherRefusal("invalid_payment", "not_increasing", `the cumulative amount must be above ${channel.cumulative}`);
  }
  if (input.requested !== undefined && input.amount < channel.cumulative + input.requested) {
    throw new VoucherRefusal("invalid_payment", "underpaid", `the voucher must reach at least ${channel.cumulative + input.requested}`);
  }
}

async function checkRecipientAuth(network: StellarNetwork, channel: Channel, encoded: string): Promise<void> {
  let entry: xdr.SorobanAuthorizationEntry;
  try {
    entry = xdr.SorobanAuthorizationEntry.fromXDR(encoded, "base64");
  } catch {
    throw new ChannelError(400, "invalid_recipient_auth", "recipientAuth is not a base64 SorobanAuthorizationEntry");
  }
  const bad = (message: string) => new ChannelError(422, "invalid_recipient_auth", message);
  const credentials = AuthEntry.addressCredentials(entry);
  if (!credentials) throw bad(`recipientAuth must carry address credentials (V1 or V2), not ${AuthEntry.kind(entry)}`);
  if (Address.fromScAddress(credentials.address()).toString() !== channel.recipient) throw bad("recipientAuth is not the channel recipient's");
  if (credentials.signatureExpirationLedger() <= (await network.latestLedger())) throw bad("recipientAuth has expired");
  const root = entry.rootInvocation();
  if (root.subInvocations().length > 0 || root.function().switch() !== xdr.SorobanAuthorizedFunctionType.sorobanAuthorizedFunctionTypeContractFn()) {
    throw bad("recipientAuth must authorise exactly one contract call");
  }
  const call = root.function().contractFn();
  const [amountArg, sigArg, ...more] = call.args();
  if (Address.fromScAddress(call.contractAddress()).toString() !== channel.address || call.functionName().toString() !== "close" || !amountArg || !sigArg || more.length > 0) {
    throw bad("recipientAuth must authorise close(amount, sig) on this channel");
  }
  const amount = scValToBigInt(amountArg);
  const signature = sigArg.switch() === xdr.ScValType.scvBytes() ? Buffer.from(sigArg.bytes()).toString("hex") : "";
  if (amount !== channel.cumulative || signature !== channel.signature) {
    throw new ChannelError(409, "stale_recipient_auth", `recipientAuth must authorise the highest voucher (cumulative ${channel.cumulative})`);
  }
}

/**
 * A voucher's write as one statement (one round trip; atomic, as the transaction of two statements
 * it replaces): the conditional update raises the channel's highest voucher (open, strictly higher,
 * covering the price, within capacity) and the insert records the voucher from what it updated. A
 * challenge already used on this channel violates mpp_vouchers_challenge and undoes the whole
 * statement (the caller answers "replay"). Answers the new cumulative, or undefined when the update
 * matched nothing (another voucher or a close came first).
 */
async function recordVoucher(db: Db, channelId: string, input: z.infer<typeof VoucherSchema>, signature: string): Promise<bigint | undefined> {
  const c = mppChannels;
  const v = mppVouchers;
  const name = columnName;
  const amount = input.amount.toString();
  const { rows } = await db.execute(sql`
    with updated as (
      update ${c} set ${name(c.cumulative)} = ${amount}::numeric, ${name(c.signature)} = ${signature}, ${name(c.lastVoucherAt)} = now(), ${name(c.updatedAt)} = now()
       where ${c.id} = ${channelId} and ${c.state} = ${enumLiteral(schema.mppChannelState, "open")}
         and ${c.cumulative} < ${amount}::numeric
         and ${c.cumulative} + ${(input.requested ?? 0n).toString()}::numeric <= ${amount}::numeric
         and ${c.capacity} >= ${amount}::numeric
      returning ${c.id} as id)
    insert into ${v} (${name(v.channelId)}, ${name(v.amount)}, ${name(v.signature)}, ${name(v.challengeId)})
    select id, ${amount}::numeric, ${signature}, ${input.challengeId ?? null} from updated
    returning ${name(v.amount)}::text as cumulative`);
  const cumulative = rows[0]?.cumulative;
  if (cumulative === undefined) return undefined;
  if (typeof cumulative !== "string") throw new Error("recordVoucher: the insert returned no amount");
  return BigInt(cumulative);
}

async function own(db: Db, caller: Caller, address: string): Promise<Channel> {
  const [channel] = await db
    .select()
    .from(mppChannels)
    .where(and(eq(mppChannels.tenantId, caller.tenantId), eq(mppChannels.address, address)));
  if (!channel) throw new ChannelError(404, "channel_not_found", "no channel with this address is registered for this key's tenant");
  return channel;
}

function commitmentKeyHex(given: string): string {
  try {
    return Commitment.keypairOf(given).rawPublicKey().toString("hex");
  } catch {
    throw new ChannelError(400, "invalid_commitment_key", "commitmentKey must be a G… public key or 64 hex characters");
  }
}

function sealRecipient(deps: ChannelsDeps, channel: string, recipient: string, secret: string): string {
  if (!deps.masterKey) throw new ChannelError(422, "no_master_key", "this Quay has no QUAY_MASTER_KEY: it cannot hold a recipient key");
  let keypair: Keypair;
  try {
    keypair = Keypair.fromSecret(secret);
  } catch {
    throw new ChannelError(400, "invalid_recipient_secret", "recipientSecret is not a valid secret seed");
  }
  if (keypair.publicKey() !== recipient) throw new ChannelError(422, "recipient_key_mismatch", "recipientSecret is not the key of the channel's recipient");
  return Vault.seal(deps.masterKey, secret, channel);
}

function view(channel: Channel, close: Close | undefined): ChannelView {
  return {
    address: channel.address,
    network: channel.network,
    funder: channel.funder,
    recipient: channel.recipient,
    token: channel.token,
    commitmentKey: StrKey.encodeEd25519PublicKey(Buffer.from(channel.commitmentKey, "hex")),
    refundWaitingPeriod: channel.refundWaitingPeriod,
    capacity: channel.capacity.toString(),
    withdrawn: channel.withdrawn.toString(),
    cumulative: channel.cumulative.toString(),
    highestAmount: channel.cumulative.toString(),
    deposited: channel.capacity.toString(),
    signature: channel.signature,
    state: channel.state,
    closeEffectiveAtLedger: channel.closeEffectiveAtLedger,
    recipientKeyHeld: channel.recipientSecretEncrypted !== null,
    liveUntilLedger: channel.liveUntilLedger,
    policy: { idleCloseSeconds: channel.idleCloseSeconds, ttlThresholdLedgers: channel.ttlThresholdLedgers, ttlExtendTo: channel.ttlExtendTo },
    ...(close?.status === "succeeded" && close.txHash ? { txHash: close.txHash } : {}),
    close: close
      ? {
          status: close.status,
          trigger: close.trigger,
          amount: close.amount?.toString() ?? null,
          txHash: close.txHash,
          paid: close.paid?.toString() ?? null,
          refunded: close.refunded?.toString() ?? null,
          reason: close.reason,
        }
      : null,
  };
}
