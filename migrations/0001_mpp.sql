CREATE TYPE "public"."mpp_channel_state" AS ENUM('open', 'closing', 'closed');--> statement-breakpoint
CREATE TYPE "public"."mpp_close_status" AS ENUM('requested', 'submitting', 'succeeded', 'failed');--> statement-breakpoint
CREATE TABLE "mpp_channel_events" (
	"id" text PRIMARY KEY NOT NULL,
	"channel_id" uuid NOT NULL,
	"ledger" integer NOT NULL,
	"tx_hash" text NOT NULL,
	"kind" text NOT NULL,
	"amount" numeric(39, 0),
	"effective_at_ledger" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mpp_channels" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"api_key_id" uuid,
	"network" text NOT NULL,
	"address" text NOT NULL,
	"funder" text NOT NULL,
	"recipient" text NOT NULL,
	"token" text NOT NULL,
	"commitment_key" text NOT NULL,
	"wasm_hash" text NOT NULL,
	"refund_waiting_period" integer NOT NULL,
	"capacity" numeric(39, 0) NOT NULL,
	"withdrawn" numeric(39, 0) DEFAULT 0 NOT NULL,
	"cumulative" numeric(39, 0) DEFAULT 0 NOT NULL,
	"signature" text,
	"last_voucher_at" timestamp with time zone,
	"state" "mpp_channel_state" DEFAULT 'open' NOT NULL,
	"close_effective_at_ledger" integer,
	"recipient_secret_encrypted" text,
	"idle_close_seconds" integer,
	"ttl_threshold_ledgers" integer,
	"ttl_extend_to" integer,
	"live_until_ledger" integer,
	"ttl_checked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "mpp_channels_amounts_non_negative" CHECK ("mpp_channels"."cumulative" >= 0 and "mpp_channels"."withdrawn" >= 0)
);
--> statement-breakpoint
CREATE TABLE "mpp_charges" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"api_key_id" uuid,
	"network" text NOT NULL,
	"challenge_id" text NOT NULL,
	"inner_tx_hash" text NOT NULL,
	"idempotency_key" text,
	"external_id" text,
	"payment_id" uuid,
	"submitted_tx_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mpp_closes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"channel_id" uuid NOT NULL,
	"trigger" text NOT NULL,
	"status" "mpp_close_status" DEFAULT 'requested' NOT NULL,
	"amount" numeric(39, 0),
	"signature" text,
	"recipient_auth" text,
	"payment_id" uuid,
	"tx_hash" text,
	"ledger" integer,
	"paid" numeric(39, 0),
	"refunded" numeric(39, 0),
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "mpp_event_cursors" (
	"network" text PRIMARY KEY NOT NULL,
	"cursor" text,
	"last_ledger" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mpp_ttl_bumps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"channel_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"tx_hash" text NOT NULL,
	"entries" integer NOT NULL,
	"live_until_ledger" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mpp_vouchers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"channel_id" uuid NOT NULL,
	"amount" numeric(39, 0) NOT NULL,
	"signature" text NOT NULL,
	"challenge_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mpp_channel_events" ADD CONSTRAINT "mpp_channel_events_channel_id_mpp_channels_id_fk" FOREIGN KEY ("channel_id") REFERENCES "public"."mpp_channels"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mpp_channels" ADD CONSTRAINT "mpp_channels_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mpp_channels" ADD CONSTRAINT "mpp_channels_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mpp_charges" ADD CONSTRAINT "mpp_charges_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mpp_charges" ADD CONSTRAINT "mpp_charges_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mpp_charges" ADD CONSTRAINT "mpp_charges_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mpp_closes" ADD CONSTRAINT "mpp_closes_channel_id_mpp_channels_id_fk" FOREIGN KEY ("channel_id") REFERENCES "public"."mpp_channels"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mpp_closes" ADD CONSTRAINT "mpp_closes_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mpp_ttl_bumps" ADD CONSTRAINT "mpp_ttl_bumps_channel_id_mpp_channels_id_fk" FOREIGN KEY ("channel_id") REFERENCES "public"."mpp_channels"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mpp_vouchers" ADD CONSTRAINT "mpp_vouchers_channel_id_mpp_channels_id_fk" FOREIGN KEY ("channel_id") REFERENCES "public"."mpp_channels"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "mpp_channel_events_channel" ON "mpp_channel_events" USING btree ("channel_id");--> statement-breakpoint
CREATE UNIQUE INDEX "mpp_channels_address" ON "mpp_channels" USING btree ("network","address");--> statement-breakpoint
CREATE INDEX "mpp_channels_tenant" ON "mpp_channels" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "mpp_channels_state" ON "mpp_channels" USING btree ("state");--> statement-breakpoint
CREATE UNIQUE INDEX "mpp_charges_challenge" ON "mpp_charges" USING btree ("tenant_id","challenge_id");--> statement-breakpoint
CREATE UNIQUE INDEX "mpp_charges_inner_tx" ON "mpp_charges" USING btree ("inner_tx_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "mpp_closes_channel" ON "mpp_closes" USING btree ("channel_id");--> statement-breakpoint
CREATE INDEX "mpp_closes_status" ON "mpp_closes" USING btree ("status");--> statement-breakpoint
CREATE INDEX "mpp_ttl_bumps_channel" ON "mpp_ttl_bumps" USING btree ("channel_id");--> statement-breakpoint
CREATE UNIQUE INDEX "mpp_vouchers_amount" ON "mpp_vouchers" USING btree ("channel_id","amount");--> statement-breakpoint
CREATE UNIQUE INDEX "mpp_vouchers_challenge" ON "mpp_vouchers" USING btree ("channel_id","challenge_id");