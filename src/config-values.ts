import { parseCidr, type Cidr } from "./lib/cidr";
import { parseDuration } from "./lib/durations";
import { normalizeUser } from "./lib/names";

// How each setting's text becomes its value. A parser throws an Error whose message finishes the
// sentence "<SOURCE>=<value>: …"; the config module adds the source.

/** One API_TOKENS entry: the label becomes the user (and the role, when it is admin). */
export interface EnvToken {
  label: string | null;
  token: string;
}

export function parseWhole(raw: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new Error(`must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}

export function parsePort(raw: string): number {
  return parseWhole(raw, 0, 65535);
}

export function parseHost(raw: string): string {
  if (!/^(\[[0-9A-Fa-f:.%\w]+\]|[0-9A-Fa-f:.%]+|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/.test(raw)) {
    throw new Error("must be a host name or an IP address");
  }
  return raw.startsWith("[") ? raw.slice(1, -1) : raw;
}

export function parsePath(raw: string): string {
  if (raw.includes("\0")) throw new Error("must be a file path");
  return raw;
}

export function parseBoolean(raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  throw new Error("must be true or false");
}

const tokenText = /^[\x21-\x7e]{1,512}$/;

export function parseAdminToken(raw: string): string {
  if (!tokenText.test(raw)) throw new Error("must be printable ASCII without spaces, at most 512 characters");
  if (raw.length < 16) throw new Error("is too short to be safe: use at least 16 characters (openssl rand -hex 32)");
  return raw;
}

export function parseSecretKey(raw: string): string {
  if (raw.length < 32) throw new Error("is too short to sign tokens safely: use at least 32 characters (openssl rand -hex 32)");
  return raw;
}

export function parseApiTokens(raw: string): EnvToken[] {
  return raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry, index) => {
      const colon = entry.indexOf(":");
      const label = colon === -1 ? null : entry.slice(0, colon);
      const token = colon === -1 ? entry : entry.slice(colon + 1);
      if (!tokenText.test(token) || token.includes(",")) throw new Error(`entry ${index + 1} has no usable token`);
      try {
        return { label: label === null ? null : normalizeUser(label), token };
      } catch {
        throw new Error(`entry ${index + 1} has a label that is not a user name`);
      }
    });
}

export function oneOf<const T extends string>(allowed: readonly T[]) {
  return (raw: string): T => {
    const value = raw.toLowerCase();
    if (!allowed.includes(value as T)) throw new Error(`must be one of ${allowed.join(", ")}`);
    return value as T;
  };
}

export function parsePositiveDuration(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === 0) throw new Error("must be longer than zero");
  return ms;
}

export function parseDays(raw: string): number {
  if (!/^\d{1,5}(\.\d{1,6})?$/.test(raw.trim()) || Number(raw) <= 0 || Number(raw) > 36_500) {
    throw new Error("must be a number of days above 0 (decimals allowed), at most 36500");
  }
  return Number(raw);
}

export function parseRoleName(raw: string): string {
  const role = raw.trim().toLowerCase();
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(role)) throw new Error("must be a role: a lower-case word");
  return role;
}

export const parseCidrList = (raw: string): Cidr[] => raw.split(",").map((entry) => parseCidr(entry));
