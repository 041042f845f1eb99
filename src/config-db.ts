/** Where the data lives, as KEYWARD_DB names it: a SQLite file, or a PostgreSQL server. */
export type DbTarget = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

const postgresScheme = /^postgres(?:ql)?:/i;
const postgresStart = /^postgres(?:ql)?:\/\//i;
/** A scheme is two or more characters: one letter is a Windows drive (C:/data). */
const scheme = /^\s*[a-z][a-z0-9+.-]+:/i;
const anyUrl = /^[a-z][a-z0-9+.-]+:\/\//i;

const URL_FORM = "postgres://user:password@host:5432/database";

/**
 * Reads KEYWARD_DB. Only a value that starts with a scheme and `://` is a URL: `data/a://b.db` is
 * a file path. One that starts `postgres:` but is not a whole URL is refused rather than taken for
 * a file, and so is a URL of another kind (mysql://…): either way the operator meant a server.
 */
export function parseDbTarget(raw: string): DbTarget {
  if (raw.includes("\0")) throw new Error("must be a file path or a postgres:// URL");
  const text = raw.trim();
  if (postgresScheme.test(text)) return { kind: "postgres", url: postgresUrl(text) };
  if (anyUrl.test(text)) throw new Error("is a URL of a kind Keyward cannot use: give a SQLite file path");
  return { kind: "sqlite", path: raw };
}

/** The URL with its scheme lower-cased; its user, password and database are left as written. */
function postgresUrl(text: string): string {
  // URL parsing drops tabs and line breaks silently: a value holding one is not what it looks like.
  const url = /[\0-\x1f\x7f]/.test(text) ? null : URL.parse(text);
  if (url === null || !postgresStart.test(text) || url.hostname === "") {
    throw new Error(`is not a PostgreSQL URL Keyward can read: write ${URL_FORM}`);
  }
  // The driver decodes it and throws a bare "URI error" on a % that starts no escape (a raw password).
  if (/%(?![0-9a-f]{2})/i.test(text)) throw new Error(`has a % that is not percent-encoding: write it %25 (and @ / # ? in a password as %40 %2F %23 %3F)`);
  return text.replace(postgresScheme, (name) => name.toLowerCase());
}

/** KEYWARD_DB checked: a SQLite file path as given, or a PostgreSQL URL (its scheme lower-cased). */
export function parseDb(raw: string): string {
  const target = parseDbTarget(raw);
  return target.kind === "postgres" ? target.url : target.path;
}

/**
 * Several instances on one PostgreSQL share the device signing key, kept in the database
 * encrypted with SECRET_KEY: each needs it, and the same one.
 */
export function databaseProblem({ db, secretKey }: { db: string; secretKey: string | null }): string | null {
  if (parseDbTarget(db).kind === "postgres" && secretKey === null) {
    return "SECRET_KEY is required with a PostgreSQL KEYWARD_DB: give every instance the same one (it encrypts the secrets they share in the database)";
  }
  return null;
}

/**
 * The database as logs, CLI output and errors show it: a URL's password is masked, in the user
 * part and in a `password=` parameter. Everything up to the last `@` is the user part, so a
 * malformed URL (`postgres:/`, an unencoded `/` or `@` in the password) is masked too, if more
 * than needed. A file path is shown as it is.
 */
export function displayDb(text: string): string {
  if (!scheme.test(text)) return text;
  return text.replace(/^(\s*[a-z][a-z0-9+.-]+:\/*[^:/?#@]*:).*@/is, "$1***@").replace(/([?&][a-z_]*password=)[^&#]*/gi, "$1***");
}
