ALTER TABLE "api_keys" ADD COLUMN "fee_reserved_stroops" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "mpp_charges" ADD COLUMN "delivered_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "terms_hash" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "fee_reserved_stroops" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "delivered_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "fee_reserved_non_negative" CHECK ("api_keys"."fee_reserved_stroops" >= 0);--> statement-breakpoint
-- Payments settled before this migration were answered success:true already: their delivery is claimed.
UPDATE "payments" SET "delivered_at" = coalesce("settled_at", "updated_at") WHERE "status" = 'succeeded';--> statement-breakpoint
UPDATE "mpp_charges" SET "delivered_at" = "created_at" WHERE "payment_id" IS NULL;
