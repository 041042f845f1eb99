import { describe, expect, test } from "bun:test";
import { VERSION } from "../../src/version";
import { inProcessApp as app } from "../helpers/app";

describe("GET /health", () => {
  test("is 200 with the version while the database works", async () => {
    const { app: a } = await app();
    const res = await a.handle(new Request("http://localhost/health"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: VERSION });
  });

  test("is 503 in the error shape once the database is unusable", async () => {
    const { app: a, store } = await app();
    await store.close();
    const res = await a.handle(new Request("http://localhost/health"));
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "unavailable", version: VERSION, error: "The database cannot be read", code: "database_unavailable", detail: "The database cannot be read" });
  });
});
