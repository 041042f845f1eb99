import { parseDuration, parseLifetime } from "../../lib/durations";
import { DomainError } from "../../lib/errors";
import { presentToken, type TokenRecord } from "../../modules/tokens/model";
import { getToken, issueToken, listTokens, revokeToken, revokeUserTokens, rotateToken, type IssuedToken } from "../../modules/tokens/service";
import { configFlags, type Command, type CommandGroup } from "../command";
import { withDatabase } from "../database";
import { printJson, printRecord, printTable, shortTime } from "../output";
import { pageFlags, pageRequest, printNext } from "../pages";

const cli = { name: "cli" };
const db = configFlags("db");
const json = { options: { json: { type: "boolean" as const } }, help: [{ flag: "--json", text: "print JSON (the API's shape) instead of text" }] };

function withOptions(...parts: Pick<Command, "options" | "help">[]): Pick<Command, "options" | "help"> {
  return { options: Object.assign({}, ...parts.map((p) => p.options)), help: parts.flatMap((p) => p.help) };
}

function durationFlag<T>(flag: string, parse: (text: string) => T, text: string): T {
  try {
    return parse(text);
  } catch (error) {
    throw new DomainError("invalid", "invalid_duration", `--${flag}: ${(error as Error).message}`);
  }
}

function printIssued({ token, row }: IssuedToken, asJson: boolean, what: string): void {
  const record = presentToken(row);
  if (asJson) return printJson({ token, ...record });
  process.stdout.write(
    [
      `${what} ${record.id} for ${record.user} (role ${record.role}, expires ${record.expires_at ?? "never"}).`,
      "",
      `    ${token}`,
      "",
      "Save this token now: it will not be shown again.",
      "",
    ].join("\n"),
  );
}

const create: Command = {
  name: "token create",
  summary: "Create a token for a user and print it (once).",
  synopsis: "<user> [--name TEXT] [--role ROLE] [--expires 90d|never] [--allow-ip CIDR]... [--json]",
  positionals: ["user"],
  ...withOptions(
    {
      options: { name: { type: "string" }, role: { type: "string" }, expires: { type: "string" }, "allow-ip": { type: "string", multiple: true } },
      help: [
        { flag: "--name TEXT", text: "a label, e.g. \"alice's laptop\"" },
        { flag: "--role ROLE", text: "admin, or any label passed on to services (default user)" },
        { flag: "--expires D", text: "45s, 30m, 12h, 90d, 2w or never (default KEYWARD_TOKEN_TTL, 90d)" },
        { flag: "--allow-ip CIDR", text: "only from this address or range; repeat for more" },
      ],
    },
    json,
    db,
  ),
  run: (flags, [user]) =>
    withDatabase(flags, (store, config) => {
      const lifetimeMs = typeof flags.expires === "string" ? durationFlag("expires", parseLifetime, flags.expires) : config.tokenTtl;
      const issued = issueToken(
        store.db,
        {
          user: user!,
          name: flags.name as string | undefined,
          role: flags.role as string | undefined,
          lifetimeMs,
          allowedIps: flags["allow-ip"] as string[] | undefined,
          source: "cli",
        },
        cli,
      );
      printIssued(issued, flags.json === true, "Created");
      return 0;
    }),
};

const list: Command = {
  name: "token list",
  summary: "List tokens, newest first, a page at a time (never their secrets).",
  synopsis: "[--user USER] [--active] [--limit N] [--cursor C] [--json]",
  ...withOptions(
    {
      options: { user: { type: "string" }, active: { type: "boolean" } },
      help: [
        { flag: "--user USER", text: "only this user's tokens" },
        { flag: "--active", text: "only tokens that work now" },
      ],
    },
    pageFlags,
    json,
    db,
  ),
  run: (flags) =>
    withDatabase(flags, (store) => {
      const page = listTokens(store.db, {
        ...pageRequest(flags, list),
        user: flags.user as string | undefined,
        active: flags.active === true ? true : undefined,
      });
      const records = page.items.map((row) => presentToken(row));
      if (flags.json === true) printJson(records);
      else printTokens(records);
      printNext(page);
      return 0;
    }),
};

function printTokens(records: TokenRecord[]): void {
  if (records.length === 0) {
    process.stdout.write("No tokens.\n");
    return;
  }
  printTable(
    ["ID", "USER", "NAME", "ROLE", "STATUS", "EXPIRES", "LAST USED", "REQUESTS", "SOURCE", "HINT"],
    records.map((r) => [r.id, r.user, r.name, r.role, r.status, shortTime(r.expires_at) ?? "never", shortTime(r.last_used_at), r.request_count, r.source, r.hint]),
  );
}

const show: Command = {
  name: "token show",
  summary: "Show one token's record, by id (or by the token itself).",
  synopsis: "<id|token> [--json]",
  positionals: ["id"],
  ...withOptions(json, db),
  run: (flags, [id]) =>
    withDatabase(flags, (store) => {
      const record = presentToken(getToken(store.db, id!));
      if (flags.json === true) printJson(record);
      else printRecord(record);
      return 0;
    }),
};

const revoke: Command = {
  name: "token revoke",
  summary: "Revoke a token by id (or by the token itself), or all of one user's tokens with --user.",
  synopsis: "<id|token> | --user USER [--json]",
  positionals: ["id?"],
  ...withOptions({ options: { user: { type: "string" } }, help: [{ flag: "--user USER", text: "revoke every token of this user" }] }, json, db),
  run: (flags, [id]) =>
    withDatabase(flags, (store) => {
      if (typeof flags.user === "string") {
        const revoked = revokeUserTokens(store.db, flags.user, cli);
        if (flags.json === true) printJson(revoked);
        else process.stdout.write(`Revoked ${revoked.revoked} token(s) of ${revoked.user}.\n`);
        return 0;
      }
      if (id === undefined) throw new DomainError("invalid", "missing_argument", "Give a token id, or --user USER");
      const record = presentToken(revokeToken(store.db, id, cli));
      if (flags.json === true) printJson(record);
      else process.stdout.write(`Revoked ${record.id} (${record.user}). A running server refuses it within a second.\n`);
      return 0;
    }),
};

const rotate: Command = {
  name: "token rotate",
  summary: "Replace a token with a new one; the old one works until the grace period ends.",
  synopsis: "<id> [--grace 24h] [--json]",
  positionals: ["id"],
  ...withOptions({ options: { grace: { type: "string" } }, help: [{ flag: "--grace D", text: "how long the old token keeps working (default 0s)" }] }, json, db),
  run: (flags, [id]) =>
    withDatabase(flags, (store) => {
      const graceMs = typeof flags.grace === "string" ? durationFlag("grace", parseDuration, flags.grace) : 0;
      const rotation = rotateToken(store.db, id!, graceMs, cli);
      printIssued(rotation, flags.json === true, `Rotated ${rotation.previous.id} to`);
      return 0;
    }),
};

export const tokenCommands: CommandGroup = {
  name: "token",
  summary: "Create, list, show, revoke and rotate API tokens (works beside a running server).",
  subcommands: [create, list, show, revoke, rotate],
};
