import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./binary";
import { freePort } from "./server";
import { until } from "./until";

export type ProxyName = "nginx" | "caddy";

/** Debian's binaries: CI installs them (.ci/run); elsewhere their tests are skipped when missing. */
export const PROXY_BINARIES: Record<ProxyName, string> = { nginx: "/usr/sbin/nginx", caddy: "/usr/bin/caddy" };
export const proxyAvailable = (name: ProxyName) => existsSync(PROXY_BINARIES[name]) || process.env.CI === "true";

/** The host the Caddy snippet serves; requests name it in Host, as a LAN's DNS would route them. */
export const CADDY_SITE = "nas.lan";

const README = join(import.meta.dir, "../../README.md");

/** The README sections whose snippets are run: `/auth/forward`'s, the portal's whole setup, several instances'. */
export type Section = "forward" | "portal" | "cluster";
const HEADINGS: Record<Section, string> = {
  forward: "### `/auth/forward`",
  portal: "### Browser sign-in (portal)",
  cluster: "### Several instances behind nginx or Caddy",
};

/** The fenced ```nginx or ```caddy block of a README.md section, exactly as written. */
export function readmeSnippet(name: ProxyName, section: Section = "forward"): string {
  const readme = readFileSync(README, "utf8");
  const start = readme.indexOf(HEADINGS[section]);
  if (start === -1) throw new Error(`README.md has no ${HEADINGS[section]} section`);
  const next = readme.slice(start + 1).search(/\n#{2,3} /);
  const text = readme.slice(start, next === -1 ? undefined : start + 1 + next);
  const blocks = [...text.matchAll(new RegExp("^```" + name + "\\n([\\s\\S]*?)^```$", "gm"))];
  if (blocks.length !== 1) throw new Error(`README's ${HEADINGS[section]} section has ${blocks.length} \`\`\`${name} blocks, not one`);
  return blocks[0]![1]!;
}

export interface Wiring {
  /** Keyward's `host:port`, for the README's `127.0.0.1:8000`. */
  keyward: string;
  /** The protected service's `host:port`, for the README's `127.0.0.1:3000`. */
  upstream: string;
  /** The proxy's own port (Caddy's site address names it; nginx's listen is scaffolding). */
  port: number;
  /** Roles to require, added to Keyward's URL as `?role=`, as the README says to. */
  role?: string;
  /** Scopes to require, added as `?scope=` (after any `?role=`), as the README says to. */
  scope?: string;
}

/**
 * The only change a test makes to a README snippet: its addresses and ports, and a `?role=` or
 * `?scope=` as the README says to add one. Each must be found, so a snippet that drifts fails here.
 */
export function pointedAt(snippet: string, { keyward, upstream, port, role, scope }: Wiring): string {
  let text = swapped(snippet, "127.0.0.1:8000", keyward);
  text = swapped(text, "127.0.0.1:3000", upstream);
  if (text.includes(CADDY_SITE)) text = swapped(text, `http://${CADDY_SITE} {`, `http://${CADDY_SITE}:${port} {`);
  // nginx's `proxy_pass …/auth/forward;`, Caddy's `uri /auth/forward`.
  const query = [role === undefined ? "" : `role=${role}`, scope === undefined ? "" : `scope=${scope}`].filter(Boolean).join("&");
  if (query !== "") text = swapped(text, /\/auth\/forward(?=;|$)/m, `/auth/forward?${query}`);
  return text;
}

/** The README's domain for the portal's hosts, and the one the tests' browser maps to loopback. */
const README_DOMAIN = "home.lan";
export const TEST_DOMAIN = "keyward.test";

/**
 * The portal setup's changes: addresses and ports as for `/auth/forward`'s snippets, and its host
 * names moved to the test's domain on the proxy's port (every `http://….home.lan` URL, nginx's
 * `listen 80` and `server_name`s). Each must be found, so a snippet that drifts fails here.
 */
export function portalPointedAt(snippet: string, { keyward, upstream, port }: Omit<Wiring, "role" | "scope">): string {
  let text = swapped(snippet, "127.0.0.1:8000", keyward);
  text = swapped(text, "127.0.0.1:3000", upstream);
  text = swapped(text, /http:\/\/([a-z0-9-]+)\.home\.lan\b/g, `http://$1.${TEST_DOMAIN}:${port}`);
  if (text.includes("server {")) text = swapped(text, "listen 80;", `listen 127.0.0.1:${port};`);
  return text.replaceAll(README_DOMAIN, TEST_DOMAIN);
}

function swapped(text: string, from: string | RegExp, to: string): string {
  if (typeof from === "string" ? !text.includes(from) : text.search(from) === -1) throw new Error(`the README snippet no longer contains ${from}`);
  return typeof from === "string" ? text.replaceAll(from, to) : text.replace(from, to);
}

export interface RunningProxy {
  /** Where clients connect. */
  url: string;
  /** Headers every request needs (Caddy's Host). */
  headers: Record<string, string>;
  stop(): void;
}

/** Starts Debian's nginx or Caddy with the `/auth/forward` section's snippet pointed at these addresses. */
export async function startProxy(name: ProxyName, wiring: Omit<Wiring, "port">): Promise<RunningProxy> {
  const port = freePort();
  const snippet = pointedAt(readmeSnippet(name), { ...wiring, port });
  // nginx's snippet is a server's locations; Caddy's a site, which names its port.
  const config = name === "nginx" ? `server {\n    listen 127.0.0.1:${port};\n${snippet}\n}` : snippet;
  const headers: Record<string, string> = name === "caddy" ? { host: `${CADDY_SITE}:${port}` } : {};
  return launch(name, port, config, headers);
}

/**
 * Starts Debian's nginx or Caddy with the portal section's whole setup, its servers (or sites)
 * `app.keyward.test` and `auth.keyward.test` both on `port`: KEYWARD_PUBLIC_URL names it too.
 */
export function startPortalProxy(name: ProxyName, wiring: Omit<Wiring, "role">): Promise<RunningProxy> {
  return launch(name, wiring.port, portalPointedAt(readmeSnippet(name, "portal"), wiring), {});
}

/** The README's load balancer host for several instances; requests name it in Host. */
export const CLUSTER_SITE = "keyward.home.lan";

/** Starts Debian's nginx or Caddy with the several-instances snippet in front of these two instances' `host:port`s. */
export function startClusterProxy(name: ProxyName, instances: [string, string]): Promise<RunningProxy> {
  const port = freePort();
  let config = swapped(swapped(readmeSnippet(name, "cluster"), "127.0.0.1:8001", instances[0]), "127.0.0.1:8002", instances[1]);
  config = name === "nginx" ? swapped(config, "listen 80;", `listen 127.0.0.1:${port};`) : swapped(config, `http://${CLUSTER_SITE} {`, `http://${CLUSTER_SITE}:${port} {`);
  return launch(name, port, config, { host: `${CLUSTER_SITE}:${port}` });
}

async function launch(name: ProxyName, port: number, config: string, headers: Record<string, string>): Promise<RunningProxy> {
  const dir = tempDir(`keyward-${name}-`);
  const proc = name === "nginx" ? spawnNginx(dir, config) : spawnCaddy(dir, config);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`${name} did not start: ${await new Response(proc.stderr as ReadableStream).text()}`);
    return fetch(url, { headers }).then(() => true, () => false);
  }, `${name} to answer`, 10_000);
  return { url, headers, stop: () => proc.kill() };
}

/**
 * The least around the snippet's servers that makes nginx run. `underscores_in_headers on` is the
 * riskier setting (off, nginx drops `Remote_User` itself): the snippets must hold with it.
 */
function spawnNginx(prefix: string, servers: string) {
  mkdirSync(join(prefix, "logs"));
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `${kind}_temp_path ${prefix}/${kind};`).join(" ");
  writeFileSync(
    join(prefix, "nginx.conf"),
    `worker_processes 1;
error_log ${prefix}/logs/error.log;
pid ${prefix}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  ${temps}
  underscores_in_headers on;
${servers}
}
`,
  );
  return Bun.spawn([PROXY_BINARIES.nginx, "-p", prefix, "-c", join(prefix, "nginx.conf"), "-g", "daemon off;"], { stdout: "ignore", stderr: "pipe" });
}

/** Caddy keeps its state and autosaved config under HOME and XDG: all in the temporary directory. */
function spawnCaddy(dir: string, sites: string) {
  const file = join(dir, "Caddyfile");
  writeFileSync(
    file,
    `{
\tadmin off
\tauto_https off
\tstorage file_system ${join(dir, "storage")}
\tdefault_bind 127.0.0.1
}
${sites}`,
  );
  return Bun.spawn([PROXY_BINARIES.caddy, "run", "--config", file, "--adapter", "caddyfile"], {
    stdout: "ignore",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, XDG_DATA_HOME: join(dir, "data"), XDG_CONFIG_HOME: join(dir, "config") },
  });
}
