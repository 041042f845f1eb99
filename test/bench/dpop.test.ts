import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { enrollKeyedDevices, proofScripts, type KeyedDevice } from "../../bench/dpop";
import { inProcessApp } from "../helpers/app";

/**
 * The benchmark signs its DPoP proofs with its own code (bench/dpop.ts), not the tests' helper: a
 * run whose requests Keyward refused would measure refusals, so they are held to the real check here.
 */
describe("the benchmark's DPoP requests", () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((undo) => undo()));

  async function served() {
    const kw = await inProcessApp();
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => kw.app.handle(request) });
    const dir = mkdtempSync(join(tmpdir(), "keyward-bench-dpop-"));
    cleanup.push(() => server.stop(true), () => rmSync(dir, { recursive: true, force: true }));
    return { origin: `http://127.0.0.1:${server.port}`, dir };
  }

  /** The lines a script would send (path, Authorization, proof), sent as wrk would. */
  const send = (origin: string, line: string) => {
    const [path, authorization, dpop] = line.split("\t");
    return fetch(`${origin}${path}`, { headers: { dpop: dpop!, ...(authorization ? { authorization } : {}) } }).then((res) => res.status);
  };

  test.each([
    ["the short-token check", 3, (d: KeyedDevice) => ({ path: `/api/v1/tokens/verify?short_token=${d.short}&hardware_fingerprint=${d.fingerprint}` })],
    ["GET /api/v1/me as DPoP", 1, (d: KeyedDevice) => ({ path: "/api/v1/me", authorization: `DPoP ${d.main}`, token: d.main })],
  ] as const)("%s: the devices take turns, each request passes once, and a replay is an error", async (_, paths, request) => {
    const { origin, dir } = await served();
    const devices = await enrollKeyedDevices(origin, 3);
    const script = proofScripts(dir, origin, devices, request, 1)(0.001);
    expect(readFileSync(script, "utf8")).toContain("requests.tsv");
    const lines = readFileSync(join(dir, "requests.tsv"), "utf8").trim().split("\n");
    expect(lines.length).toBe(6);
    expect(new Set(lines.map((line) => line.split("\t")[0])).size).toBe(paths);
    expect(await Promise.all(lines.map((line) => send(origin, line)))).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await send(origin, lines[0]!)).toBe(401);
  });
});
