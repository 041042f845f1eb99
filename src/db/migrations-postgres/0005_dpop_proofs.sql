-- DPoP proofs spent in the last minute, shared by every instance so that a captured proof is not
-- replayed at another one (kept out of schema-postgres.ts: a single SQLite server keeps them in
-- memory). The key is the SHA-256 of the proof's key thumbprint and jti; rows past forget_at are pruned.
CREATE TABLE "keyward_dpop_proofs" (
	"key" text PRIMARY KEY,
	"forget_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "keyward_dpop_proofs_forget_at_idx" ON "keyward_dpop_proofs" ("forget_at");
