import type { Config } from "./config";
import { secretBits } from "./config-values";

/**
 * Below this an environment token can be guessed, and every endpoint that checks a token
 * (introspection included) answers whether a guess was right. Lockout slows guessing; it cannot
 * make a short secret long.
 */
export const MIN_ENV_TOKEN_BITS = 128;

type EnvTokenSettings = Pick<Config, "adminToken" | "apiTokens">;

/** The environment tokens under MIN_ENV_TOKEN_BITS, described without their value. */
export function weakEnvTokens({ adminToken, apiTokens }: EnvTokenSettings): string[] {
  const describe = (name: string, token: string) => `${name} (at most ${secretBits(token)} bits)`;
  const weak = apiTokens.flatMap(({ label, token }, index) =>
    secretBits(token) < MIN_ENV_TOKEN_BITS ? [describe(`API_TOKENS entry ${index + 1}${label === null ? "" : ` (${label})`}`, token)] : [],
  );
  if (adminToken !== null && secretBits(adminToken) < MIN_ENV_TOKEN_BITS) weak.unshift(describe("KEYWARD_ADMIN_TOKEN", adminToken));
  return weak;
}

/**
 * What is wrong across the environment-token settings, or null: a value too weak (unless allowed),
 * or one value both the admin token and an API_TOKENS entry (it would be one record, one role).
 */
export function envTokenProblem(config: EnvTokenSettings & Pick<Config, "allowWeakEnvTokens">): string | null {
  const weak = weakEnvTokens(config);
  if (weak.length > 0 && !config.allowWeakEnvTokens) {
    return `${weak.join(", ")}: too weak to be safe, under ${MIN_ENV_TOKEN_BITS} bits even if random. Make one with openssl rand -hex 32, or set KEYWARD_ALLOW_WEAK_ENV_TOKENS=true to accept it anyway`;
  }
  const shared = config.apiTokens.findIndex(({ token }) => token === config.adminToken);
  return shared === -1 ? null : `KEYWARD_ADMIN_TOKEN and API_TOKENS entry ${shared + 1} are the same token; give each its own`;
}
