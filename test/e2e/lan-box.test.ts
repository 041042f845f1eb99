import { Database } from "bun:sqlite";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../src/db/client";
import { migrate, migrations } from "../../src/db/migrate";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { binaryPath, buildOnce, cleanEnv, runKeyward, tempDir } from "../helpers/binary";
import { freePort, serverPool } from "../helpers/server";
import { until } from "../helpers/until";

setDefaultTimeout(120_000);
const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_LOG: "warn" } });

describe("HTTPS", () => {
  test("tls init writes a 0600 certificate and key for the given names; serve speaks HTTPS that curl trusts with --cacert", async () => {
    await buildOnce();
    const dir = tempDir();
    const init = await runKeyward(["tls", "init", "--host", "localhost", "--host", "127.0.0.1", "--out", dir]);
    expect(init.code).toBe(0);
    const fingerprint = /SHA-256 fingerprint: ([0-9A-F:]{95})/.exec(init.stdout)?.[1];
    expect(fingerprint).toBeDefined();
    for (const file of ["keyward.crt", "keyward.key"]) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    const openssl = new TextDecoder().decode(Bun.spawnSync(["openssl", "x509", "-in", join(dir, "keyward.crt"), "-noout", "-fingerprint", "-sha256"]).stdout);
    expect(openssl).toContain(fingerprint!);

    const port = freePort();
    const proc = Bun.spawn(
      [binaryPath, "serve", "--host", "127.0.0.1", "--port", String(port), "--db", join(dir, "k.db"), "--tls-cert", join(dir, "keyward.crt"), "--tls-key", join(dir, "keyward.key")],
      { env: cleanEnv({ KEYWARD_LOG_FORMAT: "json", KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN }), stdout: "pipe", stderr: "pipe" },
    );
    try {
      let body = "";
      await until(() => {
        const curl = Bun.spawnSync(["curl", "-sS", "--cacert", join(dir, "keyward.crt"), `https://127.0.0.1:${port}/health`]);
        body = new TextDecoder().decode(curl.stdout);
        return body.includes('"ok"');
      }, "keyward to answer over HTTPS").catch(() => undefined);
      expect(body).toContain('"status":"ok"');
      const plain = Bun.spawnSync(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/health`]);
      expect(new TextDecoder().decode(plain.stdout)).not.toBe("200");
      const untrusted = Bun.spawnSync(["curl", "-sS", `https://127.0.0.1:${port}/health`]);
      expect(untrusted.exitCode).not.toBe(0);
    } finally {
      proc.kill();
      await proc.exited;
    }
    const logs = await new Response(proc.stderr).text();
    expect(logs).toContain(`"url":"https://127.0.0.1:${port}"`);
    expect(logs).not.toContain("clear text");
  });

  test("a certificate without its key is a configuration error", async () => {
    const result = await runKeyward(["serve", "--port", "0", "--tls-cert", "/nowhere/keyward.crt"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("KEYWARD_TLS_CERT and KEYWARD_TLS_KEY go together");
  });
});

describe("systemd", () => {
  test("--dry-run prints a hardened unit for this binary", async () => {
    const { code, stdout } = await runKeyward(["service", "install", "--user", "kw", "--data", "/srv/keyward", "--dry-run"]);
    expect(code).toBe(0);
    for (const line of [
      "User=kw",
      "ProtectSystem=strict",
      "ReadWritePaths=/srv/keyward",
      "Restart=on-failure",
      "NoNewPrivileges=yes",
      `ExecStart=${binaryPath} serve --db /srv/keyward/keyward.db`,
      "WantedBy=multi-user.target",
    ]) {
      expect(stdout).toContain(line);
    }
  });

  test("install writes keyward.service and prints the commands that enable it", async () => {
    const dir = tempDir();
    const { code, stdout } = await runKeyward(["service", "install", "--unit-dir", dir]);
    expect(code).toBe(0);
    expect(readFileSync(join(dir, "keyward.service"), "utf8")).toContain("ReadWritePaths=/var/lib/keyward");
    expect(stdout).toContain("systemctl enable --now keyward");
    expect((await runKeyward(["service", "install", "--data", "relative/path", "--dry-run"])).code).toBe(2);
  });

  test("the unit file is readable by all (0644), as systemd expects, though keyward makes everything else under umask 077", async () => {
    const dir = tempDir();
    const unit = join(dir, "keyward.service");
    expect((await runKeyward(["service", "install", "--unit-dir", dir])).code).toBe(0);
    expect(statSync(unit).mode & 0o777).toBe(0o644);
    // Over an older unit that was written for its owner only.
    chmodSync(unit, 0o600);
    expect((await runKeyward(["service", "install", "--unit-dir", dir])).code).toBe(0);
    expect(statSync(unit).mode & 0o777).toBe(0o644);
  });
});

describe("backup and restore", () => {
  test("a backup taken under write load restores into a fresh data dir where every token it holds works", async () => {
    const server = await start();
    const api = client(server);
    const created: string[] = [];
    let writing = true;
    const writers = Array.from({ length: 4 }, async () => {
      while (writing) {
        const res = await api.post("/api/v1/tokens", { user: "load" });
        if (res.status === 201) created.push(res.body.token);
      }
    });
    // The backup starts while tokens are being written.
    await until(() => created.length >= 20, "20 tokens created");
    const before = created.length;
    const backupFile = join(tempDir(), "keyward-backup.db");
    const backup = await runKeyward(["backup", backupFile], { env: { KEYWARD_DB: server.db } });
    const after = created.length;
    writing = false;
    await Promise.all(writers);
    expect(backup.code).toBe(0);
    expect(backup.stdout).toContain(`to ${backupFile}`);
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);

    const freshDir = tempDir();
    const restore = await runKeyward(["restore", backupFile, "--db", join(freshDir, "data/keyward.db")]);
    expect(restore.code).toBe(0);
    const restored = await start({ cwd: freshDir, db: null });
    const inBackup = new Database(backupFile, { readonly: true }).query<{ n: number }, []>("SELECT count(*) AS n FROM tokens WHERE user = 'load'").get()!.n;
    expect(inBackup).toBeGreaterThanOrEqual(before);
    expect(inBackup).toBeLessThanOrEqual(after + 4);
    for (const token of created.slice(0, before)) expect((await client(restored, token).get("/api/v1/me")).status).toBe(200);
  });

  test("restoring keeps the previous contents aside, migrates a backup from an older build, and refuses a bad file", async () => {
    const dir = tempDir();
    const old = join(dir, "old.db");
    const oldDb = openDatabase(old);
    migrate(oldDb, migrations.slice(0, 2));
    oldDb.sqlite.run("INSERT INTO tokens (id, user, role, hash, hint, source, created_at, request_count) VALUES ('tok_old', 'olduser', 'user', 'h', 'kw_…xxxx', 'api', 1, 0)");
    oldDb.close();
    const db = join(dir, "live.db");
    expect((await runKeyward(["token", "create", "current", "--db", db])).code).toBe(0);

    const junk = join(dir, "junk.db");
    writeFileSync(junk, "not a database at all");
    const refused = await runKeyward(["restore", junk, "--db", db]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("cannot be restored");
    expect((await runKeyward(["token", "list", "--db", db])).stdout).toContain("current");

    const restored = await runKeyward(["restore", old, "--db", db]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain("migrated from an older build");
    const kept = /kept in (\S+)\./.exec(restored.stdout)![1]!;
    expect(existsSync(kept)).toBe(true);
    const list = (await runKeyward(["token", "list", "--db", db])).stdout;
    expect(list).toContain("olduser");
    expect(list).not.toContain("current");
    expect((await runKeyward(["token", "list", "--db", kept])).stdout).toContain("current");
  });
});
