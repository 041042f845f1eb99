import { sessionLifetimes } from "../../modules/portal/sessions";
import { presentSession } from "../../modules/sessions/model";
import { endSession, listSessions } from "../../modules/sessions/service";
import { command, jsonOption, settingOptions, type Command, type CommandGroup } from "../command";
import { withDatabase } from "../database";
import { printResult, printTable, shortTime } from "../output";
import { pageOptions, pageRequest, printNext } from "../pages";

const cli = { name: "cli" };
const options = { ...jsonOption, ...settingOptions("db") };

const list: Command = command({
  name: "session list",
  summary: "List browser sessions still open (signed in through the portal), newest first, a page at a time.",
  options: { user: { type: "string", value: "USER", help: "only this user's sessions" }, ...pageOptions, ...options },
  run: (flags) => {
    const request = pageRequest(flags, list);
    return withDatabase(flags, async (store, config) => {
      // Which are still open is judged by this process's settings: the server's, when run with them.
      const lifetimes = sessionLifetimes(config);
      const page = await listSessions(store.db, lifetimes, { ...request, user: flags.user }, Date.now());
      const records = page.items.map((row) => presentSession(row, lifetimes));
      printResult(flags.json, records, () => {
        if (records.length === 0) process.stdout.write("No open sessions.\n");
        else printTable(["ID", "USER", "SIGNED IN", "LAST SEEN", "ADDRESS", "ENDS IF UNUSED"], records.map((s) => [s.id, s.user, shortTime(s.created_at), shortTime(s.last_seen_at), s.ip, shortTime(s.expires_at)]));
      });
      printNext(page);
      return 0;
    });
  },
});

const end = command({
  name: "session end",
  summary: "End a browser session by id: that browser is signed out (within a second on a running server).",
  positionals: ["id"],
  options,
  run: (flags, [id]) =>
    withDatabase(flags, async (store) => {
      const now = Date.now();
      const row = await endSession(store, id, cli, now);
      printResult(flags.json, { id: row.id, user: row.user, ended_at: new Date(now).toISOString() }, `Ended ${row.id} (${row.user}). A running server refuses it within a second.\n`);
      return 0;
    }),
});

export const sessionCommands: CommandGroup = {
  name: "session",
  summary: "List and end browser sign-in sessions (works beside a running server).",
  subcommands: [list, end],
};
