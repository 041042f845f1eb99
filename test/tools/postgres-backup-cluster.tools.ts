import { SQL } from "bun";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { runKeyward, tempDir } from "../helpers/binary";
import { createDatabase, hasPostgres, throwawayCluster } from "../helpers/postgres";
import { serverPool, type RunningServer } from "../helpers/server";

// `keyward backup`/`restore` with the compiled binary: moving between SQLite and a PostgreSQL cluster.
setDefaultTimeout(60_000);

const SECRET_KEY = "cluster-backup-secret-key-0123456789";
const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY } });

const cluster = throwawayCluster();

const keyward = (db: string, args: string[], cwd = tempDir()) => runKeyward(args, { cwd, env: { KEYWARD_DB: db, SECRET_KEY } });
const dataWith = (server: RunningServer, token: string) => server.fetch("/data", { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

async function issue(server: RunningServer): Promise<string> {
  const res = await client(server).post("/api/v1/tokens", { user: "ann" });
  expect(res.status).toBe(201);
  return res.body.token;
}

async function enroll(server: RunningServer, fingerprint: string): Promise<string> {
  const res = await client(server, "").post("/api/v1/tokens/main", { hardware_fingerprint: fingerprint });
  expect(res.status).toBe(201);
  return res.body.short_token;
}

const verify = (server: RunningServer, shortToken: string, fingerprint: string) =>
  server.fetch(`/api/v1/tokens/verify?short_token=${shortToken}&hardware_fingerprint=${fingerprint}`).then((r) => r.status);

describe.skipIf(!hasPostgres)("backup and restore between SQLite and a PostgreSQL cluster", () => {
  test("a restore into PostgreSQL under a running instance: a token only in the old contents is refused within a second, one from the backup works", async () => {
    const db = await createDatabase(cluster.pg);
    const a = await start({ db });
    const kept = await issue(a);
    const cwd = tempDir();
    const backup = await keyward(db, ["backup", "snapshot.db"], cwd);
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/^Backed up postgres:\/\/keyward:\*\*\*@127\.0\.0\.1:\d+\/kw_\w+ to snapshot\.db \(\d+ bytes\)\.\n$/);

    const lost = await issue(a);
    expect(await dataWith(a, lost)).toBe(200);
    const restore = await keyward(db, ["restore", "snapshot.db"], cwd);
    expect(restore.code).toBe(0);
    expect(restore.stdout + restore.stderr).not.toContain(cluster.pg.password);
    const keptAs = /kept in (\S+)\.\n/.exec(restore.stdout)![1]!;
    expect(keptAs).toStartWith(join(cwd, "keyward-before-restore-"));
    expect(existsSync(keptAs)).toBe(true);
    // Same cluster, same key: nothing to restart for.
    expect(restore.stdout).not.toContain("restart");

    const begun = performance.now();
    while ((await dataWith(a, lost)) === 200) {
      if (performance.now() - begun > 1000) throw new Error("the token the restore removed still works after 1 s");
      await Bun.sleep(20);
    }
    console.log(`restore seen by the running instance after ${(performance.now() - begun).toFixed(0)} ms`);
    expect(await dataWith(a, lost)).toBe(401);
    expect(await dataWith(a, kept)).toBe(200);

    // The contents kept aside hold the token the restore replaced: restoring them brings it back.
    const undo = await keyward(db, ["restore", keptAs, "--keep", join(cwd, "second.db"), "--json"], cwd);
    expect(undo.code).toBe(0);
    expect(JSON.parse(undo.stdout)).toMatchObject({ kept_as: join(cwd, "second.db"), restart_instances: false });
    expect(JSON.parse(undo.stdout).db).not.toContain(cluster.pg.password);
    const back = performance.now();
    while ((await dataWith(a, lost)) !== 200 && performance.now() - back < 1000) await Bun.sleep(20);
    expect(await dataWith(a, lost)).toBe(200);
  });

  for (const install of [
    { name: "signed with SECRET_KEY", env: { SECRET_KEY } },
    { name: "with a key of its own (no SECRET_KEY)", env: { SECRET_KEY: "" } },
  ]) {
    test(`devices enrolled on a SQLite install ${install.name} verify on PostgreSQL after the move, and after the move back`, async () => {
      const sqlite = await start({ env: install.env });
      const shortToken = await enroll(sqlite, "fp-move");
      const apiToken = await issue(sqlite);
      // Killed, not stopped: its last commits may be only in the -wal beside the file.
      await sqlite.stop("SIGKILL");

      const db = await createDatabase(cluster.pg);
      // The live file itself, as an operator would give it.
      const moved = await keyward(db, ["restore", sqlite.db]);
      expect(moved.code).toBe(0);
      const onCluster = await start({ db });
      expect(await verify(onCluster, shortToken, "fp-move")).toBe(200);
      expect(await dataWith(onCluster, apiToken)).toBe(200);
      const sql = new SQL(db);
      const [row] = await sql`SELECT value FROM settings WHERE key = 'device_signing_key'`;
      await sql.close();
      expect(row.value).toStartWith("enc:v1:");

      // And back to a single box: the backup keeps the sealed key, which SQLite opens with the same SECRET_KEY.
      const cwd = tempDir();
      expect((await keyward(db, ["backup", "onCluster.db"], cwd)).code).toBe(0);
      const box = join(cwd, "box.db");
      expect((await runKeyward(["restore", "onCluster.db", "--db", box], { cwd })).code).toBe(0);
      const single = await start({ db: box });
      expect(await verify(single, shortToken, "fp-move")).toBe(200);
      expect(await dataWith(single, apiToken)).toBe(200);
    });
  }

  test("a restore from another install tells the operator to restart running instances (they keep the signing key they read at start)", async () => {
    const sqlite = await start({ env: { SECRET_KEY: "" } });
    const shortToken = await enroll(sqlite, "fp-other");
    await sqlite.stop();
    const db = await createDatabase(cluster.pg);
    const running = await start({ db });
    const restored = await keyward(db, ["restore", sqlite.db]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain("The device signing key changed: restart every running instance");
    await running.stop();
    const restarted = await start({ db });
    expect(await verify(restarted, shortToken, "fp-other")).toBe(200);
  });
});
