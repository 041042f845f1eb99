-- The change signal for other instances' caches (kept out of schema-postgres.ts: no query reads it
-- through drizzle). Any statement on a table a cache reads bumps the version and notifies on commit,
-- whoever runs it: another instance, the CLI, a restore, hand-written SQL. A transaction that sets
-- keyward.bookkeeping = 'on' (usage counts, last seen, audit, pruning) stays quiet.
CREATE TABLE "keyward_state" (
	"id" integer PRIMARY KEY CHECK ("id" = 1),
	"version" bigint NOT NULL
);
--> statement-breakpoint
INSERT INTO "keyward_state" ("id", "version") VALUES (1, 0);
--> statement-breakpoint
-- search_path is pinned so a session with another one (psql, a restore) still finds keyward_state.
CREATE FUNCTION "keyward_changed"() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
	v bigint;
BEGIN
	IF current_setting('keyward.bookkeeping', true) = 'on' THEN
		RETURN NULL;
	END IF;
	UPDATE "keyward_state" SET "version" = "version" + 1 WHERE "id" = 1 RETURNING "version" INTO v;
	PERFORM pg_notify('keyward_changes', v::text);
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "settings_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "settings" FOR EACH STATEMENT EXECUTE FUNCTION "keyward_changed"();
--> statement-breakpoint
CREATE TRIGGER "tokens_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "tokens" FOR EACH STATEMENT EXECUTE FUNCTION "keyward_changed"();
--> statement-breakpoint
CREATE TRIGGER "users_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "users" FOR EACH STATEMENT EXECUTE FUNCTION "keyward_changed"();
--> statement-breakpoint
CREATE TRIGGER "devices_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "devices" FOR EACH STATEMENT EXECUTE FUNCTION "keyward_changed"();
--> statement-breakpoint
CREATE TRIGGER "device_tokens_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "device_tokens" FOR EACH STATEMENT EXECUTE FUNCTION "keyward_changed"();
--> statement-breakpoint
CREATE TRIGGER "sessions_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "sessions" FOR EACH STATEMENT EXECUTE FUNCTION "keyward_changed"();
