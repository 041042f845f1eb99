import { existsSync, readFileSync } from "node:fs";
import { EnvFileError, parseEnvFile } from "./lib/env-file";

export const logLevels = ["debug", "info", "warn", "error"] as const;
export const logFormats = ["text", "json"] as const;

/** A setting has a bad value; the message names where it came from. Startup exits with 2. */
export class ConfigError extends Error {}

/** Where values come from, highest precedence first: flags, then environment, then `.env`. */
export interface ConfigSources {
  flags: Record<string, unknown>;
  env: Record<string, string | undefined>;
  dotenv: Record<string, string | undefined>;
}

export interface Setting<T> {
  env: readonly string[];
  flag?: string;
  fallback: T;
  parse: (raw: string) => T;
  help: string;
}

const setting = <T>(s: Setting<T>) => s;

/** Every setting Keyward reads: the README's configuration table is written from this list. */
export const settings = {
  host: setting({
    env: ["KEYWARD_HOST"],
    flag: "host",
    fallback: "0.0.0.0",
    parse: parseHost,
    help: "address to listen on (all interfaces by default: it is a LAN server)",
  }),
  port: setting({
    env: ["KEYWARD_PORT", "PORT"],
    flag: "port",
    fallback: 8000,
    parse: parsePort,
    help: "TCP port; 0 picks a free one (the chosen port is logged)",
  }),
  db: setting({
    env: ["KEYWARD_DB"],
    flag: "db",
    fallback: "./data/keyward.db",
    parse: parsePath,
    help: "SQLite database file; its directory is created if missing",
  }),
  logLevel: setting({
    env: ["KEYWARD_LOG"],
    fallback: "info" as (typeof logLevels)[number],
    parse: oneOf(logLevels),
    help: "least severe log level written: debug, info, warn or error",
  }),
  logFormat: setting({
    env: ["KEYWARD_LOG_FORMAT"],
    fallback: "text" as (typeof logFormats)[number],
    parse: oneOf(logFormats),
    help: "text (one readable line per event) or json (one JSON object per line)",
  }),
};

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: Settings[K]["fallback"] };

/** Resolves every setting from its sources; throws ConfigError naming the first bad value. */
export function resolveConfig(sources: ConfigSources): Config {
  const config: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings) as [string, Setting<unknown>][]) {
    config[key] = resolveSetting(s, sources);
  }
  return config as Config;
}

function resolveSetting<T>(s: Setting<T>, { flags, env, dotenv }: ConfigSources): T {
  const candidates: [source: string, value: string | undefined][] = [];
  const flag = s.flag === undefined ? undefined : flags[s.flag];
  if (typeof flag === "string") candidates.push([`--${s.flag}`, flag]);
  for (const name of s.env) candidates.push([name, env[name]]);
  for (const name of s.env) candidates.push([`${name} (in .env)`, dotenv[name]]);
  // An empty value counts as unset, as in most shells' `VAR= command`.
  const found = candidates.find(([, value]) => value !== undefined && value !== "");
  if (!found) return s.fallback;
  const [source, raw] = found;
  try {
    return s.parse(raw!);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`${source}=${JSON.stringify(raw)}: ${why}`);
  }
}

/** Loads the config of this process: its flags, its environment and `./.env` if present. */
export function loadConfig(flags: ConfigSources["flags"], envFile = ".env"): Config {
  return resolveConfig({ flags, env: process.env, dotenv: readDotenv(envFile) });
}

function readDotenv(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  try {
    return parseEnvFile(readFileSync(path, "utf8"));
  } catch (error) {
    if (error instanceof EnvFileError) throw new ConfigError(`${path}: ${error.message}`);
    throw new ConfigError(`cannot read ${path}: ${error instanceof Error ? error.message : error}`);
  }
}

function parsePort(raw: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    throw new Error("must be a whole number from 0 to 65535");
  }
  return Number(raw);
}

function parseHost(raw: string): string {
  if (!/^(\[[0-9A-Fa-f:.%\w]+\]|[0-9A-Fa-f:.%]+|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/.test(raw)) {
    throw new Error("must be a host name or an IP address");
  }
  return raw.startsWith("[") ? raw.slice(1, -1) : raw;
}

function parsePath(raw: string): string {
  if (raw.includes("\0")) throw new Error("must be a file path");
  return raw;
}

function oneOf<const T extends string>(allowed: readonly T[]) {
  return (raw: string): T => {
    const value = raw.toLowerCase();
    if (!allowed.includes(value as T)) throw new Error(`must be one of ${allowed.join(", ")}`);
    return value as T;
  };
}
