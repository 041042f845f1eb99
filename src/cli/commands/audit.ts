import { presentAudit } from "../../modules/audit/model";
import { listAudit } from "../../modules/audit/service";
import { configFlags, UsageError, type Command } from "../command";
import { withDatabase } from "../database";
import { printJson, printTable } from "../output";

const db = configFlags("db");

export const auditCommand: Command = {
  name: "audit",
  summary: "Show the audit log, newest first: token changes, bootstrap, failed authentications.",
  synopsis: "[--limit N] [--user USER] [--action ACTION] [--json]",
  options: { limit: { type: "string" }, user: { type: "string" }, action: { type: "string" }, json: { type: "boolean" }, ...db.options },
  help: [
    { flag: "--limit N", text: "how many events (default 50, at most 1000)" },
    { flag: "--user USER", text: "only events about this user" },
    { flag: "--action A", text: "only this action, e.g. token.revoked or auth.failed" },
    { flag: "--json", text: "print JSON (the API's shape) instead of a table" },
    ...db.help,
  ],
  run(flags) {
    const limit = flags.limit === undefined ? 50 : Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError("--limit must be a whole number from 1 to 1000", auditCommand);
    return withDatabase(flags, (store) => {
      const events = listAudit(store.db, {
        limit,
        user: (flags.user as string | undefined)?.toLowerCase(),
        action: flags.action as string | undefined,
      }).map(presentAudit);
      if (flags.json === true) printJson(events);
      else if (events.length === 0) process.stdout.write("No events.\n");
      else printTable(["AT", "ACTION", "COUNT", "ACTOR", "USER", "TOKEN", "IP", "DETAIL"], events.map((e) => [e.at, e.action, e.count, e.actor, e.user, e.token_id, e.ip, e.detail]));
      return 0;
    });
  },
};
