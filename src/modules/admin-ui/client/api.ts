/// <reference lib="dom" />
/** The admin token lives in sessionStorage: this tab only, gone when it closes, never in a URL. */
const KEY = "keyward-admin-token";

export const session = {
  get: () => sessionStorage.getItem(KEY),
  set: (token: string) => sessionStorage.setItem(KEY, token),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body: unknown, token: string | null): Promise<{ data: T; headers: Headers }> {
  const res = await fetch(path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, typeof data === "object" && data?.error ? data.error : `HTTP ${res.status}`);
  return { data: data as T, headers: res.headers };
}

export async function api<T = any>(method: string, path: string, body?: unknown, token = session.get()): Promise<T> {
  return (await call<T>(method, path, body, token)).data;
}

/** One page of a list, and the cursor of the next page (null on the last), from X-Next-Cursor. */
export async function apiPage<T>(path: string): Promise<{ items: T[]; next: string | null }> {
  const { data, headers } = await call<T[]>("GET", path, undefined, session.get());
  return { items: data, next: headers.get("x-next-cursor") };
}
