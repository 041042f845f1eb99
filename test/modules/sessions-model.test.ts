import { describe, expect, test } from "bun:test";
import { sessions } from "../../src/db/schema";
import { openAt, Sessions, type KnownSession } from "../../src/modules/portal/sessions";
import { inProcessApp } from "../helpers/app";
import { memoryStore } from "../helpers/database";

const HOUR = 3_600_000;

describe("which sessions are open", () => {
  test("the list's query condition picks exactly the sessions whyEnded calls neither ended nor expired, at every boundary", () => {
    const store = memoryStore();
    const lifetimes = { idleMs: HOUR, maxMs: 3 * HOUR };
    const rules = new Sessions(store, lifetimes);
    const T = 1_800_000_000_000;
    const around = (at: number) => [at - 1, at, at + 1];
    const cases = around(T - 3 * HOUR).flatMap((createdAt) =>
      [...around(T - HOUR), T].flatMap((lastSeenAt) => [null, ...around(T)].map((endedAt) => ({ createdAt, lastSeenAt, endedAt }))),
    );
    cases.forEach(({ createdAt, lastSeenAt, endedAt }, i) =>
      store.db
        .insert(sessions)
        .values({ id: `ses_${i}`, hash: `h${i}`, user: "alice", ip: "127.0.0.1", createdAt: new Date(createdAt), lastSeenAt: new Date(lastSeenAt), endedAt: endedAt === null ? null : new Date(endedAt) })
        .run(),
    );
    const account = { role: "user", disabled: false };
    const open = cases.flatMap((session, i) => {
      const known: KnownSession = { id: `ses_${i}`, ...session, account, granted: null };
      return rules.whyEnded(known, T) === null ? [known.id] : [];
    });
    expect(open.length).toBeGreaterThan(0);
    expect(open.length).toBeLessThan(cases.length);
    const picked = store.db.select({ id: sessions.id }).from(sessions).where(openAt(sessions, lifetimes, T)).all();
    expect(picked.map((row) => row.id).sort()).toEqual(open.sort());
  });
});

describe("the OpenAPI document", () => {
  test("describes the list's fields (no hash) and the end's 204 as an answer without a body", async () => {
    const app = await inProcessApp();
    const document = await (await app.fetch("/swagger/json")).json();
    const list = document.paths["/api/v1/sessions"].get;
    expect(list.description).toContain("written at most once a minute");
    expect(Object.keys(list.responses[200].content["application/json"].schema.items.properties).sort()).toEqual(["created_at", "expires_at", "id", "ip", "last_seen_at", "user"]);
    expect(list.responses[200].headers["X-Next-Cursor"]).toBeDefined();
    const end = document.paths["/api/v1/sessions/{id}"].delete;
    expect(end.responses[204]).toEqual({ description: "Ended" });
    expect(Object.keys(end.responses).sort()).toEqual(["204", "401", "403", "404", "422", "429", "500", "503"]);
  });
});
