import { presentUser } from "../../modules/users/model";
import { addUser, listUsers, removeUser, updateUser } from "../../modules/users/service";
import { configFlags, type Command, type CommandGroup } from "../command";
import { withDatabase } from "../database";
import { printJson, printTable } from "../output";
import { pageFlags, pageRequest, printNext } from "../pages";
import { readNewPassword } from "../password";

const cli = { name: "cli" };
const db = configFlags("db");
const stdinFlag = { "password-stdin": { type: "boolean" as const } };
const stdinHelp = { flag: "--password-stdin", text: "read the password from standard input instead of asking" };

const add: Command = {
  name: "user add",
  summary: "Add a user who can log in with a password (asked without echo).",
  synopsis: "<name> [--role ROLE] [--password-stdin]",
  positionals: ["name"],
  options: { role: { type: "string" }, ...stdinFlag, ...db.options },
  help: [{ flag: "--role ROLE", text: "admin, or any label (default user)" }, stdinHelp, ...db.help],
  run: async (flags, [name]) => {
    const password = await readNewPassword(flags["password-stdin"] === true);
    return withDatabase(flags, async (store) => {
      const row = await addUser(store.db, { username: name!, password, role: flags.role as string | undefined }, cli);
      process.stdout.write(`Added ${row.username} (role ${row.role}). They can now POST /login.\n`);
      return 0;
    });
  },
};

const list: Command = {
  name: "user list",
  summary: "List users, newest first, a page at a time.",
  synopsis: "[--limit N] [--cursor C] [--json]",
  options: { ...pageFlags.options, json: { type: "boolean" }, ...db.options },
  help: [...pageFlags.help, { flag: "--json", text: "print JSON (the API's shape) instead of a table" }, ...db.help],
  run: (flags) =>
    withDatabase(flags, (store) => {
      const page = listUsers(store.db, pageRequest(flags, list));
      const users = page.items.map(presentUser);
      if (flags.json === true) printJson(users);
      else if (users.length === 0) process.stdout.write("No users.\n");
      else printTable(["USER", "ROLE", "STATUS", "CREATED"], users.map((u) => [u.username, u.role, u.disabled ? "disabled" : "enabled", u.created_at]));
      printNext(page);
      return 0;
    }),
};

const passwd: Command = {
  name: "user passwd",
  summary: "Set a user's password (ends their login sessions).",
  synopsis: "<name> [--password-stdin]",
  positionals: ["name"],
  options: { ...stdinFlag, ...db.options },
  help: [stdinHelp, ...db.help],
  run: async (flags, [name]) => {
    const password = await readNewPassword(flags["password-stdin"] === true);
    return withDatabase(flags, async (store) => {
      const row = await updateUser(store.db, name!, { password }, cli);
      process.stdout.write(`Password changed for ${row.username}; their login tokens are revoked.\n`);
      return 0;
    });
  },
};

function simple(verb: "disable" | "enable" | "remove", summary: string): Command {
  return {
    name: `user ${verb}`,
    summary,
    synopsis: "<name>",
    positionals: ["name"],
    ...db,
    run: (flags, [name]) =>
      withDatabase(flags, async (store) => {
        const row = verb === "remove" ? removeUser(store.db, name!, cli) : await updateUser(store.db, name!, { disabled: verb === "disable" }, cli);
        process.stdout.write(`${verb === "remove" ? "Removed" : verb === "disable" ? "Disabled" : "Enabled"} ${row.username}.\n`);
        return 0;
      }),
  };
}

export const userCommands: CommandGroup = {
  name: "user",
  summary: "Add, list and manage people who log in with a password (works beside a running server).",
  subcommands: [
    add,
    list,
    passwd,
    simple("disable", "Disable a user: all their tokens are refused until enabled (within a second on a running server)."),
    simple("enable", "Enable a disabled user again."),
    simple("remove", "Remove a user and revoke all their tokens."),
  ],
};
