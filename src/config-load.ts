import { existsSync, readFileSync } from "node:fs";
import { ConfigError, settings, type Config, type ConfigSources, type Setting } from "./config";
import { databaseProblem } from "./config-db";
import { envTokenProblem } from "./config-env-tokens";
import { portalProblem } from "./config-portal";
import { EnvFileError, parseEnvFile } from "./lib/env-file";

/** Resolves every setting from its sources; throws ConfigError naming the first bad value. */
export function resolveConfig(sources: ConfigSources): Config {
  const config: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings) as [string, Setting<unknown>][]) {
    config[key] = resolveSetting(s, sources);
  }
  const problem = databaseProblem(config as Config) ?? envTokenProblem(config as Config) ?? portalProblem(config as Config);
  if (problem !== null) throw new ConfigError(problem);
  return config as Config;
}

function resolveSetting<T>(s: Setting<T>, { flags, env, dotenv }: ConfigSources): T {
  const candidates: [source: string, value: string | undefined][] = [];
  const flag = s.flag === undefined ? undefined : flags[s.flag];
  if (typeof flag === "string" || typeof flag === "boolean") candidates.push([`--${s.flag}`, String(flag)]);
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
    throw new ConfigError(s.secret ? `${source}: ${why}` : `${source}=${JSON.stringify(s.show ? s.show(raw!) : raw)}: ${why}`);
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
