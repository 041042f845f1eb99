import { parseDuration, parseLifetime } from "../../lib/durations";
import { DomainError } from "../../lib/errors";
import { limitsInWords, parseCountPer, parseLimits } from "../../modules/tokens/limits";
import { presentToken, type TokenRecord } from "../../modules/tokens/model";
import type { Config } from "../../config";
import { envTokenRefusal, getToken, issueToken, listTokens, revokeToken, revokeUserTokens, rotateToken, type IssuedToken } from "../../modules/tokens/service";
import { command, jsonOption, settingOptions, UsageError, type Command, type CommandGroup } from "../command";
import { withDatabase } from "../database";
import { printResult, printRecord, printTable, shortTime } from "../output";
import { pageOptions, pageRequest, printNext } from "../pages";

const cli = { name: "cli" };
const db = settingOptions("db");

function durationFlag<T>(flag: string, parse: (text: string) => T, text: string): T {
  try {
    return parse(text);
  } catch (error) {
    throw new DomainError("invalid", "invalid_duration", `--${flag}: ${error instanceof Error ? error.message : error}`);
  }
}

function printIssued({ token, row }: IssuedToken, json: boolean | undefined, what: string): void {
  const record = presentToken(row);
  printResult(
    json,
    { token, ...record },
    [
      `${what} ${record.id} for ${record.user} (role ${record.role}${record.scopes.length > 0 ? `, scopes ${record.scopes.join(" ")}` : ""}, expires ${record.expires_at ?? "never"}).`,
      "",
      `    ${token}`,
      "",
      "Save this token now: it will not be shown again.",
      "",
    ].join("\n"),
  );
}

/** --rate-limit, --uses and --refill, checked like the API's fields. */
function limitFlags(flags: { "rate-limit"?: string; uses?: string; refill?: string }) {
  const rate = flags["rate-limit"] === undefined ? null : parseCountPer("--rate-limit", flags["rate-limit"]);
  const refill = flags.refill === undefined ? null : parseCountPer("--refill", flags.refill);
  if (flags.uses !== undefined && !/^\d{1,10}$/.test(flags.uses.trim())) throw new DomainError("invalid", "invalid_limit", "--uses: a whole number");
  return parseLimits({
    rate_limit: rate && { requests: rate.count, per: rate.per },
    remaining_uses: flags.uses === undefined ? null : Number(flags.uses),
    refill: refill && { uses: refill.count, every: refill.per },
  });
}

/** A record as `token show` prints it: limits in words. */
const shown = ({ refill, ...record }: TokenRecord) => {
  const { rate, uses } = limitsInWords({ ...record, refill });
  return { ...record, rate_limit: rate, remaining_uses: uses };
};

const create: Command = command({
  name: "token create",
  summary: 'Create a token for a user and print it (once). Its name can follow the user: token create analyst1 "John Smith - Analyst".',
  positionals: ["user", "name…"],
  options: {
    name: { type: "string", value: "TEXT", help: "a label, e.g. \"alice's laptop\" (or give it as words after the user)" },
    role: { type: "string", value: "ROLE", help: "admin, or any label passed on to services (default user)" },
    expires: { type: "string", value: "D", help: "45s, 30m, 12h, 90d, 2w or never (default KEYWARD_TOKEN_TTL, 90d)" },
    "allow-ip": { type: "string", multiple: true, value: "CIDR", help: "only from this address or range; repeat for more" },
    scope: { type: "string", multiple: true, value: "S", help: "what it may open beyond its role (forward auth's ?scope=); repeat for more" },
    "rate-limit": { type: "string", value: "N/PER", help: "at most N requests per window, e.g. 100/1m (window 1s to 1d)" },
    uses: { type: "string", value: "N", help: "uses it has: each request spends one; at 0 it is refused" },
    refill: { type: "string", value: "N/EVERY", help: "with --uses: set the uses back to N every period, e.g. 1000/1d" },
    ...jsonOption,
    ...db,
  },
  run: (flags, [user, words]) => {
    if (words !== undefined && flags.name !== undefined) throw new UsageError("give the name once: as words after the user, or with --name", create);
    return withDatabase(flags, async (store, config) => {
      const lifetimeMs = flags.expires === undefined ? config.tokenTtl : durationFlag("expires", parseLifetime, flags.expires);
      const issued = await issueToken(
        store,
        { user, name: words ?? flags.name, role: flags.role, lifetimeMs, allowedIps: flags["allow-ip"], source: "cli", scopes: flags.scope, limits: limitFlags(flags) },
        cli,
      );
      printIssued(issued, flags.json, "Created");
      return 0;
    });
  },
});

const list: Command = command({
  name: "token list",
  summary: "List tokens, newest first, a page at a time (never their secrets).",
  options: {
    user: { type: "string", value: "USER", help: "only this user's tokens" },
    active: { type: "boolean", help: "only tokens that work now" },
    ...pageOptions,
    ...jsonOption,
    ...db,
  },
  run: (flags) =>
    withDatabase(flags, async (store) => {
      const page = await listTokens(store.db, { ...pageRequest(flags, list), user: flags.user, active: flags.active ? true : undefined });
      const records = page.items.map((row) => presentToken(row));
      printResult(flags.json, records, () => printTokens(records));
      printNext(page);
      return 0;
    }),
});

function printTokens(records: TokenRecord[]): void {
  if (records.length === 0) {
    process.stdout.write("No tokens.\n");
    return;
  }
  printTable(
    ["ID", "USER", "NAME", "ROLE", "STATUS", "EXPIRES", "LAST USED", "REQUESTS", "RATE LIMIT", "USES LEFT", "SOURCE", "HINT", "SCOPES"],
    records.map((r) => [r.id, r.user, r.name, r.role, r.status, shortTime(r.expires_at) ?? "never", shortTime(r.last_used_at), r.request_count, r.rate_limit && `${r.rate_limit.requests}/${r.rate_limit.per}`, r.remaining_uses, r.source, r.hint, r.scopes.join(" ") || null]),
  );
}

const show = command({
  name: "token show",
  summary: "Show one token's record, by id (or by the token itself).",
  positionals: ["id|token"],
  options: { ...jsonOption, ...db },
  run: (flags, [id]) =>
    withDatabase(flags, async (store) => {
      const record = presentToken(await getToken(store.db, id));
      printResult(flags.json, record, () => printRecord(shown(record)));
      return 0;
    }),
});

const revoke = command({
  name: "token revoke",
  summary: "Revoke a token by id (or by the token itself), or all of one user's tokens with --user.",
  positionals: ["id|token?"],
  options: { user: { type: "string", value: "USER", help: "revoke every token of this user" }, ...jsonOption, ...db },
  run: (flags, [id]) =>
    withDatabase(flags, async (store, config) => {
      if (flags.user !== undefined) {
        const revoked = await revokeUserTokens(store, flags.user, cli);
        printResult(flags.json, revoked, `Revoked ${revoked.revoked} token(s) of ${revoked.user}.\n`);
        return 0;
      }
      if (id === undefined) throw new DomainError("invalid", "missing_argument", "Give a token id, or --user USER");
      if (configuredInEnvironment(config, id)) throw envTokenRefusal();
      const record = presentToken(await revokeToken(store, id, cli));
      printResult(flags.json, record, `Revoked ${record.id} (${record.user}). A running server refuses it within a second.\n`);
      return 0;
    }),
});

/**
 * A value this environment configures is refused even before any server has started with it and
 * recorded it (a value a server recorded is refused by its record).
 */
const configuredInEnvironment = ({ adminToken, apiTokens }: Config, value: string) =>
  value === adminToken || apiTokens.some(({ token }) => token === value);

const rotate = command({
  name: "token rotate",
  summary: "Replace a token with a new one; the old one works until the grace period ends.",
  positionals: ["id"],
  options: { grace: { type: "string", value: "D", help: "how long the old token keeps working, e.g. 24h (default 0s)" }, ...jsonOption, ...db },
  run: (flags, [id]) =>
    withDatabase(flags, async (store) => {
      const graceMs = flags.grace === undefined ? 0 : durationFlag("grace", parseDuration, flags.grace);
      const rotation = await rotateToken(store, id, graceMs, cli);
      printIssued(rotation, flags.json, `Rotated ${rotation.previous.id} to`);
      return 0;
    }),
});

export const tokenCommands: CommandGroup = {
  name: "token",
  summary: "Create, list, show, revoke and rotate API tokens (works beside a running server).",
  subcommands: [create, list, show, revoke, rotate],
};
