import { defineConfig } from "drizzle-kit";

// The PostgreSQL side of drizzle.config.ts (npm run db:generate runs both). drizzle-kit writes no
// migrations.js for PostgreSQL: scripts/migrations-index.ts writes it, so the binary can embed them.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema-postgres.ts",
  out: "./src/db/migrations-postgres",
});
