import { expect } from "bun:test";
import type { RunningServer } from "./server";

/** An admin token for tests: the server takes it from KEYWARD_ADMIN_TOKEN. */
export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** JSON calls with a Bearer token, as a client script would make them: to a running server, or to `inProcessApp`. */
export function client(server: Pick<RunningServer, "fetch">, token: string = ADMIN_TOKEN) {
  const call = async <T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> => {
    const res = await server.fetch(path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // plain-text answers stay text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  };
  return {
    /** Any method, with headers of its own. */
    call,
    get: <T = any>(path: string, headers?: Record<string, string>) => call<T>("GET", path, undefined, headers),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => call<T>("POST", path, body, headers),
    delete: <T = any>(path: string) => call<T>("DELETE", path),
  };
}

/** A POST of form fields, as a browser's login form sends them. */
export const formPost = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString(),
});

/** A POST of a JSON body. */
export const jsonPost = (body: unknown, headers: Record<string, string> = {}) => ({ method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

/** Adds an account through the API as the admin; the answer's body. */
export async function addAccount(server: Pick<RunningServer, "fetch">, username: string, password: string, role = "user") {
  const res = await client(server).post("/api/v1/users", { username, password, role });
  expect(res.status).toBe(201);
  return res.body;
}

/** The RFC 7662 answer for an active API token, as POST /api/v1/tokens described it. */
export const activeIntrospection = (issued: { id: string; user: string; role: string; created_at: string; expires_at: string }) => ({
  active: true,
  sub: issued.user,
  username: issued.user,
  scope: issued.role,
  exp: Math.floor(Date.parse(issued.expires_at) / 1000),
  iat: Math.floor(Date.parse(issued.created_at) / 1000),
  token_type: "api",
  client_id: issued.id,
});
