import { describe, expect, test } from "bun:test";
import { ConfigError } from "../src/config";
import { displayDb, parseDbTarget } from "../src/config-db";
import { resolveConfig } from "../src/config-load";

const PASSWORD = "Tr0ub4dor-3";
const URL = `postgres://keyward:${PASSWORD}@db.lan:5432/keyward`;

describe("KEYWARD_DB names a SQLite file or a PostgreSQL server", () => {
  test.each([
    ["./data/keyward.db", { kind: "sqlite", path: "./data/keyward.db" }],
    [":memory:", { kind: "sqlite", path: ":memory:" }],
    ["/var/lib/keyward/keyward.db", { kind: "sqlite", path: "/var/lib/keyward/keyward.db" }],
    ["C:/keyward/keyward.db", { kind: "sqlite", path: "C:/keyward/keyward.db" }],
    // A URL starts with its scheme: `://` further in is part of a file name.
    ["data/a://b.db", { kind: "sqlite", path: "data/a://b.db" }],
    ["./postgres://h/db", { kind: "sqlite", path: "./postgres://h/db" }],
    [URL, { kind: "postgres", url: URL }],
    ["postgresql://keyward@db.lan/keyward", { kind: "postgres", url: "postgresql://keyward@db.lan/keyward" }],
    ["POSTGRES://u:p@H/db", { kind: "postgres", url: "postgres://u:p@H/db" }],
    ["PostgreSQL://u:p@h/db", { kind: "postgres", url: "postgresql://u:p@h/db" }],
    ["postgresql://user:p%40ss@h/db", { kind: "postgres", url: "postgresql://user:p%40ss@h/db" }],
    ["postgres://[::1]:5432/db?sslmode=disable", { kind: "postgres", url: "postgres://[::1]:5432/db?sslmode=disable" }],
    ["  postgres://h/db  ", { kind: "postgres", url: "postgres://h/db" }],
  ])("%p", (raw, target) => {
    expect(parseDbTarget(raw)).toEqual(target as ReturnType<typeof parseDbTarget>);
  });

  test.each([
    ["postgres:", "is not a PostgreSQL URL Keyward can read: write postgres://user:password@host:5432/database"],
    ["postgres:/db", "is not a PostgreSQL URL"],
    ["postgresql:keyward.db", "is not a PostgreSQL URL"],
    ["postgres://", "is not a PostgreSQL URL"],
    ["postgres:///keyward", "is not a PostgreSQL URL"],
    ["postgres://u:p@h:99999/db", "is not a PostgreSQL URL"],
    ["postgres://h/d\nb", "is not a PostgreSQL URL"],
    ["mysql://u:p@h/db", "is a URL of a kind Keyward cannot use"],
    ["sqlite://data/keyward.db", "is a URL of a kind Keyward cannot use"],
    ["a\0b", "must be a file path or a postgres:// URL"],
    ["postgres://u:pa%ss@h/db", "has a % that is not percent-encoding: write it %25"],
    ["postgres://u:p@h/db?password=50%", "has a % that is not percent-encoding"],
  ])("refuses %p", (raw, message) => {
    expect(() => parseDbTarget(raw)).toThrow(message);
  });
});

describe("a database URL is shown without its password", () => {
  test.each([
    [URL, "postgres://keyward:***@db.lan:5432/keyward"],
    ["POSTGRESQL://user:p%40ss@h/db", "POSTGRESQL://user:***@h/db"],
    ["postgres://:secret@h/db", "postgres://:***@h/db"],
    ["postgres://u:a:b@h/db", "postgres://u:***@h/db"],
    // Malformed: everything up to the last @ goes.
    ["postgres://u:p@ss@h/db", "postgres://u:***@h/db"],
    ["postgres://u:pa/ss#x@h/db", "postgres://u:***@h/db"],
    ["postgres:/u:secret@h", "postgres:/u:***@h"],
    ["postgress://u:secret@h/db", "postgress://u:***@h/db"],
    ["postgres://h/db?sslmode=require&password=secret", "postgres://h/db?sslmode=require&password=***"],
    ["postgres://h/db?sslpassword=secret&x=1", "postgres://h/db?sslpassword=***&x=1"],
    ["postgres://keyward@h/db", "postgres://keyward@h/db"],
    ["./data/keyward.db", "./data/keyward.db"],
    ["data/u:secret@h.db", "data/u:secret@h.db"],
  ])("%p → %p", (raw, shown) => {
    expect(displayDb(raw)).toBe(shown);
  });
});

describe("a PostgreSQL URL", () => {
  const refusal = (sources: Parameters<typeof resolveConfig>[0]) => {
    try {
      resolveConfig(sources);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error("the configuration was accepted");
  };

  test.each([
    ["KEYWARD_DB", { flags: {}, env: { KEYWARD_DB: URL }, dotenv: {} }],
    ["--db", { flags: { db: URL }, env: {}, dotenv: {} }],
    ["KEYWARD_DB (in .env)", { flags: {}, env: {}, dotenv: { KEYWARD_DB: URL } }],
  ])("from %s: needs SECRET_KEY, which every instance shares", (_source, sources) => {
    expect(refusal(sources)).toBe(
      "SECRET_KEY is required with a PostgreSQL KEYWARD_DB: give every instance the same one (it encrypts the secrets they share in the database)",
    );
    const config = resolveConfig({ ...sources, env: { ...sources.env, SECRET_KEY: "s".repeat(32) } });
    expect(config.db).toBe(URL);
  });

  test("its scheme is read in any case, and kept in lower case", () => {
    const config = resolveConfig({ flags: {}, env: { KEYWARD_DB: URL.replace("postgres", "PostgreSQL"), SECRET_KEY: "s".repeat(32) }, dotenv: {} });
    expect(config.db).toBe(URL.replace("postgres", "postgresql"));
  });

  test.each([
    [`postgres://keyward:${PASSWORD}/x@db.lan:99999/kw`, 'KEYWARD_DB="postgres://keyward:***@db.lan:99999/kw": is not a PostgreSQL URL Keyward can read'],
    [`postgres:/keyward:${PASSWORD}@db.lan/kw`, 'KEYWARD_DB="postgres:/keyward:***@db.lan/kw": is not a PostgreSQL URL Keyward can read'],
    [`postgress://keyward:${PASSWORD}@db.lan/kw`, 'KEYWARD_DB="postgress://keyward:***@db.lan/kw": is a URL of a kind Keyward cannot use'],
  ])("a malformed or mistyped URL (%p) is refused without its password too", (raw, start) => {
    const message = refusal({ flags: {}, env: { KEYWARD_DB: raw }, dotenv: {} });
    expect(message).toStartWith(start);
    expect(message).not.toContain(PASSWORD);
  });

  test("a SQLite path is taken as it is", () => {
    expect(resolveConfig({ flags: {}, env: { KEYWARD_DB: "data/a://b.db" }, dotenv: {} }).db).toBe("data/a://b.db");
  });
});
