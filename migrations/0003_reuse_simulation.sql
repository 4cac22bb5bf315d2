ALTER TABLE "channel_accounts" ADD COLUMN "next_sequence" bigint;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "simulated_resources" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "simulated_at_ledger" integer;