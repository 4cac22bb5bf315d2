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
 * listings without it being usable. `feeSpentStroops` is charged in the same transaction that
 * records a settlement's fee, so a budget can't be overspent by concurrent settles.
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
    rateLimitPerMinute: integer("rate_limit_per_minute"),
    createdAt: createdAt(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [check("fee_spent_non_negative", sql`${t.feeSpentStroops} >= 0`)],
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
    disabledAt: timestamp("disabled_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("channel_accounts_network_key").on(t.network, t.publicKey)],
);

export const paymentStatus = pgEnum("payment_status", [
  "queued", // accepted by /settle, waiting for the worker
  "submitting", // a worker holds it; an attempt may be on the wire
  "succeeded", // on chain, SUCCESS
  "failed", // final: never landed, or landed FAILED
]);

/**
 * One x402 payment. A payment is the payer's signed auth entry: the network lets an (address,
 * nonce) pair be used once, so that pair is the payment's identity and its unique key here —
 * the constraint, not any process, is what makes settlement happen at most once.
 */
export const payments = pgTable(
  "payments",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    network: text("network").notNull(),
    payer: text("payer").notNull(),
    authNonce: text("auth_nonce").notNull(),
    asset: text("asset").notNull(),
    payTo: text("pay_to").notNull(),
    amount: amount("amount").notNull(),
    /** The buyer's transaction as received: what a resumed job rebuilds from. */
    clientTransaction: text("client_transaction").notNull(),
    signatureExpirationLedger: integer("signature_expiration_ledger").notNull(),
    apiKeyId: uuid("api_key_id").references(() => apiKeys.id),
    status: paymentStatus("status").notNull().default("queued"),
    txHash: text("tx_hash"),
    ledger: integer("ledger"),
    channelAccount: text("channel_account"),
    feeChargedStroops: bigint("fee_charged_stroops", { mode: "bigint" }),
    reason: text("reason"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    settledAt: timestamp("settled_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("payments_identity").on(t.network, t.payer, t.authNonce),
    index("payments_status").on(t.status),
  ],
);

export const attemptStatus = pgEnum("attempt_status", [
  "built", // signed and about to be sent: its hash is known before it can be on the wire
  "sent", // the RPC accepted it (PENDING)
  "rejected", // the RPC refused it; it never reached a ledger
  "succeeded",
  "failed", // included and FAILED, or its time bounds passed without inclusion
]);

/** Every transaction Quay built for a payment, written before it is sent. */
export const paymentAttempts = pgTable(
  "payment_attempts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    paymentId: uuid("payment_id")
      .notNull()
      .references(() => payments.id),
    channelAccount: text("channel_account").notNull(),
    sequence: text("sequence").notNull(),
    txHash: text("tx_hash").notNull().unique(),
    innerTxHash: text("inner_tx_hash").notNull(),
    feeBidStroops: bigint("fee_bid_stroops", { mode: "bigint" }).notNull(),
    maxTime: bigint("max_time", { mode: "number" }).notNull(),
    envelope: text("envelope").notNull(),
    status: attemptStatus("status").notNull().default("built"),
    reason: text("reason"),
    details: jsonb("details").$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [index("payment_attempts_payment").on(t.paymentId)],
);
