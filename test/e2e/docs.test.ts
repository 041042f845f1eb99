import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startKeyward, type RunningServer } from "../helpers/server";

let server: RunningServer;
beforeAll(async () => {
  server = await startKeyward();
});
afterAll(() => server.stop());

/** Every URL the page would load by itself: script src, link href, CSS url() and @import. */
function loadedUrls(html: string): string[] {
  const attrs = [...html.matchAll(/<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
  return [...attrs, ...cssUrls(html)];
}

function cssUrls(css: string): string[] {
  return [...css.matchAll(/url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)/gi)]
    .map((m) => (m[1] ?? m[2])!)
    .filter((u) => !u.startsWith("data:"));
}

describe("the OpenAPI page", () => {
  test("/swagger is an HTML page whose scripts, styles and fonts all come from this server", async () => {
    const res = await server.fetch("/swagger");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    const urls = loadedUrls(html);
    expect(urls.length).toBeGreaterThanOrEqual(2);
    for (const url of urls) expect(url).not.toMatch(/^(https?:)?\/\//i);
    for (const url of urls) {
      const asset = await server.fetch(new URL(url, `${server.url}/swagger`).pathname);
      expect(asset.status).toBe(200);
      const body = await asset.text();
      if (url.endsWith(".css")) {
        expect(asset.headers.get("content-type")).toContain("text/css");
        for (const inner of cssUrls(body)) expect(inner).not.toMatch(/^(https?:)?\/\//i);
      } else {
        expect(asset.headers.get("content-type")).toContain("javascript");
        expect(body).toContain("SwaggerUIBundle");
      }
    }
  });

  test("the page starts Swagger UI from a file, under a strict policy, without the online validator", async () => {
    const res = await server.fetch("/swagger");
    const html = await res.text();
    expect(html).not.toMatch(/<script>|\son\w+=/);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self';");
    const start = await (await server.fetch("/swagger/assets/start.js")).text();
    expect(start).toContain('url: "/swagger/json"');
    expect(start).toContain('validatorUrl: "none"');
  });

  test("/swagger/json is an OpenAPI 3 document listing every route, with security schemes", async () => {
    const res = await server.fetch("/swagger/json");
    expect(res.status).toBe(200);
    const spec = (await res.json()) as {
      openapi: string;
      info: { title: string; version: string };
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, { type: string }> };
    };
    expect(spec.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(spec.info.title).toBe("Keyward");
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(spec.components.securitySchemes.queryToken).toMatchObject({ type: "apiKey", in: "query", name: "token" });
    expect(spec.components.securitySchemes.hardwareFingerprint).toMatchObject({ type: "apiKey", in: "header", name: "X-Hardware-Fingerprint" });
    expect(Object.keys(spec.paths["/health"]!)).toEqual(["get"]);
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(`${method} ${path}: ${Object.keys(operation.responses ?? {}).length}`).not.toEndWith(": 0");
      }
    }
    expect(spec.paths["/health"]!.get!.responses).toContainKeys(["200", "503"]);
    expect(Object.keys(spec.paths).some((p) => p.startsWith("/swagger"))).toBe(false);
  });

  test("every route declares how to present a token: the public ones none, enrollment an optional one", async () => {
    const spec = (await (await server.fetch("/swagger/json")).json()) as {
      paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
    };
    const paths = Object.keys(spec.paths);
    expect(paths).toEqual(
      expect.arrayContaining(["/", "/login", "/echo", "/data", "/api/v1/me", "/api/v1/tokens", "/api/v1/tokens/{id}", "/api/v1/tokens/{id}/rotate", "/api/v1/users", "/api/v1/users/{username}", "/api/v1/audit"]),
    );
    const open: Record<string, Record<string, string[]>[]> = {
      "/": [],
      "/health": [],
      "/login": [],
      "/api/v1/tokens/verify": [],
      "/api/v1/tokens/main": [{}, { bearer: [] }],
    };
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const operation of Object.values(item)) {
        if (path in open) expect(operation.security).toEqual(open[path]!);
        else expect(operation.security).toContainEqual({ bearer: [] });
      }
    }
  });

  test("every $ref in the spec points at something that exists", async () => {
    const spec = await (await server.fetch("/swagger/json")).json();
    const refs = [...JSON.stringify(spec).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) {
      const target = ref.split("/").reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], spec);
      expect(target).toBeDefined();
    }
  });
});
