import { expect, spyOn, test } from "bun:test";
import { inProcessApp } from "../helpers/app";

test("each app's OpenAPI document describes that app, even with several in one process", async () => {
  const securityOf = async (kw: Awaited<ReturnType<typeof inProcessApp>>) => {
    const document = (await (await kw.fetch("/swagger/json")).json()) as { paths: Record<string, { get?: { security?: Record<string, string[]>[] } }> };
    return document.paths["/data"]?.get?.security?.flatMap((requirement) => Object.keys(requirement));
  };
  const withQuery = await inProcessApp({ KEYWARD_ALLOW_QUERY_TOKEN: "true" });
  const withoutQuery = await inProcessApp({ KEYWARD_ALLOW_QUERY_TOKEN: "false" });
  expect(await securityOf(withQuery)).toContain("queryToken");
  expect(await securityOf(withoutQuery)).not.toContain("queryToken");
  // Asked again, after the other app was built: still its own.
  expect(await securityOf(withQuery)).toContain("queryToken");
});

test("the OpenAPI document is serialized once, not on each request (150 KB: about a millisecond of a core per request)", async () => {
  const kw = await inProcessApp();
  const first = await kw.fetch("/swagger/json");
  const text = await first.text();
  expect(first.headers.get("content-type")).toBe("application/json;charset=utf-8");
  const serialize = spyOn(Response, "json");
  const stringify = spyOn(JSON, "stringify");
  try {
    for (let i = 0; i < 3; i++) expect(await (await kw.fetch("/swagger/json")).text()).toBe(text);
    expect(serialize).not.toHaveBeenCalled();
    // (The access log may stringify its own small lines.)
    expect(stringify.mock.calls.filter(([value]) => typeof value === "object" && value !== null && "openapi" in value)).toEqual([]);
  } finally {
    serialize.mockRestore();
    stringify.mockRestore();
  }
});

test("every operation that can fail inside says so: 500, and 503 with Retry-After for a database another process holds", async () => {
  const kw = await inProcessApp({ KEYWARD_PUBLIC_URL: "https://auth.home.lan" });
  const document = (await (await kw.fetch("/swagger/json")).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
  const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ at: `${method} ${path}`, statuses: Object.keys(operation.responses) })));
  const undeclared = operations.filter(({ statuses }) => statuses.includes("500") && !statuses.includes("503")).map(({ at }) => at);
  expect(operations.filter(({ statuses }) => statuses.includes("500")).length).toBeGreaterThan(20);
  expect(undeclared).toEqual([]);
});
