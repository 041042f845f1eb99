import { describe, expect, test } from "bun:test";
import { count as countRows } from "drizzle-orm";
import { tablesOf } from "../../src/db/client";
import { ADMIN_TOKEN } from "../helpers/api";
import { inProcessApp } from "../helpers/app";

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

/** The real app in process, and the calls a device, a user and an admin make to it. */
async function keyward(env: Record<string, string> = {}) {
  const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: "s".repeat(40), ...env });
  const call = async (method: string, path: string, body?: unknown, token?: string): Promise<Reply> => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await kw.app.handle(new Request(`http://localhost${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
    return { status: res.status, body: await res.json(), headers: res.headers };
  };
  const rows = async () => {
    await kw.flush();
    const { devices, deviceTokens, auditEvents } = tablesOf(kw.store.db);
    const count = async (table: typeof devices | typeof deviceTokens | typeof auditEvents) => (await kw.store.db.select({ n: countRows() }).from(table))[0]!.n;
    return { devices: await count(devices), device_tokens: await count(deviceTokens), audit_events: await count(auditEvents) };
  };
  return {
    ...kw,
    rows,
    enroll: (fingerprint: string, extra: Record<string, string> = {}, token?: string) => call("POST", "/api/v1/tokens/main", { hardware_fingerprint: fingerprint, ...extra }, token),
    verify: (shortToken: string, fingerprint: string) => call("GET", `/api/v1/tokens/verify?short_token=${shortToken}&hardware_fingerprint=${fingerprint}`),
    admin: (path: string, body?: unknown) => call("POST", path, body, ADMIN_TOKEN),
    list: (query = "") => call("GET", `/api/v1/devices${query}`, undefined, ADMIN_TOKEN),
  };
}

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

describe("approval enrollment over HTTP", () => {
  test("202 with a one-time secret, approval, collection with the secret; the fingerprint alone never yields tokens", async () => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLLMENT: "approval" });
    const first = await kw.enroll("fp-kiosk");
    expect(first.status).toBe(202);
    const secret = first.body.enrollment_secret as string;
    const id = first.body.device_id as string;
    expect([first.body.status, id, secret]).toEqual(["pending", expect.stringMatching(/^dev_/), expect.stringMatching(/^kwe_[0-9A-Za-z]{32}$/)]);
    for (const query of ["", "?status=pending"]) expect((await kw.list(query)).body.map((d: { id: string }) => d.id)).toEqual([id]);
    expect((await kw.list("?status=active")).body).toEqual([]);

    const steps: [string, () => Promise<Reply>, number, string | null][] = [
      ["asking again before approval", () => kw.enroll("fp-kiosk"), 202, null],
      ["the secret before approval", () => kw.enroll("fp-kiosk", { enrollment_secret: secret }), 202, null],
      ["the admin approves", () => kw.admin(`/api/v1/devices/${id}/approve`), 200, null],
      ["no secret after approval", () => kw.enroll("fp-kiosk"), 401, "enrollment_secret_required"],
      ["a wrong secret", () => kw.enroll("fp-kiosk", { enrollment_secret: `kwe_${"x".repeat(32)}` }), 401, "invalid_enrollment_secret"],
      ["a user's token adds nothing", () => kw.enroll("fp-kiosk", {}, ADMIN_TOKEN), 401, "enrollment_secret_required"],
    ];
    for (const [step, run, status, code] of steps) {
      const res = await run();
      expect(`${step}: ${res.status} ${res.body.code ?? ""}`).toBe(`${step}: ${status} ${code ?? ""}`);
      expect(res.body.enrollment_secret).toBeUndefined();
    }
    const collected = await kw.enroll("fp-kiosk", { enrollment_secret: secret });
    expect(collected.status).toBe(201);
    expect((await kw.enroll("fp-kiosk", { enrollment_secret: secret })).body.code).toBe("device_already_enrolled");
    expect((await kw.verify(collected.body.short_token, "fp-kiosk")).status).toBe(200);
  });

  test("a device with tokens: refused without its credential (its tokens keep working), renewed with its main token", async () => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLLMENT: "approval" });
    const collect = async (fingerprint: string) => {
      const { body } = await kw.enroll(fingerprint);
      await kw.admin(`/api/v1/devices/${body.device_id}/approve`);
      return (await kw.enroll(fingerprint, { enrollment_secret: body.enrollment_secret })).body;
    };
    const mine = await collect("fp-1");
    const other = await collect("fp-2");
    const refusals: [string, () => Promise<Reply>, number, string][] = [
      ["the fingerprint alone", () => kw.enroll("fp-1"), 403, "device_already_enrolled"],
      ["a garbled Bearer", () => kw.enroll("fp-1", {}, "not-a-token"), 401, "invalid_token"],
      ["another device's main token", () => kw.enroll("fp-1", {}, other.main_token), 403, "fingerprint_mismatch"],
      ["its short token as Bearer", () => kw.enroll("fp-1", {}, mine.short_token), 401, "invalid_token"],
    ];
    for (const [what, run, status, code] of refusals) {
      const res = await run();
      expect(`${what}: ${res.status} ${res.body.code}`).toBe(`${what}: ${status} ${code}`);
      expect((await kw.verify(mine.short_token, "fp-1")).status).toBe(200);
    }
    const renewed = await kw.enroll("fp-1", {}, mine.main_token);
    expect(renewed.status).toBe(201);
    expect(renewed.body.device_id).toBe(mine.device_id);
    expect((await kw.verify(mine.short_token, "fp-1")).status).toBe(401);
    expect((await kw.verify(renewed.body.short_token, "fp-1")).status).toBe(200);
    expect((await kw.enroll("fp-1", {}, mine.main_token)).status).toBe(401);
  });

  test("an admin's reset: the tokens stop, the device is pending, its next enrollment gets a new secret to collect with after approval", async () => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLLMENT: "approval" });
    const first = (await kw.enroll("fp-1")).body;
    await kw.admin(`/api/v1/devices/${first.device_id}/approve`);
    const tokens = (await kw.enroll("fp-1", { enrollment_secret: first.enrollment_secret })).body;
    const reset = await kw.admin(`/api/v1/devices/${first.device_id}/reset`);
    expect(reset.body).toMatchObject({ id: first.device_id, status: "pending" });
    expect((await kw.verify(tokens.short_token, "fp-1")).status).toBe(401);
    expect((await kw.admin(`/api/v1/devices/${first.device_id}/approve`)).body.code).toBe("enrollment_not_requested");
    const again = (await kw.enroll("fp-1")).body;
    expect(again.enrollment_secret).toMatch(/^kwe_/);
    expect(again.enrollment_secret).not.toBe(first.enrollment_secret);
    await kw.admin(`/api/v1/devices/${first.device_id}/approve`);
    expect((await kw.enroll("fp-1", { enrollment_secret: first.enrollment_secret })).body.code).toBe("invalid_enrollment_secret");
    expect((await kw.enroll("fp-1", { enrollment_secret: again.enrollment_secret })).status).toBe(201);
    expect((await kw.admin("/api/v1/devices/dev_nope/reset")).status).toBe(404);
  });
});

describe("token enrollment over HTTP", () => {
  test("a user's token enrolls a device once; re-enrolling needs the device's main token or an admin's reset", async () => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLLMENT: "token" });
    const user = (await kw.admin("/api/v1/tokens", { user: "alice" })).body.token as string;
    expect((await kw.enroll("fp-1")).status).toBe(401);
    const first = await kw.enroll("fp-1", {}, user);
    expect(first.status).toBe(201);
    for (const token of [user, ADMIN_TOKEN]) {
      const res = await kw.enroll("fp-1", {}, token);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe("device_already_enrolled");
    }
    expect((await kw.verify(first.body.short_token, "fp-1")).status).toBe(200);
    const renewed = await kw.enroll("fp-1", {}, first.body.main_token);
    expect(renewed.status).toBe(201);
    expect((await kw.admin(`/api/v1/devices/${first.body.device_id}/reset`)).body.status).toBe("active");
    expect((await kw.verify(renewed.body.short_token, "fp-1")).status).toBe(401);
    expect((await kw.enroll("fp-1", {}, user)).status).toBe(201);
  });

  test("a token with a quota or a rate limit enrolls nothing: its devices' tokens would carry no limits", async () => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLLMENT: "token" });
    for (const limits of [{ remaining_uses: 5 }, { rate_limit: { requests: 100, per: "1m" } }]) {
      const limited = (await kw.admin("/api/v1/tokens", { user: "alice", ...limits })).body.token as string;
      const before = await kw.rows();
      const refused = await kw.enroll("fp-limited", {}, limited);
      expect([refused.status, refused.body.code]).toEqual([403, "limited_token"]);
      expect((await kw.rows()).devices).toBe(before.devices);
    }
  });
});

describe("open enrollment over HTTP (seed 003)", () => {
  test("the fingerprint alone enrolls and re-enrolls, retiring the earlier tokens; a Bearer header is ignored", async () => {
    const kw = await keyward();
    const first = await kw.enroll("fp-1");
    const second = await kw.enroll("fp-1", {}, "whatever");
    expect([first.status, second.status]).toEqual([201, 201]);
    expect((await kw.verify(first.body.short_token, "fp-1")).status).toBe(401);
    expect((await kw.verify(second.body.short_token, "fp-1")).status).toBe(200);
  });
});

describe("enrollment rate and rows", () => {
  test("past KEYWARD_DEVICE_ENROLL_RATE requests a minute from one address: 429 too_many_enrollments with Retry-After", async () => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLL_RATE: "3" });
    for (let i = 0; i < 3; i++) expect((await kw.enroll(`fp-${i}`)).status).toBe(201);
    const res = await kw.enroll("fp-3");
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ error: expect.stringMatching(/^Too many enrollment requests from this address; try again in \d+ seconds$/), code: "too_many_enrollments", detail: expect.stringMatching(/^Too many enrollment requests from this address; try again in \d+ seconds$/) });
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
    expect((await kw.rows()).devices).toBe(3);
  });

  test("the default rate lets 60 devices behind one address enroll in a minute", async () => {
    const kw = await keyward();
    for (let i = 0; i < 60; i++) expect((await kw.enroll(`fp-fleet-${i}`)).status).toBe(201);
    expect((await kw.enroll("fp-fleet-60")).status).toBe(429);
  });

  test.each(["open", "token", "approval"])("under %s, 2,000 enrollments, re-enrollments and bad requests from one address add at most a few hundred rows", async (policy) => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLLMENT: policy });
    const before = await kw.rows();
    const kinds = [
      () => kw.enroll(`fp-new-${crypto.randomUUID()}`, {}, policy === "token" ? ADMIN_TOKEN : undefined),
      () => kw.enroll("fp-same", {}, policy === "token" ? ADMIN_TOKEN : undefined),
      () => kw.enroll("fp-same", { enrollment_secret: `kwe_${"z".repeat(32)}` }),
      () => kw.enroll("fp-same", {}, "kw_not_a_real_token_0123456789"),
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const { status } = await kinds[i % kinds.length]!();
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    const after = await kw.rows();
    const added = total(after) - total(before);
    expect(statuses.get(429)).toBeGreaterThanOrEqual(1940);
    expect(added).toBeLessThanOrEqual(300);
    expect(after.device_tokens).toBeLessThanOrEqual(after.devices);
  });

  test("with the rate lifted, re-enrolling one fingerprint 500 times leaves one device and one token row", async () => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLL_RATE: "1000000" });
    for (let i = 0; i < 500; i++) expect((await kw.enroll("fp-1")).status).toBe(201);
    expect(await kw.rows()).toMatchObject({ devices: 1, device_tokens: 1 });
    // 500 write transactions: on PostgreSQL, each a round trip or more.
  }, 30_000);
});
