-- The payments queue becomes the settlement core's submissions: every sponsored call, whatever
-- protocol layer made it. Renames keep every row, id and constraint's meaning.
ALTER TYPE "public"."payment_status" RENAME TO "submission_status";--> statement-breakpoint
CREATE TYPE "public"."submission_kind" AS ENUM('x402', 'mpp_charge', 'mpp_close', 'ttl_bump', 'channels');--> statement-breakpoint
CREATE TYPE "public"."submission_mode" AS ENUM('rebuild', 'fee_bump', 'as_is');--> statement-breakpoint
ALTER TABLE "payments" RENAME TO "submissions";--> statement-breakpoint
ALTER INDEX "payments_identity" RENAME TO "submissions_identity";--> statement-breakpoint
ALTER INDEX "payments_status" RENAME TO "submissions_status";--> statement-breakpoint
ALTER TABLE "submissions" RENAME CONSTRAINT "payments_pkey" TO "submissions_pkey";--> statement-breakpoint
ALTER TABLE "submissions" RENAME CONSTRAINT "payments_api_key_id_api_keys_id_fk" TO "submissions_api_key_id_api_keys_id_fk";--> statement-breakpoint
ALTER TABLE "submissions" ADD COLUMN "kind" "submission_kind";--> statement-breakpoint
ALTER TABLE "submissions" ADD COLUMN "mode" "submission_mode" DEFAULT 'rebuild' NOT NULL;--> statement-breakpoint
ALTER TABLE "submissions" ADD COLUMN "envelope_hash" text;--> statement-breakpoint
UPDATE "submissions" SET "kind" = CASE
  WHEN "id" IN (SELECT "payment_id" FROM "mpp_closes" WHERE "payment_id" IS NOT NULL) THEN 'mpp_close'::"submission_kind"
  WHEN "id" IN (SELECT "payment_id" FROM "mpp_charges" WHERE "payment_id" IS NOT NULL) THEN 'mpp_charge'::"submission_kind"
  ELSE 'x402'::"submission_kind" END;--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "kind" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "payer" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "auth_nonce" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "asset" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "pay_to" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "amount" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "signature_expiration_ledger" DROP NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "submissions_envelope" ON "submissions" USING btree ("network","envelope_hash");--> statement-breakpoint
ALTER TABLE "payment_attempts" RENAME TO "submission_attempts";--> statement-breakpoint
ALTER TABLE "submission_attempts" RENAME COLUMN "payment_id" TO "submission_id";--> statement-breakpoint
ALTER INDEX "payment_attempts_payment" RENAME TO "submission_attempts_submission";--> statement-breakpoint
ALTER INDEX "payment_attempts_one_live" RENAME TO "submission_attempts_one_live";--> statement-breakpoint
ALTER TABLE "submission_attempts" RENAME CONSTRAINT "payment_attempts_pkey" TO "submission_attempts_pkey";--> statement-breakpoint
ALTER TABLE "submission_attempts" RENAME CONSTRAINT "payment_attempts_tx_hash_unique" TO "submission_attempts_tx_hash_unique";--> statement-breakpoint
ALTER TABLE "submission_attempts" RENAME CONSTRAINT "payment_attempts_payment_id_payments_id_fk" TO "submission_attempts_submission_id_submissions_id_fk";--> statement-breakpoint
ALTER TABLE "mpp_charges" RENAME COLUMN "payment_id" TO "submission_id";--> statement-breakpoint
ALTER TABLE "mpp_charges" RENAME CONSTRAINT "mpp_charges_payment_id_payments_id_fk" TO "mpp_charges_submission_id_submissions_id_fk";--> statement-breakpoint
ALTER TABLE "mpp_closes" RENAME COLUMN "payment_id" TO "submission_id";--> statement-breakpoint
ALTER TABLE "mpp_closes" RENAME CONSTRAINT "mpp_closes_payment_id_payments_id_fk" TO "mpp_closes_submission_id_submissions_id_fk";--> statement-breakpoint
ALTER TABLE "mpp_ttl_bumps" ADD COLUMN "submission_id" uuid;--> statement-breakpoint
ALTER TABLE "mpp_ttl_bumps" ALTER COLUMN "tx_hash" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "mpp_ttl_bumps" ADD CONSTRAINT "mpp_ttl_bumps_submission_id_submissions_id_fk" FOREIGN KEY ("submission_id") REFERENCES "public"."submissions"("id") ON DELETE no action ON UPDATE no action;
