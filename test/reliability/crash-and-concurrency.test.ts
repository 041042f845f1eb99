import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { runKeyward, tempDir } from "../helpers/binary";
import { serverPool } from "../helpers/server";
import { until } from "../helpers/until";

const pool = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_LOG: "warn", KEYWARD_MAX_FAILURES: "1000000" } });
const start = (cwd?: string) => pool({ cwd });

describe("crash safety", () => {
  test("kill -9 while tokens are being created, three times: every token that got a 201 still works, and the file is intact", async () => {
    const cwd = tempDir();
    const confirmed: string[] = [];
    for (let round = 0; round < 3; round++) {
      const server = await start(cwd);
      const api = client(server);
      let stop = false;
      const writers = Array.from({ length: 8 }, async () => {
        while (!stop) {
          const res = await api.post("/api/v1/tokens", { user: `crash${round}` }).catch(() => null);
          if (res?.status === 201) confirmed.push(res.body.token);
        }
      });
      // Kill at a different point of the write stream each round, always with writes in flight.
      const enough = confirmed.length + 20 + round * 10;
      await until(() => confirmed.length >= enough, `${enough} tokens created`);
      server.proc.kill("SIGKILL");
      stop = true;
      await Promise.all(writers);
      await server.proc.exited;
    }
    expect(confirmed.length).toBeGreaterThan(50);
    const db = new Database(`${cwd}/keyward.db`, { readonly: true });
    expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    db.close();
    const server = await start(cwd);
    for (const token of confirmed) {
      const res = await client(server, token).get("/api/v1/me");
      expect(res.status).toBe(200);
    }
  }, 60_000);
});

describe("concurrency", () => {
  test("parallel rotations, revocations and checks never leave a revoked token usable or a rotated token without its successor", async () => {
    const server = await start();
    const api = client(server);
    const originals = await Promise.all(Array.from({ length: 10 }, (_, i) => api.post("/api/v1/tokens", { user: `race${i}` })));
    const ids = originals.map((r) => r.body.id as string);
    const tokens = originals.map((r) => r.body.token as string);
    const env = { KEYWARD_DB: server.db };
    // HTTP rotations and revocations, CLI revocations from another process, and checks, all at once.
    const work = [
      ...ids.flatMap((id) => [api.post(`/api/v1/tokens/${id}/rotate`), api.post(`/api/v1/tokens/${id}/rotate`, { grace: "1h" })]),
      ...ids.filter((_, i) => i % 2 === 0).map((id) => api.delete(`/api/v1/tokens/${id}`)),
      ...ids.filter((_, i) => i % 3 === 0).map((id) => runKeyward(["token", "revoke", id], { env })),
      ...tokens.flatMap((token) => [client(server, token).get("/data"), client(server, token).get("/data")]),
    ];
    const results = await Promise.all(work);
    for (const result of results) {
      if ("status" in result) expect(result.status).toBeLessThan(500);
      // Revoking never conflicts (a revoked token stays as it is), so every CLI revoke must succeed.
      else expect(`${result.code} ${result.stdout}${result.stderr}`).toMatch(/^0 Revoked tok_\w+ \(race\d\)\. /);
    }
    const records = (await api.get("/api/v1/tokens")).body as { id: string; status: string; replaced_by: string | null; revoke_reason: string | null }[];
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const record of records) {
      if (record.replaced_by !== null) expect(byId.get(record.replaced_by)).toBeDefined();
      if (record.revoke_reason === "rotated") expect(record.replaced_by).not.toBeNull();
    }
    for (const [i, id] of ids.entries()) if (i % 3 === 0) expect(`${id} ${byId.get(id)!.status}`).toBe(`${id} revoked`);
    const works = (i: number) => client(server, tokens[i]!).get("/data").then((r) => r.status === 200);
    const usable = (status: string) => status === "active" || status === "rotating";
    // The server sees the CLI's revocations within a second: wait for that, then every token must agree with its record.
    await until(async () => (await Promise.all(ids.map(async (id, i) => (await works(i)) === usable(byId.get(id)!.status)))).every(Boolean), "the server agrees with every record");
    for (const [i, id] of ids.entries()) {
      const status = byId.get(id)!.status;
      expect(`${id} ${status} works=${await works(i)}`).toBe(`${id} ${status} works=${usable(status)}`);
    }
  }, 60_000);
});
