import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { amount } from "./columns";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();

/** An operator's customer: x402 sellers and MPP servers call Quay on a tenant's behalf. */
export const tenants = pgTable("tenants", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull().unique(),
  createdAt: createdAt(),
});

/**
 * Bearer keys. Only a SHA-256 of the key is kept; `prefix` lets an operator recognise a key in
 * listings without it being usable. A budgeted key's budget is a hard cap: accepting a payment
 * reserves the most it may cost (`feeReservedStroops`, in the statement that records it), and the
 * statement that makes it final charges what the ledger charged (`feeSpentStroops`) and releases
 * the reservation, so spent + reserved never passes the budget, however many settle at once.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    keyHash: text("key_hash").notNull().unique(),
    prefix: text("prefix").notNull(),
    networks: text("networks").array().notNull(),
    feeBudgetStroops: bigint("fee_budget_stroops", { mode: "bigint" }),
    feeSpentStroops: bigint("fee_spent_stroops", { mode: "bigint" }).notNull().default(sql`0`),
    feeReservedStroops: bigint("fee_reserved_stroops", { mode: "bigint" }).notNull().default(sql`0`),
    rateLimitPerMinute: integer("rate_limit_per_minute"),
    /**
     * Contracts the key may have Quay sponsor calls to through the Channels API; null means the
     * network's served assets (their SAC contracts) only, so a new key cannot spend the operator's
     * XLM on arbitrary contracts.
     */
    allowedContracts: text("allowed_contracts").array(),
    /** The share (percent) of the network's channel accounts one contract's calls of this key may hold at once; null: no limit. */
    contractCapacityPercent: integer("contract_capacity_percent"),
    /** The fee budget renews every this many seconds, counted from the first use of a period; null: the budget is for the key's life. */
    feeResetPeriodSeconds: integer("fee_reset_period_seconds"),
    feePeriodStartedAt: timestamp("fee_period_started_at", { withTimezone: true }),
    createdAt: createdAt(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [
    check("fee_spent_non_negative", sql`${t.feeSpentStroops} >= 0`),
    check("fee_reserved_non_negative", sql`${t.feeReservedStroops} >= 0`),
    check("contract_capacity_percent_range", sql`${t.contractCapacityPercent} between 1 and 100`),
    check("fee_reset_period_positive", sql`${t.feeResetPeriodSeconds} > 0`),
  ],
);

/**
 * Accounts Quay uses as transaction sources, one lease holder at a time. A lease is a row-level
 * claim with an expiry, renewed while held, so it dies with a crashed holder.
 */
export const channelAccounts = pgTable(
  "channel_accounts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    network: text("network").notNull(),
    publicKey: text("public_key").notNull(),
    /** AES-256-GCM ciphertext of the secret seed under QUAY_MASTER_KEY. */
    secretEncrypted: text("secret_encrypted").notNull(),
    leaseOwner: text("lease_owner"),
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    /**
     * The sequence number the account's next transaction takes, known from its last one in a
     * ledger; null when it must be read from the ledger. A stale value costs one txBadSeq and a
     * re-read, never a wrong transaction: the network accepts only the exact next sequence.
     */
    nextSequence: bigint("next_sequence", { mode: "bigint" }),
    disabledAt: timestamp("disabled_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("channel_accounts_network_key").on(t.network, t.publicKey)],
);

export const submissionStatus = pgEnum("submission_status", [
  "queued", // accepted, waiting for the worker
  "submitting", // a worker holds it; an attempt may be on the wire
  "succeeded", // on chain, SUCCESS
  "failed", // final: never landed, or landed FAILED
  // Final for the engine, for an operator to resolve: the payer's authorisation was consumed (money
  // moved) by a transaction Quay cannot find, or the ledger can no longer tell whether Quay's landed.
  // Never reported failed, never rebuilt.
  "unresolved",
]);

/** What the protocol layer a submission came from calls it (metrics are labelled by it). */
export const submissionKind = pgEnum("submission_kind", [
  "x402", // an x402 payment (POST /settle)
  "mpp_charge", // an MPP charge the relay settles (sponsored or not)
  "mpp_close", // Quay's close of an MPP channel, with the recipient's authorisation
  "ttl_bump", // Quay's own restore or TTL extension of an MPP channel's entries
  "channels", // a call sent through the OZ Channels API
]);

/**
 * How the engine puts a submission on the ledger:
 * - `rebuild`: the caller's operation (a host function with its signed auth entries, or Quay's own
 *   maintenance operation) in a transaction Quay builds on a leased channel account, fee-bumped by
 *   the fund account. Built again (new sequence, fresh simulation) while its authorisation lasts.
 * - `fee_bump`: the caller's signed transaction as it is, in a fee bump from the fund account.
 * - `as_is`: the caller's signed envelope sent unmodified; the caller pays its fee.
 */
export const submissionMode = pgEnum("submission_mode", ["rebuild", "fee_bump", "as_is"]);

/**
 * A sponsored (or relayed) Soroban call: what every protocol layer hands the settlement engine.
 * A submission that carries a payer's address authorisation has that authorisation's (network,
 * address, nonce) as its identity, the unique key here: the network lets the pair be used once,
 * so the constraint, not any process, is what makes it settle at most once.
 */
export const submissions = pgTable(
  "submissions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    network: text("network").notNull(),
    kind: submissionKind("kind").notNull(),
    mode: submissionMode("mode").notNull().default("rebuild"),
    /**
     * The first address authorisation the call carries (the payer of a payment) and its nonce; null
     * for a call that carries none (a TTL bump, a transaction its source signed).
     */
    payer: text("payer"),
    authNonce: text("auth_nonce"),
    /**
     * Hex hash of the caller's signed transaction, for the modes that send it as it is (`fee_bump`,
     * `as_is`): its identity, as the network lets one transaction land once.
     */
    envelopeHash: text("envelope_hash"),
    /**
     * SHA-256 (hex) of the payer's signed root invocation (contract, function, arguments): the
     * submission's terms. The payer chooses the nonce, so the same (payer, nonce) may come with
     * other terms; only the terms recorded here are ever settled or answered for.
     */
    termsHash: text("terms_hash"),
    /** A payment's terms, for the layers that have them (x402, MPP charges). */
    asset: text("asset"),
    payTo: text("pay_to"),
    amount: amount("amount"),
    /** The contract a Channels API call invokes: what its key's allow-list and capacity share apply to. */
    contract: text("contract"),
    /** The caller's transaction as received: what the engine rebuilds from, fee-bumps or sends. */
    clientTransaction: text("client_transaction").notNull(),
    /** The last ledger the authorisation can be used in; null when the transaction's own time bounds say it. */
    signatureExpirationLedger: integer("signature_expiration_ledger"),
    /**
     * Footprint and resources (SorobanTransactionData, base64 XDR, resource fee = the minimum) from
     * the simulation the api ran, and the ledger it ran at: the first build reuses them while they
     * are fresh instead of simulating again.
     */
    simulatedResources: text("simulated_resources"),
    simulatedAtLedger: integer("simulated_at_ledger"),
    apiKeyId: uuid("api_key_id").references(() => apiKeys.id),
    /** Held on the key's budget from acceptance until the submission is final: the most it may cost. */
    feeReservedStroops: bigint("fee_reserved_stroops", { mode: "bigint" }).notNull().default(sql`0`),
    status: submissionStatus("status").notNull().default("queued"),
    txHash: text("tx_hash"),
    ledger: integer("ledger"),
    channelAccount: text("channel_account"),
    feeChargedStroops: bigint("fee_charged_stroops", { mode: "bigint" }),
    reason: text("reason"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    settledAt: timestamp("settled_at", { withTimezone: true }),
    /**
     * When a caller was told the submission succeeded. Set once, by a conditional update: one
     * `success: true` (one delivery) per payment, whatever the number of callers or processes.
     */
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("submissions_identity").on(t.network, t.payer, t.authNonce),
    uniqueIndex("submissions_envelope").on(t.network, t.envelopeHash),
    index("submissions_status").on(t.status),
    index("submissions_contract").on(t.network, t.contract, t.status).where(sql`${t.contract} is not null`),
  ],
);

export const attemptStatus = pgEnum("attempt_status", [
  "built", // signed and about to be sent: its hash is known before it can be on the wire
  "sent", // the RPC accepted it (PENDING)
  "rejected", // the RPC refused it; it never reached a ledger
  "succeeded",
  "failed", // included and FAILED, or its time bounds passed without inclusion
]);

/** Every transaction Quay built (or sent) for a submission, written before it is sent. */
export const submissionAttempts = pgTable(
  "submission_attempts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    submissionId: uuid("submission_id")
      .notNull()
      .references(() => submissions.id),
    channelAccount: text("channel_account").notNull(),
    sequence: text("sequence").notNull(),
    txHash: text("tx_hash").notNull().unique(),
    innerTxHash: text("inner_tx_hash").notNull(),
    feeBidStroops: bigint("fee_bid_stroops", { mode: "bigint" }).notNull(),
    maxTime: bigint("max_time", { mode: "number" }).notNull(),
    envelope: text("envelope").notNull(),
    /** What the ledger charged for it, once it landed (SUCCESS or FAILED); a payment's fee is the sum of its attempts'. */
    feeChargedStroops: bigint("fee_charged_stroops", { mode: "bigint" }),
    status: attemptStatus("status").notNull().default("built"),
    reason: text("reason"),
    details: jsonb("details").$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    index("submission_attempts_submission").on(t.submissionId),
    // At most one transaction of a submission may be able to land at any time: the settle engine
    // checks it under a row lock, and this index makes the database refuse a second live one too.
    uniqueIndex("submission_attempts_one_live").on(t.submissionId).where(sql`${t.status} in ('built', 'sent')`),
  ],
);

// ---------------------------------------------------------------------------------------------
// MPP settlement relayer: sponsored charges, one-way payment channels, and the worker's jobs.
// ---------------------------------------------------------------------------------------------

/**
 * One MPP charge a tenant's server relayed. The challenge id is single-use per tenant (only the
 * tenant's MPP server can mint it), the client's transaction hash single-use across all tenants;
 * both unique keys are claimed in one insert before anything is submitted. Settlement itself is
 * a submission (kind `mpp_charge`), run by the settlement engine.
 */
export const mppCharges = pgTable(
  "mpp_charges",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    apiKeyId: uuid("api_key_id").references(() => apiKeys.id),
    network: text("network").notNull(),
    challengeId: text("challenge_id").notNull(),
    /** Hex hash of the client's transaction as received (not of what Quay submits). */
    innerTxHash: text("inner_tx_hash").notNull(),
    idempotencyKey: text("idempotency_key"),
    externalId: text("external_id"),
    /** Sponsored: the settlement of the rebuilt transaction. */
    submissionId: uuid("submission_id").references(() => submissions.id),
    /** Unsponsored: the client's envelope, submitted unmodified; its hash is known before it is sent. */
    submittedTxHash: text("submitted_tx_hash"),
    /** When a receipt was given for it (unsponsored and push charges; sponsored ones claim their submission's). */
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("mpp_charges_challenge").on(t.tenantId, t.challengeId),
    uniqueIndex("mpp_charges_inner_tx").on(t.innerTxHash),
  ],
);

export const mppChannelState = pgEnum("mpp_channel_state", [
  "open", // vouchers accepted
  "closing", // Quay has a close under way: no more vouchers
  "closed", // Quay's close landed (or the channel was found closed on chain)
]);

/**
 * A one-way payment channel a tenant registered. Funder, recipient, token and waiting period are
 * read from the ledger at registration. The highest voucher (cumulative amount and its signature)
 * lives on this row and only ever moves up, in one conditional update.
 */
export const mppChannels = pgTable(
  "mpp_channels",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    apiKeyId: uuid("api_key_id").references(() => apiKeys.id),
    network: text("network").notNull(),
    address: text("address").notNull(),
    funder: text("funder").notNull(),
    recipient: text("recipient").notNull(),
    token: text("token").notNull(),
    /** Hex of the 32-byte ed25519 key that signs commitments. */
    commitmentKey: text("commitment_key").notNull(),
    wasmHash: text("wasm_hash").notNull(),
    refundWaitingPeriod: integer("refund_waiting_period").notNull(),
    /** What the channel can pay out in all: balance + withdrawn, as last read from the ledger. */
    capacity: amount("capacity").notNull(),
    withdrawn: amount("withdrawn").notNull().default(sql`0`),
    cumulative: amount("cumulative").notNull().default(sql`0`),
    /** Hex signature over the commitment for `cumulative`; null until the first voucher. */
    signature: text("signature"),
    lastVoucherAt: timestamp("last_voucher_at", { withTimezone: true }),
    state: mppChannelState("state").notNull().default("open"),
    /** From a `close` event or the instance storage: the ledger from which the funder can refund. */
    closeEffectiveAtLedger: integer("close_effective_at_ledger"),
    /** AES-256-GCM (libs/vault) of the recipient's seed, context = channel address; never returned. */
    recipientSecretEncrypted: text("recipient_secret_encrypted"),
    idleCloseSeconds: integer("idle_close_seconds"),
    ttlThresholdLedgers: integer("ttl_threshold_ledgers"),
    ttlExtendTo: integer("ttl_extend_to"),
    /** The lowest liveUntilLedgerSeq of the channel's entries at the last TTL check. */
    liveUntilLedger: integer("live_until_ledger"),
    ttlCheckedAt: timestamp("ttl_checked_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("mpp_channels_address").on(t.network, t.address),
    index("mpp_channels_tenant").on(t.tenantId),
    index("mpp_channels_state").on(t.state),
    check("mpp_channels_amounts_non_negative", sql`${t.cumulative} >= 0 and ${t.withdrawn} >= 0`),
  ],
);

/** Every voucher accepted, for audit; the channel row holds the highest. */
export const mppVouchers = pgTable(
  "mpp_vouchers",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    channelId: uuid("channel_id")
      .notNull()
      .references(() => mppChannels.id),
    amount: amount("amount").notNull(),
    signature: text("signature").notNull(),
    challengeId: text("challenge_id"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("mpp_vouchers_amount").on(t.channelId, t.amount), uniqueIndex("mpp_vouchers_challenge").on(t.channelId, t.challengeId)],
);

export const mppCloseStatus = pgEnum("mpp_close_status", [
  "requested", // decided; the close transaction is not built yet
  "submitting", // its submission exists and the settlement engine runs it
  "succeeded",
  "failed",
]);

/**
 * The close of one channel: at most one row per channel, so however often a trigger fires or a
 * job runs, one close exists. The transaction is a submission (kind `mpp_close`) run by the settlement engine.
 */
export const mppCloses = pgTable(
  "mpp_closes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    channelId: uuid("channel_id")
      .notNull()
      .references(() => mppChannels.id),
    /** request | idle | ttl | dispute */
    trigger: text("trigger").notNull(),
    status: mppCloseStatus("status").notNull().default("requested"),
    amount: amount("amount"),
    signature: text("signature"),
    /** Base64 SorobanAuthorizationEntry for close(amount, sig) signed by the recipient, when Quay holds no key. */
    recipientAuth: text("recipient_auth"),
    submissionId: uuid("submission_id").references(() => submissions.id),
    txHash: text("tx_hash"),
    ledger: integer("ledger"),
    paid: amount("paid"),
    refunded: amount("refunded"),
    reason: text("reason"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("mpp_closes_channel").on(t.channelId), index("mpp_closes_status").on(t.status)],
);

/** Where the event watcher is in each network's getEvents stream. */
export const mppEventCursors = pgTable("mpp_event_cursors", {
  network: text("network").primaryKey(),
  cursor: text("cursor"),
  lastLedger: integer("last_ledger").notNull(),
  updatedAt: updatedAt(),
});

/** Channel contract events seen by the watcher; the unique id makes a replayed page harmless. */
export const mppChannelEvents = pgTable(
  "mpp_channel_events",
  {
    id: text("id").primaryKey(),
    channelId: uuid("channel_id")
      .notNull()
      .references(() => mppChannels.id),
    ledger: integer("ledger").notNull(),
    txHash: text("tx_hash").notNull(),
    /** open | close | withdraw | refund */
    kind: text("kind").notNull(),
    amount: amount("amount"),
    effectiveAtLedger: integer("effective_at_ledger"),
    createdAt: createdAt(),
  },
  (t) => [index("mpp_channel_events_channel").on(t.channelId)],
);

/** Restores and TTL extensions Quay paid for. */
export const mppTtlBumps = pgTable(
  "mpp_ttl_bumps",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    channelId: uuid("channel_id")
      .notNull()
      .references(() => mppChannels.id),
    /** restore | extend */
    kind: text("kind").notNull(),
    /** The bump's transaction, a submission (kind `ttl_bump`) the settlement engine runs. */
    submissionId: uuid("submission_id").references(() => submissions.id),
    /** Set once the submission succeeded. */
    txHash: text("tx_hash"),
    entries: integer("entries").notNull(),
    liveUntilLedger: integer("live_until_ledger"),
    createdAt: createdAt(),
  },
  (t) => [index("mpp_ttl_bumps_channel").on(t.channelId)],
);
