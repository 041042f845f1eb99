import { describe, expect, test } from "bun:test";
import { jwtVerify } from "jose";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { settings } from "../../src/db/schema";
import { seal, settingsKey } from "../../src/lib/sealed";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { runKeyward, tempDir } from "../helpers/binary";
import { serverPool, type RunningServer } from "../helpers/server";
import { until } from "../helpers/until";

const SECRET = "device-signing-secret-for-the-tests-0123456789";
const pool = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: SECRET } });
const start = (env: Record<string, string> = {}, cwd?: string) => pool({ env, cwd });

interface DeviceTokens {
  main_token: string;
  short_token: string;
  expires_at: string;
  device_id: string;
}

async function enroll(server: RunningServer, fingerprint: string, token?: string) {
  return client(server, token ?? "").post<DeviceTokens & { status?: string; code?: string }>("/api/v1/tokens/main", { hardware_fingerprint: fingerprint });
}

const verify = (server: RunningServer, query: string, headers: Record<string, string> = {}) => client(server, "").get(`/api/v1/tokens/verify${query}`, headers);

describe("seed 003: enroll a fingerprint, verify the short token", () => {
  test("enrolling (JSON or form) gives a JWT main token and a 32-character short token", async () => {
    const server = await start();
    const res = await enroll(server, "fp-laptop-1");
    expect(res.status).toBe(201);
    expect(res.body.main_token.split(".")).toHaveLength(3);
    expect(res.body.short_token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(res.body.device_id).toMatch(/^dev_/);
    expect(Date.parse(res.body.expires_at) - Date.now()).toBeGreaterThan(29.9 * 86_400_000);
    const viaForm = await server.fetch("/api/v1/tokens/main", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "hardware_fingerprint=fp-laptop-2",
    });
    expect(viaForm.status).toBe(201);
  });

});

describe("the main token as a credential", () => {
  test("ALGORITHM=HS512 signs with HS512, and a restart without SECRET_KEY keeps tokens valid (the generated key persists)", async () => {
    const first = await start({ SECRET_KEY: "", ALGORITHM: "HS512" });
    const { body } = await enroll(first, "fp-1");
    expect(JSON.parse(Buffer.from(body.main_token.split(".")[0]!, "base64url").toString()).alg).toBe("HS512");
    await first.stop();
    const second = await start({ SECRET_KEY: "", ALGORITHM: "HS512" }, first.cwd);
    expect((await verify(second, `?short_token=${body.short_token}&hardware_fingerprint=fp-1`)).status).toBe(200);
    expect(second.logs()).not.toMatch(/device_signing_key|SECRET_KEY=/);
  });

  test("a database restored from PostgreSQL (its signing key sealed) starts only with the SECRET_KEY it was sealed with, and signs with that key", async () => {
    const cwd = tempDir();
    const key = crypto.getRandomValues(new Uint8Array(64));
    const store = openDatabase(join(cwd, "keyward.db"));
    migrate(store);
    await store.write((tx) => tx.insert(settings).values({ key: "device_signing_key", value: seal(settingsKey(SECRET), "device_signing_key", Buffer.from(key).toString("base64")), updatedAt: new Date() }));
    await store.close();
    chmodSync(join(cwd, "keyward.db"), 0o600);
    const serve = ["serve", "--port", "0", "--db", join(cwd, "keyward.db")];
    for (const env of [{}, { SECRET_KEY: "another-secret-key-for-the-tests-987654321" }] as Record<string, string>[]) {
      const refused = await runKeyward(serve, { cwd, env });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^keyward: invalid configuration: [^\n]*SECRET_KEY[^\n]*\n$/);
      expect(refused.stderr + refused.stdout).not.toContain(Buffer.from(key).toString("base64"));
    }
    const server = await start({}, cwd);
    const { body } = await enroll(server, "fp-restored");
    expect((await jwtVerify(body.main_token, key)).payload.hardware_fingerprint).toBe("fp-restored");
  });

  test("a bad ALGORITHM stops the server at start with exit 2", async () => {
    const result = await runKeyward(["serve", "--port", "0"], { env: { ALGORITHM: "RS256" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("ALGORITHM");
  });
});

describe("enrollment policies", () => {
  test("token: enrolling needs a user or admin token; strangers are refused", async () => {
    const server = await start({ KEYWARD_DEVICE_ENROLLMENT: "token" });
    expect((await enroll(server, "fp-1")).status).toBe(401);
    const user = (await client(server).post("/api/v1/tokens", { user: "alice" })).body.token as string;
    const res = await enroll(server, "fp-1", user);
    expect(res.status).toBe(201);
    const audit = await client(server).get("/api/v1/audit?action=device.enrolled");
    expect(audit.body[0]).toMatchObject({ actor: "alice", user: res.body.device_id });
  });

  test("approval: 202 pending with a one-time secret, an admin approves, the fingerprint with that secret collects the tokens", async () => {
    const server = await start({ KEYWARD_DEVICE_ENROLLMENT: "approval" });
    const pending = await client(server, "").post("/api/v1/tokens/main", { hardware_fingerprint: "fp-kiosk" });
    expect(pending.status).toBe(202);
    const secret = pending.body.enrollment_secret as string;
    expect(secret).toMatch(/^kwe_/);
    const again = await enroll(server, "fp-kiosk");
    expect(again.status).toBe(202);
    expect(again.body).not.toHaveProperty("enrollment_secret");
    const listed = await client(server).get("/api/v1/devices?status=pending");
    expect(listed.body.map((d: { id: string }) => d.id)).toEqual([pending.body.device_id]);
    expect((await client(server).post(`/api/v1/devices/${pending.body.device_id}/approve`)).body.status).toBe("active");
    expect((await enroll(server, "fp-kiosk")).body.code).toBe("enrollment_secret_required");
    const collected = await client(server, "").post<DeviceTokens>("/api/v1/tokens/main", { hardware_fingerprint: "fp-kiosk", enrollment_secret: secret });
    expect(collected.status).toBe(201);
    expect((await verify(server, `?short_token=${collected.body.short_token}&hardware_fingerprint=fp-kiosk`)).status).toBe(200);
    expect((await enroll(server, "fp-kiosk")).body.code).toBe("device_already_enrolled");
    const renewed = await enroll(server, "fp-kiosk", collected.body.main_token);
    expect(renewed.status).toBe(201);
    expect((await verify(server, `?short_token=${renewed.body.short_token}&hardware_fingerprint=fp-kiosk`)).status).toBe(200);
  });

  test("open (the default): anyone may enroll", async () => {
    const server = await start();
    expect((await enroll(server, "fp-anyone")).status).toBe(201);
  });
});

describe("device administration", () => {
  test("list, label, revoke over HTTP; events in the audit log; CLI list/label/reset/revoke/approve", async () => {
    const server = await start();
    const { body } = await enroll(server, "fp-1");
    const labelled = await server.fetch(`/api/v1/devices/${body.device_id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ label: "front-desk kiosk" }),
    });
    expect(await labelled.json()).toMatchObject({ label: "front-desk kiosk", status: "active" });
    await verify(server, `?short_token=${body.short_token}&hardware_fingerprint=fp-wrong`);
    const env = { KEYWARD_DB: server.db };
    const list = await runKeyward(["device", "list"], { env });
    expect(list.stdout).toMatch(new RegExp(`${body.device_id}\\s+front-desk kiosk\\s+active`));
    expect((await runKeyward(["device", "label", body.device_id, "lobby"], { env })).stdout).toContain("Labelled");
    expect((await runKeyward(["device", "reset", body.device_id], { env })).stdout).toContain(`Reset ${body.device_id} (lobby): active.`);
    // The server sees each CLI change within a second.
    const refused = (shortToken: string, what: string) =>
      until(async () => (await verify(server, `?short_token=${shortToken}&hardware_fingerprint=fp-1`)).status === 401, what, 1_500);
    await refused(body.short_token, "the reset device's short token is refused");
    const reenrolled = (await enroll(server, "fp-1")).body;
    expect((await verify(server, `?short_token=${reenrolled.short_token}&hardware_fingerprint=fp-1`)).status).toBe(200);
    expect((await runKeyward(["device", "revoke", body.device_id], { env })).code).toBe(0);
    await refused(reenrolled.short_token, "the revoked device's short token is refused");
    expect((await runKeyward(["device", "approve", body.device_id], { env })).stderr).toContain("A revoked device cannot be approved");
    const actions = (await client(server).get("/api/v1/audit?limit=20")).body.map((e: { action: string; detail: string }) => `${e.action}${e.detail ? ` ${e.detail}` : ""}`);
    expect(actions).toEqual(expect.arrayContaining(["device.enrolled", "device.labelled front-desk kiosk", "device.reset", "device.revoked", "auth.failed short_token fingerprint_mismatch"]));
  });
});
