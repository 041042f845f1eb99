import { expect, test } from "bun:test";
import { inProcessApp } from "../helpers/app";

test("each app's OpenAPI document describes that app, even with several in one process", async () => {
  const securityOf = async (kw: ReturnType<typeof inProcessApp>) => {
    const document = (await (await kw.fetch("/swagger/json")).json()) as { paths: Record<string, { get?: { security?: Record<string, string[]>[] } }> };
    return document.paths["/data"]?.get?.security?.flatMap((requirement) => Object.keys(requirement));
  };
  const withQuery = inProcessApp({ KEYWARD_ALLOW_QUERY_TOKEN: "true" });
  const withoutQuery = inProcessApp({ KEYWARD_ALLOW_QUERY_TOKEN: "false" });
  expect(await securityOf(withQuery)).toContain("queryToken");
  expect(await securityOf(withoutQuery)).not.toContain("queryToken");
  // Asked again, after the other app was built: still its own.
  expect(await securityOf(withQuery)).toContain("queryToken");
});
