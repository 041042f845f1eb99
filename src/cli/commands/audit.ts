import { presentAudit } from "../../modules/audit/model";
import { listAudit } from "../../modules/audit/service";
import { configFlags, type Command } from "../command";
import { withDatabase } from "../database";
import { printJson, printTable } from "../output";
import { pageFlags, pageRequest, printNext } from "../pages";

const db = configFlags("db");

export const auditCommand: Command = {
  name: "audit",
  summary: "Show the audit log, newest first: token changes, bootstrap, failed authentications.",
  synopsis: "[--user USER] [--action ACTION] [--limit N] [--cursor C] [--json]",
  options: { user: { type: "string" }, action: { type: "string" }, ...pageFlags.options, json: { type: "boolean" }, ...db.options },
  help: [
    { flag: "--user USER", text: "only events about this user (or device id)" },
    { flag: "--action A", text: "only this action, e.g. token.revoked or auth.failed" },
    ...pageFlags.help,
    { flag: "--json", text: "print JSON (the API's shape) instead of a table" },
    ...db.help,
  ],
  run(flags) {
    const request = pageRequest(flags, auditCommand);
    return withDatabase(flags, (store) => {
      const page = listAudit(store.db, { ...request, user: flags.user as string | undefined, action: flags.action as string | undefined });
      const events = page.items.map(presentAudit);
      if (flags.json === true) printJson(events);
      else if (events.length === 0) process.stdout.write("No events.\n");
      else printTable(["AT", "ACTION", "COUNT", "ACTOR", "USER", "TOKEN", "IP", "DETAIL"], events.map((e) => [e.at, e.action, e.count, e.actor, e.user, e.token_id, e.ip, e.detail]));
      printNext(page);
      return 0;
    });
  },
};
