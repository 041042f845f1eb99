import { defineConfig } from "drizzle-kit";

// The "durable-sqlite" driver makes drizzle-kit also write migrations.js, an index that imports
// every generated .sql file: that is what lets `bun build --compile` embed them in the binary.
export default defineConfig({
  dialect: "sqlite",
  driver: "durable-sqlite",
  schema: "./src/db/schema.ts",
  out: "./src/db/migrations",
});
