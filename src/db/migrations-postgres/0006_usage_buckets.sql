CREATE TABLE "usage_buckets" (
	"resolution" text NOT NULL,
	"start" timestamp (3) with time zone NOT NULL,
	"series" text NOT NULL,
	"outcome" text NOT NULL,
	"reason" text NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "usage_buckets_resolution_series_outcome_reason_start_pk" PRIMARY KEY("resolution","series","outcome","reason","start")
);
--> statement-breakpoint
CREATE INDEX "usage_buckets_series_idx" ON "usage_buckets" USING btree ("resolution","series","start");--> statement-breakpoint
CREATE INDEX "usage_buckets_start_idx" ON "usage_buckets" USING btree ("resolution","start");