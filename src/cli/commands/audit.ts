import { presentAudit } from "../../modules/audit/model";
import { listAudit } from "../../modules/audit/service";
import { command, jsonOption, settingOptions, type Command } from "../command";
import { withDatabase } from "../database";
import { printResult, printTable } from "../output";
import { pageOptions, pageRequest, printNext } from "../pages";

export const auditCommand: Command = command({
  name: "audit",
  summary: "Show the audit log, newest first: token changes, bootstrap, failed authentications.",
  options: {
    user: { type: "string", value: "USER", help: "only events about this user (or device id)" },
    action: { type: "string", value: "A", help: "only this action, e.g. token.revoked or auth.failed" },
    ...pageOptions,
    ...jsonOption,
    ...settingOptions("db"),
  },
  run(flags) {
    const request = pageRequest(flags, auditCommand);
    return withDatabase(flags, async (store) => {
      const page = await listAudit(store.db, { ...request, user: flags.user, action: flags.action });
      const events = page.items.map(presentAudit);
      printResult(flags.json, events, () => {
        if (events.length === 0) process.stdout.write("No events.\n");
        else printTable(["AT", "ACTION", "COUNT", "ACTOR", "USER", "TOKEN", "IP", "DETAIL"], events.map((e) => [e.at, e.action, e.count, e.actor, e.user, e.token_id, e.ip, e.detail]));
      });
      printNext(page);
      return 0;
    });
  },
});
