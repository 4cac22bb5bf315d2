ALTER TYPE "public"."payment_status" ADD VALUE 'unresolved';--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD COLUMN "fee_charged_stroops" bigint;