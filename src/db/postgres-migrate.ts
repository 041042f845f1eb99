import { type Migration, type MigrationReport, migrationsOf, pendingAfter } from "./migrate";
import bundle from "./migrations-postgres/migrations.js";
import type { SQL } from "bun";

/** Advisory lock keys (two int4s: "kw" and a number), each held for a transaction's length. */
export const LOCK = { space: 0x6b77, migrate: 1, write: 2 } as const;

export const postgresMigrations: Migration[] = migrationsOf(bundle);

/**
 * Applies the pending migrations in one transaction, all or nothing (PostgreSQL's DDL is
 * transactional). The advisory lock comes first, before even the bookkeeping table's CREATE IF NOT
 * EXISTS (two of those at once can collide): instances starting together migrate once, the others
 * waiting, then finding nothing to do.
 */
export async function migratePostgres(sql: SQL, available: Migration[] = postgresMigrations): Promise<MigrationReport> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK.space}::int4, ${LOCK.migrate}::int4)`;
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`);
    const [last] = await tx.unsafe<{ created_at: string }[]>(`SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1`);
    const { pending, applied, current } = pendingAfter(last ? Number(last.created_at) : 0, available);
    for (const migration of pending) {
      for (const statement of migration.statements) await tx.unsafe(statement);
      await tx`INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (${migration.hash}, ${migration.createdAt})`;
    }
    return { applied, current };
  });
}
