CREATE TYPE "public"."attempt_status" AS ENUM('built', 'sent', 'rejected', 'succeeded', 'failed');--> statement-breakpoint
CREATE TYPE "public"."payment_status" AS ENUM('queued', 'submitting', 'succeeded', 'failed');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"key_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"networks" text[] NOT NULL,
	"fee_budget_stroops" bigint,
	"fee_spent_stroops" bigint DEFAULT 0 NOT NULL,
	"rate_limit_per_minute" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash"),
	CONSTRAINT "fee_spent_non_negative" CHECK ("api_keys"."fee_spent_stroops" >= 0)
);
--> statement-breakpoint
CREATE TABLE "channel_accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"network" text NOT NULL,
	"public_key" text NOT NULL,
	"secret_encrypted" text NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"disabled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payment_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"payment_id" uuid NOT NULL,
	"channel_account" text NOT NULL,
	"sequence" text NOT NULL,
	"tx_hash" text NOT NULL,
	"inner_tx_hash" text NOT NULL,
	"fee_bid_stroops" bigint NOT NULL,
	"max_time" bigint NOT NULL,
	"envelope" text NOT NULL,
	"status" "attempt_status" DEFAULT 'built' NOT NULL,
	"reason" text,
	"details" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "payment_attempts_tx_hash_unique" UNIQUE("tx_hash")
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"network" text NOT NULL,
	"payer" text NOT NULL,
	"auth_nonce" text NOT NULL,
	"asset" text NOT NULL,
	"pay_to" text NOT NULL,
	"amount" numeric(39, 0) NOT NULL,
	"client_transaction" text NOT NULL,
	"signature_expiration_ledger" integer NOT NULL,
	"api_key_id" uuid,
	"status" "payment_status" DEFAULT 'queued' NOT NULL,
	"tx_hash" text,
	"ledger" integer,
	"channel_account" text,
	"fee_charged_stroops" bigint,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"settled_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD CONSTRAINT "payment_attempts_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "channel_accounts_network_key" ON "channel_accounts" USING btree ("network","public_key");--> statement-breakpoint
CREATE INDEX "payment_attempts_payment" ON "payment_attempts" USING btree ("payment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_identity" ON "payments" USING btree ("network","payer","auth_nonce");--> statement-breakpoint
CREATE INDEX "payments_status" ON "payments" USING btree ("status");