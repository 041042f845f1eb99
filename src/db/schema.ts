import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Server-wide values that must survive restarts and travel with the database
 * (signing keys generated at first start, for example), so a backup restores them too.
 */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});
