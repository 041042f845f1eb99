import { describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { openDatabase } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { VERSION } from "../../src/version";
import { memoryLogger } from "../helpers/memory-log";

function app() {
  const store = openDatabase(":memory:");
  migrate(store.sqlite);
  return { store, app: createApp({ store, log: memoryLogger() }) };
}

describe("GET /health", () => {
  test("is 200 with the version while the database works", async () => {
    const { app: a } = app();
    const res = await a.handle(new Request("http://localhost/health"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: VERSION });
  });

  test("is 503 in the error shape once the database is unusable", async () => {
    const { app: a, store } = app();
    store.sqlite.close();
    const res = await a.handle(new Request("http://localhost/health"));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "unavailable", code: "database_unavailable" });
  });
});
