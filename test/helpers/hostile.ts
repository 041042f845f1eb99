import type { Database } from "bun:sqlite";
import { expect } from "bun:test";
import { tablesOf, type Db } from "../../src/db/client";

/** Path ids a stranger might send: traversal, NUL, SQL, a bidi override, 2,000 characters, invalid UTF-8. */
export const hostileIds = ["..%2F..%2Fetc%2Fpasswd", "%00", "'%20OR%201=1--", "%E2%80%AE", "x".repeat(2000), "%FF%FE"];

/** Every method and path of the OpenAPI document. */
export function routesOf(spec: { paths: Record<string, Record<string, unknown>> }): { method: string; path: string }[] {
  return Object.entries(spec.paths).flatMap(([path, item]) => Object.keys(item).map((method) => ({ method: method.toUpperCase(), path })));
}

/** Routes whose 4xx are OAuth's (RFC 6749 §5.2) rather than Keyward's, for the OAuth clients that call them. */
const OAUTH_ROUTES = ["/oauth/introspect"];

/** A safe answer: never a 5xx, and an error is JSON in the one shape (OAuth's on an OAuth route). */
export async function expectSafe(res: Response, what: string): Promise<void> {
  expect(`${what} → ${res.status}`).not.toMatch(/→ 5\d\d$/);
  if (res.status >= 400) {
    const body = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new Error(`${what} → ${res.status} answered non-JSON: ${body.slice(0, 100)}`);
    }
    const oauth = res.status < 500 && OAUTH_ROUTES.some((route) => what.includes(route));
    expect(Object.keys(parsed).sort()).toEqual(oauth ? ["error", "error_description"] : expect.arrayContaining(["code", "detail", "error"]));
  } else {
    await res.arrayBuffer();
  }
}

/** What is stored, without what requests are allowed to change (usage counts, last seen). */
export function storedState(db: Database): string {
  return JSON.stringify({
    tokens: db.query("SELECT id, user, name, role, hash, source, expires_at, revoked_at, replaced_by, allowed_ips FROM tokens ORDER BY id").all(),
    users: db.query("SELECT * FROM users ORDER BY username").all(),
    devices: db.query("SELECT id, fingerprint, label, status FROM devices ORDER BY id").all(),
    deviceTokens: db.query("SELECT * FROM device_tokens ORDER BY id").all(),
  });
}

/** storedState through drizzle, on either engine (the in-process tests run on PostgreSQL too). */
export async function storedStateOf(db: Db): Promise<string> {
  const { tokens, users, devices, deviceTokens } = tablesOf(db);
  const { id, user, name, role, hash, source, expiresAt, revokedAt, replacedBy, allowedIps } = tokens;
  return JSON.stringify({
    tokens: await db.select({ id, user, name, role, hash, source, expiresAt, revokedAt, replacedBy, allowedIps }).from(tokens).orderBy(tokens.id),
    users: await db.select().from(users).orderBy(users.username),
    devices: await db.select({ id: devices.id, fingerprint: devices.fingerprint, label: devices.label, status: devices.status }).from(devices).orderBy(devices.id),
    deviceTokens: await db.select().from(deviceTokens).orderBy(deviceTokens.id),
  });
}
