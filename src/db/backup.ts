import { Database } from "bun:sqlite";
import { getTableName } from "drizzle-orm";
import { existsSync, rmSync, statSync } from "node:fs";
import { DomainError } from "../lib/errors";
import { DatabaseError, openDatabase, type SqliteStore } from "./client";
import { migrate, migrations } from "./migrate";
import { tablesParentsFirst } from "./schema";

/**
 * A consistent copy of the live database, made with VACUUM INTO: it reads one snapshot, so
 * writes the server makes meanwhile are either wholly in it or not at all.
 */
export function backupDatabase(store: SqliteStore, target: string): { bytes: number } {
  refuseExisting(target);
  try {
    store.sqlite.run("VACUUM INTO ?", [target]);
  } catch (error) {
    throw new DatabaseError(`cannot write the backup ${target}: ${(error as Error).message}`);
  }
  return { bytes: statSync(target).size };
}

/** A backup never overwrites a file: it may be the only other copy. */
export function refuseExisting(target: string): void {
  if (existsSync(target)) throw new DomainError("conflict", "backup_exists", `${target} exists already; choose another name`);
}

/** Checks a backup before it replaces anything: a readable SQLite file, intact, of a known schema. */
export function checkBackup(file: string): { schema: string } {
  if (!existsSync(file)) throw new DomainError("not_found", "backup_not_found", `${file}: no such file`);
  let db: Database | undefined;
  try {
    db = new Database(file, { readonly: true });
    const integrity = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").get();
    if (integrity?.integrity_check !== "ok") throw new Error(`integrity check failed: ${integrity?.integrity_check}`);
    const tables = db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name);
    if (!tables.includes("__drizzle_migrations") || !tables.includes("settings")) throw new Error("it is not a Keyward database");
    const last = db.query<{ at: number }, []>(`SELECT max(created_at) AS at FROM "__drizzle_migrations"`).get()?.at ?? 0;
    const known = migrations.findLast((m) => m.createdAt <= Number(last));
    if (Number(last) > migrations.at(-1)!.createdAt) throw new Error("it was written by a newer Keyward");
    return { schema: known?.tag ?? "none" };
  } catch (error) {
    throw new DomainError("invalid", "bad_backup", `${file} cannot be restored: ${(error as Error).message}`);
  } finally {
    db?.close();
  }
}

/** The tables a restore swaps in, in the order it fills them (see tablesParentsFirst). */
export const restoredTables: readonly string[] = tablesParentsFirst.map((table) => getTableName(table));

/** A checked backup, copied to `staged` and migrated to this build's schema; the copy is open. */
export interface StagedBackup {
  store: SqliteStore;
  applied: string[];
  /** Closes the copy and removes its files. */
  discard(): Promise<void>;
}

/**
 * Checks `backup`, then copies it to `staged` with VACUUM INTO through a read-only connection:
 * a live file given as the backup may hold commits in a -wal beside it, which a plain file copy
 * would leave behind. The copy is migrated (a backup from an older build is upgraded).
 */
export async function stageBackup(backup: string, staged: string): Promise<StagedBackup> {
  checkBackup(backup);
  const discardFiles = () => {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${staged}${suffix}`, { force: true });
  };
  const source = new Database(backup, { readonly: true });
  try {
    source.run("VACUUM INTO ?", [staged]);
  } catch (error) {
    discardFiles();
    throw new DatabaseError(`cannot copy the backup ${backup} to ${staged}: ${(error as Error).message}`);
  } finally {
    source.close();
  }
  let store: SqliteStore | undefined;
  try {
    store = openDatabase(staged);
    const { applied } = migrate(store);
    const opened = store;
    return {
      store,
      applied,
      async discard() {
        await opened.close();
        discardFiles();
      },
    };
  } catch (error) {
    await store?.close();
    discardFiles();
    throw error;
  }
}

/** Where a restore keeps the contents it replaces, unless told: `<base>-<time>`, the time safe in a file name. */
export const keptName = (base: string, now: Date) => `${base}-${now.toISOString().replace(/[:.]/g, "-")}`;

/**
 * Replaces the database's contents with a checked backup. The backup is first staged (copied and
 * migrated), the current contents are kept (`keep`, else a file beside the database), then every
 * table is swapped in one transaction: a running server sees the old data or the new, never a
 * mix, and need not be stopped.
 */
export async function restoreDatabase(
  store: SqliteStore,
  backup: string,
  { now = new Date(), keep }: { now?: Date; keep?: string } = {},
): Promise<{ keptAs: string; applied: string[] }> {
  const keptAs = keep ?? keptName(`${store.path}.before-restore`, now);
  refuseExisting(keptAs);
  const staged = await stageBackup(backup, keptName(`${store.path}.restoring`, now));
  try {
    await staged.store.close();
    backupDatabase(store, keptAs);
    store.sqlite.run("ATTACH DATABASE ? AS restored", [staged.store.path]);
    try {
      await store.write(() => {
        store.sqlite.run("PRAGMA defer_foreign_keys = ON");
        for (const table of [...restoredTables].reverse()) store.sqlite.run(`DELETE FROM main."${table}"`);
        for (const table of restoredTables) store.sqlite.run(`INSERT INTO main."${table}" SELECT * FROM restored."${table}"`);
      });
      store.changes.changed();
    } finally {
      store.sqlite.run("DETACH DATABASE restored");
    }
    return { keptAs, applied: staged.applied };
  } finally {
    await staged.discard();
  }
}
