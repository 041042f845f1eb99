import { describe, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { tablesOf, type Db, type Store } from "../../src/db/client";
import { listAudit, recordAudit } from "../../src/modules/audit/service";
import { listDevices } from "../../src/modules/devices/service";
import { issueToken, listTokens } from "../../src/modules/tokens/service";
import { listUsers } from "../../src/modules/users/service";
import { inProcessApp } from "../helpers/app";
import { sqliteOnlyDescribe } from "../helpers/engine";

const ADMIN = "pagination-admin-token-0123456789";
const actor = { name: "admin" };

/** The in-process app and calls to it as the admin; the clock for seeded rows starts a day ago. */
async function setup() {
  const running = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN, KEYWARD_DEVICE_ENROLLMENT: "open" });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await running.app.handle(
      new Request(`http://localhost${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    return { status: res.status, body: (await res.json()) as any, next: res.headers.get("x-next-cursor") };
  };
  return { ...running, db: running.store.db, call };
}

type Key = [time: number, id: string | number];

interface List {
  name: string;
  /** The list's path with a filter that matches exactly the seeded rows (and the one added mid-way). */
  path: string;
  /** Inserts one row at `at` and returns its sort key. */
  seed(store: Store, i: number, at: Date): Key | Promise<Key>;
  /** Adds a row that matches the filter, through the API, as a user would between two pages. */
  add(call: Awaited<ReturnType<typeof setup>>["call"]): Promise<unknown>;
  keyOf(record: any): Key;
}

const lists: List[] = [
  {
    name: "tokens",
    path: "/api/v1/tokens?user=Seeded",
    seed: async (store, i, at) => {
      const { row } = await issueToken(store, { user: "seeded", name: `t${i}`, lifetimeMs: null, source: "cli" }, actor, at);
      return [at.getTime(), row.id];
    },
    add: (call) => call("POST", "/api/v1/tokens", { user: "seeded", name: "added between pages" }),
    keyOf: (r) => [Date.parse(r.created_at), r.id],
  },
  {
    name: "users",
    path: "/api/v1/users",
    seed: async (store, i, at) => {
      // The listing does not care about passwords: a fixed hash keeps 250 users fast.
      await store.write((tx) => tx.insert(tablesOf(tx).users).values({ username: `user${String(i).padStart(3, "0")}`, passwordHash: "x", createdAt: at, updatedAt: at }));
      return [at.getTime(), `user${String(i).padStart(3, "0")}`];
    },
    add: (call) => call("POST", "/api/v1/users", { username: "added", password: "correct horse battery" }),
    keyOf: (r) => [Date.parse(r.created_at), r.username],
  },
  {
    name: "devices",
    path: "/api/v1/devices?status=active",
    seed: async (store, i, at) => {
      const id = `dev_${String(i).padStart(16, "0")}`;
      await store.write((tx) => tx.insert(tablesOf(tx).devices).values({ id, fingerprint: `fp-${i}`, status: "active", firstSeen: at, lastSeen: at }));
      return [at.getTime(), id];
    },
    add: (call) => call("POST", "/api/v1/tokens/main", { hardware_fingerprint: "added-between-pages" }),
    keyOf: (r) => [Date.parse(r.first_seen), r.id],
  },
  {
    name: "audit",
    path: "/api/v1/audit?user=SEEDED",
    seed: async (store, i, at) => {
      await store.write((tx) => recordAudit(tx, { action: "login.failed", user: "seeded", detail: `e${i}` }, at));
      return [at.getTime(), i + 1];
    },
    add: (call) => call("POST", "/api/v1/tokens", { user: "seeded" }),
    keyOf: (r) => [Date.parse(r.at), r.id],
  },
];

const newestFirst = (a: Key, b: Key) => b[0] - a[0] || (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0);

/**
 * 250 rows, seven to each second, so pages of 100 end in the middle of a run of rows with one
 * time, and only the id can tell where the next page starts.
 */
async function seed250(store: Store, list: List): Promise<Key[]> {
  const start = Date.now() - 86_400_000;
  const keys: Key[] = [];
  for (let i = 0; i < 250; i++) keys.push(await list.seed(store, i, new Date(start + Math.floor(i / 7) * 1000)));
  return keys.sort(newestFirst);
}

describe.each(lists)("listing $name a page at a time", (list) => {
  test("250 rows in pages of 100 come as 100, 100, 50, newest first, none twice, none missed, even with a row added between pages", async () => {
    const { store, call } = await setup();
    const expected = await seed250(store, list);
    const join = list.path.includes("?") ? "&" : "?";

    const first = await call("GET", `${list.path}${join}limit=100`);
    expect(first.status).toBe(200);
    await list.add(call);
    const second = await call("GET", `${list.path}${join}limit=100&cursor=${first.next}`);
    const third = await call("GET", `${list.path}${join}limit=100&cursor=${second.next}`);

    expect([first.body.length, second.body.length, third.body.length]).toEqual([100, 100, 50]);
    expect(third.next).toBeNull();
    const seen = [...first.body, ...second.body, ...third.body].map(list.keyOf);
    expect(seen).toEqual(expected);

    // The added row is real and matches the filter: it leads the list from the top.
    const again = await call("GET", `${list.path}${join}limit=1`);
    expect(list.keyOf(again.body[0])[0]).toBeGreaterThan(expected[0]![0]);
  });

  test("the default page is 100 rows and limit up to 500 is honoured", async () => {
    const { store, call } = await setup();
    await seed250(store, list);
    const join = list.path.includes("?") ? "&" : "?";
    const byDefault = await call("GET", list.path);
    expect(byDefault.body).toHaveLength(100);
    expect(byDefault.next).not.toBeNull();
    const all = await call("GET", `${list.path}${join}limit=500`);
    expect(all.body).toHaveLength(250);
    expect(all.next).toBeNull();
  });
});

describe("a bad page request is a 422 in the error shape, never a 500", () => {
  const otherList = Buffer.from(JSON.stringify(["users", Date.now(), "alice"])).toString("base64url");
  const cases: [string, string, string][] = [
    ["a limit over 500", "limit=501", "validation_failed"],
    ["a limit of 0", "limit=0", "validation_failed"],
    ["a limit that is not a number", "limit=ten", "validation_failed"],
    ["a cursor that is not base64url", "cursor=not%20a%20cursor!", "invalid_cursor"],
    ["a cursor that is base64url but not JSON", `cursor=${Buffer.from("{oops").toString("base64url")}`, "invalid_cursor"],
    ["a cursor with a time that is not a number", `cursor=${Buffer.from('["tokens","soon","tok_x"]').toString("base64url")}`, "invalid_cursor"],
    ["a cursor with a time no date can hold", `cursor=${Buffer.from('["tokens",9007199254740991,"tok_x"]').toString("base64url")}`, "invalid_cursor"],
    ["a cursor far too long", `cursor=${"A".repeat(401)}`, "validation_failed"],
  ];
  test.each(lists.flatMap((list) => cases.map(([what, query, code]) => [list.name, what, list.path, query, code] as const)))(
    "%s: %s",
    async (_, __, path, query, code) => {
      const { call } = await setup();
      const res = await call("GET", `${path}${path.includes("?") ? "&" : "?"}${query}`);
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ error: expect.any(String), code, detail: expect.any(String) });
    },
  );

  test.each(["tokens", "devices", "audit"])("a users cursor given to %s is refused", async (name) => {
    const { call } = await setup();
    const res = await call("GET", `/api/v1/${name}?cursor=${otherList}`);
    expect(res).toMatchObject({ status: 422, body: { code: "invalid_cursor" } });
  });
});

describe("the list services check a page request themselves, as the CLI calls them directly", () => {
  const services: [string, (db: Db, request: { limit?: number; cursor?: string }) => unknown][] = [
    ["tokens", (db, request) => listTokens(db, request)],
    ["users", (db, request) => listUsers(db, request)],
    ["devices", (db, request) => listDevices(db, request)],
    ["audit", (db, request) => listAudit(db, request)],
  ];
  test.each(services)("%s: a limit out of 1–500 and a foreign cursor are refused", async (_, list) => {
    const { db } = await setup();
    // A service refuses by throwing or by rejecting, whichever it is yet.
    const attempt = async (run: () => unknown) => run();
    for (const limit of [0, 501, 1.5]) await expect(attempt(() => list(db, { limit }))).rejects.toThrow(expect.objectContaining({ kind: "invalid", code: "invalid_limit" }));
    await expect(attempt(() => list(db, { cursor: "bm90IGEgY3Vyc29y" }))).rejects.toThrow(expect.objectContaining({ kind: "invalid", code: "invalid_cursor" }));
  });
});

/** Records each statement the database prepares, and how many rows each one hands back. */
function watch(sqlite: Database) {
  const statements: { sql: string; rows: number }[] = [];
  const prepare = sqlite.prepare.bind(sqlite);
  sqlite.prepare = ((sql: string) => {
    const statement = prepare(sql);
    const entry = { sql, rows: 0 };
    statements.push(entry);
    for (const method of ["all", "values"] as const) {
      const original = statement[method].bind(statement);
      (statement as any)[method] = (...params: any[]) => {
        const rows = (original as any)(...params);
        entry.rows += rows.length;
        return rows;
      };
    }
    return statement;
  }) as typeof sqlite.prepare;
  return statements;
}

sqliteOnlyDescribe("watches SQLite's statements and reads its query plans")("a list never reads a whole table", () => {
  const plans: [string, string, string][] = [
    ["tokens", "/api/v1/tokens?limit=20", "tokens_created_idx"],
    ["tokens", "/api/v1/tokens?limit=20&active=true", "tokens_created_idx"],
    ["tokens", "/api/v1/tokens?limit=20&user=seeded", "tokens_user_idx"],
    ["users", "/api/v1/users?limit=20", "users_created_idx"],
    ["devices", "/api/v1/devices?limit=20", "devices_first_seen_idx"],
    ["devices", "/api/v1/devices?limit=20&status=active", "devices_status_idx"],
    ["audit_events", "/api/v1/audit?limit=20", "audit_at_idx"],
    ["audit_events", "/api/v1/audit?limit=20&user=seeded", "audit_user_idx"],
    ["audit_events", "/api/v1/audit?limit=20&action=login.failed", "audit_action_idx"],
  ];
  test.each(plans)("%s: %s reads one range of %s, at most limit + 1 rows, on the first page and after a cursor", async (table, path, index) => {
    const app = await setup();
    for (const list of lists) await seed250(app.store, list);
    const statements = watch(app.store.sqlite);
    const first = await app.call("GET", path);
    const second = await app.call("GET", `${path}&cursor=${first.next}`);
    expect(first.body).toHaveLength(20);
    expect(second.body).toHaveLength(20);

    const selects = statements.filter((s) => new RegExp(`^select .* from "${table}"`).test(s.sql) && /order by/.test(s.sql));
    expect(selects).toHaveLength(2);
    for (const { sql, rows } of selects) {
      expect(sql).toMatch(/ limit \?$/);
      expect(rows).toBeLessThanOrEqual(21);
      const plan = (app.store.sqlite.query(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((step) => step.detail).join("; ");
      expect(plan).toContain(`USING INDEX ${index}`);
      expect(plan).not.toContain("TEMP B-TREE");
    }
  });
});

describe("filters keep working a page at a time", () => {
  test("tokens: ?user= is normalised like every user name, and ?active= narrows the pages", async () => {
    const { store, call } = await setup();
    for (let i = 0; i < 5; i++) await issueToken(store, { user: "zoë", lifetimeMs: i < 3 ? null : 1, source: "cli" }, actor, new Date(Date.now() - 60_000 + i));
    await issueToken(store, { user: "bob", lifetimeMs: null, source: "cli" }, actor);
    const first = await call("GET", `/api/v1/tokens?user=${encodeURIComponent(" ZOË ")}&active=true&limit=2`);
    const rest = await call("GET", `/api/v1/tokens?user=${encodeURIComponent(" ZOË ")}&active=true&limit=2&cursor=${first.next}`);
    expect([...first.body, ...rest.body].map((t: { user: string; status: string }) => `${t.user} ${t.status}`)).toEqual(["zoë active", "zoë active", "zoë active"]);
    expect(rest.next).toBeNull();
  });

  test("devices: with no ?status= every state is listed; with one, only that state", async () => {
    const { store, call } = await setup();
    const statuses = ["active", "pending", "revoked"] as const;
    await store.write(async (tx) => {
      for (const [i, status] of statuses.entries()) await tx.insert(tablesOf(tx).devices).values({ id: `dev_${String(i).padStart(16, "0")}`, fingerprint: status, status, firstSeen: new Date(i), lastSeen: new Date(i) });
    });
    expect((await call("GET", "/api/v1/devices")).body.map((d: { status: string }) => d.status)).toEqual(["revoked", "pending", "active"]);
    expect((await call("GET", "/api/v1/devices?status=pending")).body.map((d: { status: string }) => d.status)).toEqual(["pending"]);
  });

  test("audit: ?user= takes a user name in any case, or a device id as it is, together with ?action=", async () => {
    const { store, call } = await setup();
    const device = "dev_7Hc2Lq9ZpX4mWn1R";
    // Recent times: the audit retention prunes events older than 90 days when the log is read.
    const base = Date.now() - 60_000;
    await store.write(async (tx) => {
      for (let i = 0; i < 3; i++) await recordAudit(tx, { action: "login.failed", user: "erin" }, new Date(base + i));
      await recordAudit(tx, { action: "user.created", user: "erin" }, new Date(base + 1000));
      await recordAudit(tx, { action: "device.enrolled", user: device }, new Date(base + 2000));
    });
    const first = await call("GET", "/api/v1/audit?user=ERIN&action=login.failed&limit=2");
    const rest = await call("GET", `/api/v1/audit?user=ERIN&action=login.failed&limit=2&cursor=${first.next}`);
    expect([...first.body, ...rest.body].map((e: { at: string }) => Date.parse(e.at) - base)).toEqual([2, 1, 0]);
    expect((await call("GET", `/api/v1/audit?user=${device}`)).body.map((e: { action: string }) => e.action)).toEqual(["device.enrolled"]);
  });
});
