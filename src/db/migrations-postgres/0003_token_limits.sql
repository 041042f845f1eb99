ALTER TABLE "tokens" ADD COLUMN "rate_limit_requests" integer;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "rate_limit_per_ms" bigint;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "remaining_uses" integer;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "refill_uses" integer;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "refill_every_ms" bigint;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "refilled_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "scopes" jsonb;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "scopes" jsonb;