ALTER TABLE "api_keys" ADD COLUMN "allowed_contracts" text[];--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "contract_capacity_percent" integer;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "fee_reset_period_seconds" integer;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "fee_period_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "submissions" ADD COLUMN "contract" text;--> statement-breakpoint
CREATE INDEX "submissions_contract" ON "submissions" USING btree ("network","contract","status") WHERE "submissions"."contract" is not null;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "contract_capacity_percent_range" CHECK ("api_keys"."contract_capacity_percent" between 1 and 100);--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "fee_reset_period_positive" CHECK ("api_keys"."fee_reset_period_seconds" > 0);