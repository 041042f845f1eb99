import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { tempDir } from "../helpers/binary";
import { freePort, startKeyward, type RunningServer } from "../helpers/server";
import { until } from "../helpers/until";

/** CI installs nginx (.ci/run); elsewhere the test is skipped when it is missing. */
const NGINX = "/usr/sbin/nginx";
const hasNginx = existsSync(NGINX) || process.env.CI === "true";
setDefaultTimeout(20_000);

let keyward: RunningServer;
let nginx: Bun.Subprocess;
let upstream: ReturnType<typeof Bun.serve>;
let front: string;

beforeAll(async () => {
  if (!hasNginx) return;
  keyward = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_TRUSTED_PROXIES: "127.0.0.1" } });
  // The protected service: it reports who nginx says is calling.
  upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) => Response.json({ remoteUser: req.headers.get("remote-user"), remoteGroups: req.headers.get("remote-groups") }),
  });
  const prefix = tempDir("keyward-nginx-");
  mkdirSync(join(prefix, "logs"));
  const port = freePort();
  front = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(prefix, "nginx.conf"),
    `worker_processes 1;
error_log ${prefix}/logs/error.log;
pid ${prefix}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /_keyward {
      internal;
      proxy_pass ${keyward.url}/auth/forward;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location / {
      auth_request /_keyward;
      auth_request_set $keyward_user $upstream_http_remote_user;
      auth_request_set $keyward_groups $upstream_http_remote_groups;
      proxy_set_header Remote-User $keyward_user;
      proxy_set_header Remote-Groups $keyward_groups;
      proxy_pass http://127.0.0.1:${upstream.port};
    }
  }
}
`,
  );
  nginx = Bun.spawn([NGINX, "-p", prefix, "-c", join(prefix, "nginx.conf"), "-g", "daemon off;"], { stdout: "ignore", stderr: "pipe" });
  const started = nginx;
  await until(async () => {
    if (started.exitCode !== null) throw new Error(`nginx did not start: ${await new Response(started.stderr as ReadableStream).text()}`);
    return fetch(front).then(() => true, () => false);
  }, "nginx to answer");
});

afterAll(async () => {
  nginx?.kill();
  upstream?.stop(true);
  await keyward?.stop();
});

describe.skipIf(!hasNginx)("a real nginx in front of a service, asking Keyward", () => {
  test("no token → 401 from nginx, and the service is never reached", async () => {
    const res = await fetch(`${front}/dashboard`);
    expect(res.status).toBe(401);
  });

  test("a valid token → 200, and the service sees Remote-User and Remote-Groups", async () => {
    const { token } = (await client(keyward).post("/api/v1/tokens", { user: "alice", role: "analyst" })).body;
    const res = await fetch(`${front}/dashboard`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ remoteUser: "alice", remoteGroups: "analyst" });
    const viaQuery = await fetch(`${front}/dashboard?token=${token}`);
    expect(viaQuery.status).toBe(200);
  });

  test("a revoked token → 401 within a second", async () => {
    const { token, id } = (await client(keyward).post("/api/v1/tokens", { user: "bob" })).body;
    expect((await fetch(`${front}/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await client(keyward).delete(`/api/v1/tokens/${id}`);
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < 1000) {
      status = (await fetch(`${front}/`, { headers: { authorization: `Bearer ${token}` } })).status;
    }
    expect(status).toBe(401);
    const audit = await client(keyward).get("/api/v1/audit?action=auth.failed&limit=1");
    expect(audit.body[0]).toMatchObject({ user: "bob", detail: "token revoked", ip: "127.0.0.1" });
  });
});
