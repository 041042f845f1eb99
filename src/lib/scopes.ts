import { DomainError } from "./errors";

/** A credential carries at most this many scopes, each at most this long. */
export const MAX_SCOPES = 32;
export const MAX_SCOPE_LENGTH = 64;

/**
 * RFC 6749 §3.3's scope-token: printable ASCII but space, `"` and `\`. Nothing outside ASCII, so a
 * look-alike (Cyrillic а, a fullwidth letter, a zero-width space) is refused, never a second spelling.
 * Compared exactly, case included, as the RFC says.
 */
const scopeToken = new RegExp(`^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,${MAX_SCOPE_LENGTH}}$`);

export const SCOPE_RULES = `At most ${MAX_SCOPES} scopes, each 1 to ${MAX_SCOPE_LENGTH} printable ASCII characters other than space, " and \\ (RFC 6749 scope tokens), none twice`;

const invalid = (message: string) => new DomainError("invalid", "invalid_scopes", `${message}. ${SCOPE_RULES}`);

/** A credential's scopes as given by an admin: checked strictly, kept in the order given; none is null. */
export function parseScopes(list: readonly string[] | null | undefined): string[] | null {
  if (!list || list.length === 0) return null;
  if (list.length > MAX_SCOPES) throw invalid(`${list.length} scopes`);
  const bad = list.find((scope) => !scopeToken.test(scope));
  if (bad !== undefined) throw invalid(`${JSON.stringify(bad.slice(0, MAX_SCOPE_LENGTH + 1))} is not a scope`);
  if (new Set(list).size !== list.length) throw invalid("A scope is given twice");
  return [...list];
}

/**
 * The scopes a proxy asks for (`?scope=a&scope=b` or `?scope=a%20b`): every one is required, as in
 * OAuth. Null when the list is not one a credential could ever carry (empty, too many, a bad
 * name): a misconfigured proxy, refused rather than read as "no check".
 */
export function requestedScopes(values: readonly string[]): string[] | null {
  const wanted = new Set<string>();
  for (const value of values) {
    // Bounded before splitting: whatever a URL holds, the work stops at the first excess.
    if (value.length > MAX_SCOPES * (MAX_SCOPE_LENGTH + 1)) return null;
    for (const scope of value.split(" ")) {
      if (scope === "") continue;
      if (!scopeToken.test(scope)) return null;
      wanted.add(scope);
      if (wanted.size > MAX_SCOPES) return null;
    }
  }
  return wanted.size === 0 ? null : [...wanted];
}

/** Whether a credential carrying `granted` has every one of `wanted`. One without scopes has none. */
export const carriesAll = (granted: readonly string[], wanted: readonly string[]) => wanted.every((scope) => granted.includes(scope));
