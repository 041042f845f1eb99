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
    get: <T = any>(path: string, headers?: Record<string, string>) => call<T>("GET", path, undefined, headers),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => call<T>("POST", path, body, headers),
    delete: <T = any>(path: string) => call<T>("DELETE", path),
  };
}
