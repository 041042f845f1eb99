import { describe, expect, test } from "bun:test";
import { MAX_BODY_BYTES } from "../../src/http/limits";
import { inProcessApp } from "../helpers/app";

const ADMIN = "test-admin-token-0123456789abcdef";

/** A body of `size` bytes with no declared length, sent in 64 KiB pieces: what a chunked upload looks like. */
function streamed(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, (at += 65_536)));
    },
  });
}

async function echo(body: BodyInit, type = "application/json") {
  const { app } = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN });
  const init = { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": type }, body, duplex: "half" };
  return app.handle(new Request("http://localhost/echo", init as RequestInit));
}

const padded = (padding: number) => JSON.stringify({ text: "hi", padding: "x".repeat(padding) });

describe("request bodies without a declared length", () => {
  test("a streamed JSON body of 900 KiB is read whole and answered", async () => {
    const res = await echo(streamed(padded(900 * 1024)));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("You said: hi");
  });

  test("a streamed form body is parsed as a form", async () => {
    const res = await echo(streamed(`text=hello&padding=${"y".repeat(100_000)}`), "application/x-www-form-urlencoded");
    expect(await res.text()).toBe("You said: hello");
  });

  test.each([
    ["just over the limit", MAX_BODY_BYTES + 1],
    ["2 MiB", 2 * 1024 * 1024],
  ])("a streamed body %s → 413 in the error shape, without closing the connection on a client still writing", async (_, size) => {
    const res = await echo(streamed(padded(size)));
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBeNull();
    expect(await res.json()).toEqual({ error: `Request bodies are limited to ${MAX_BODY_BYTES} bytes`, code: "body_too_large", detail: `Request bodies are limited to ${MAX_BODY_BYTES} bytes` });
  });

  test("malformed JSON streamed is still a 400, not a 413", async () => {
    const res = await echo(streamed("{not json"));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("malformed_body");
  });

  test.each([
    ["/login", "POST", JSON.stringify({ username: "admin", password: "x".repeat(2 * 1024 * 1024) })],
    ["/api/v1/tokens/tok_0000000000000000/rotate", "POST", JSON.stringify({ grace: "1m", padding: "x".repeat(2 * 1024 * 1024) })],
  ])("a route whose body is optional (%s) answers a streamed oversized body with the 413, never runs without it", async (path, method, body) => {
    const { app } = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN });
    const init = { method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: streamed(body), duplex: "half" };
    const res = await app.handle(new Request(`http://localhost${path}`, init as RequestInit));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe("body_too_large");
  });
});
