import type { SqliteStore } from "./client";
import bundle from "./migrations/migrations.js";

/** One drizzle-kit migration, embedded in the binary through migrations.js. */
export interface Migration {
  tag: string;
  createdAt: number;
  hash: string;
  statements: string[];
}

export interface MigrationReport {
  applied: string[];
  current: string;
}

/** The database was written by a newer build: running older code on it could corrupt it. */
export class SchemaTooNewError extends Error {}

/** What a drizzle-kit migrations folder's migrations.js exports: its journal and each file's SQL. */
export interface MigrationBundle {
  journal: { entries: { idx: number; tag: string; when: number }[] };
  migrations: Record<string, string | undefined>;
}

/** The migrations of a bundle, in journal order. */
export function migrationsOf(bundle: MigrationBundle): Migration[] {
  return bundle.journal.entries.map((entry) => {
    const sql = bundle.migrations[`m${String(entry.idx).padStart(4, "0")}`];
    if (sql === undefined) throw new Error(`migration ${entry.tag} is missing from migrations.js`);
    return {
      tag: entry.tag,
      createdAt: entry.when,
      hash: new Bun.CryptoHasher("sha256").update(sql).digest("hex"),
      statements: sql.split("--> statement-breakpoint").filter((s) => s.trim() !== ""),
    };
  });
}

export const migrations = migrationsOf(bundle);

/** The migrations after the last one applied (`lastApplied`, its drizzle-kit timestamp), refusing a database from a newer build. */
export function pendingAfter(lastApplied: number, available: Migration[]): MigrationReport & { pending: Migration[] } {
  const newest = available.at(-1);
  if (newest && lastApplied > newest.createdAt) {
    throw new SchemaTooNewError(`the database was written by a newer Keyward (its schema is ahead of ${newest.tag}); refusing to use it`);
  }
  const pending = available.filter((m) => m.createdAt > lastApplied);
  return { pending, applied: pending.map((m) => m.tag), current: newest?.tag ?? "none" };
}

/**
 * Applies the pending migrations in one IMMEDIATE transaction. The bookkeeping table is the one
 * drizzle-kit uses; taking the write lock before reading it means a CLI process and the server
 * starting together cannot both apply the same migration.
 */
export function migrate({ sqlite }: SqliteStore, available: Migration[] = migrations): MigrationReport {
  const run = sqlite.transaction((): MigrationReport => {
    sqlite.run(
      `CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
    );
    const last = sqlite
      .query<{ created_at: number }, []>(
        `SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1`,
      )
      .get();
    const { pending, applied, current } = pendingAfter(last ? Number(last.created_at) : 0, available);
    const record = sqlite.prepare(`INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)`);
    for (const migration of pending) {
      for (const statement of migration.statements) sqlite.run(statement);
      record.run(migration.hash, migration.createdAt);
    }
    return { applied, current };
  });
  return run.immediate();
}
