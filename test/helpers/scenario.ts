import { expect, test } from "bun:test";
import { ADMIN_TOKEN } from "./api";
import { inProcessApp } from "./app";

export type App = Awaited<ReturnType<typeof inProcessApp>>;

/**
 * One request against a fresh in-process app and what must come back, after PocketBase's
 * `ApiScenario`: a table of these reads as the feature's rules.
 */
export interface ApiScenario {
  name: string;
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  url: string;
  /** JSON, or form fields with `form: true`. */
  body?: unknown;
  form?: boolean;
  /** Bearer token; the admin's by default, "" for none, or a function of what `before` made. */
  token?: string | ((made: Record<string, string>) => string);
  /** Environment for the app, on top of KEYWARD_ADMIN_TOKEN. */
  env?: Record<string, string>;
  /** Seeds the app; what it returns is passed to `token`. */
  before?: (app: App) => Promise<Record<string, string> | void> | Record<string, string> | void;
  status: number;
  /** The whole JSON body, when given. */
  json?: unknown;
  /** Substrings the body must hold, and must not. */
  contains?: string[];
  lacks?: string[];
  /** Checks on the app afterwards: what is stored, audited, logged. */
  after?: (app: App) => Promise<void> | void;
}

export function scenarios(list: ApiScenario[]): void {
  for (const scenario of list) test(scenario.name, () => runScenario(scenario));
}

async function runScenario({ method = "GET", url, body, form, token = ADMIN_TOKEN, env = {}, before, status, json, contains = [], lacks = [], after }: ApiScenario) {
  const app = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
  const made = (await before?.(app)) ?? {};
  const bearer = typeof token === "function" ? token(made) : token;
  const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : {};
  let sent: string | undefined;
  if (body !== undefined && form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    sent = new URLSearchParams(body as Record<string, string>).toString();
  } else if (body !== undefined) {
    headers["content-type"] = "application/json";
    sent = JSON.stringify(body);
  }
  const res = await app.fetch(url, { method, headers, body: sent });
  const text = await res.text();
  expect(`${method} ${url} → ${res.status}`).toBe(`${method} ${url} → ${status}`);
  if (json !== undefined) expect(JSON.parse(text)).toEqual(json);
  for (const part of contains) expect(text).toContain(part);
  for (const part of lacks) expect(text).not.toContain(part);
  await after?.(app);
}
