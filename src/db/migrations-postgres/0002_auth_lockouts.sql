CREATE TABLE "auth_lockouts" (
	"key" text PRIMARY KEY NOT NULL,
	"until" timestamp (3) with time zone NOT NULL,
	"noted_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "auth_lockouts_noted_idx" ON "auth_lockouts" USING btree ("noted_at");--> statement-breakpoint
CREATE INDEX "auth_lockouts_until_idx" ON "auth_lockouts" USING btree ("until");