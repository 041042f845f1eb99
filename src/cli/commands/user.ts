import { presentUser } from "../../modules/users/model";
import { addUser, listUsers, removeUser, updateUser } from "../../modules/users/service";
import { command, jsonOption, settingOptions, type Command, type CommandGroup } from "../command";
import { withDatabase } from "../database";
import { printResult, printTable } from "../output";
import { pageOptions, pageRequest, printNext } from "../pages";
import { readNewPassword } from "../password";

const cli = { name: "cli" };
const options = { ...jsonOption, ...settingOptions("db") };
const passwordStdin = { "password-stdin": { type: "boolean", help: "read the password from standard input instead of asking" } } as const;

const add = command({
  name: "user add",
  summary: "Add a user who can log in with a password (asked without echo).",
  positionals: ["name"],
  options: {
    role: { type: "string", value: "ROLE", help: "admin, or any label (default user)" },
    scope: { type: "string", multiple: true, value: "S", help: "what their browser sessions may open beyond the role; repeat for more" },
    ...passwordStdin,
    ...options,
  },
  run: async (flags, [name]) => {
    const password = await readNewPassword(flags["password-stdin"] === true);
    return withDatabase(flags, async (store) => {
      const row = await addUser(store, { username: name, password, role: flags.role, scopes: flags.scope }, cli);
      printResult(flags.json, presentUser(row), `Added ${row.username} (role ${row.role}). They can now POST /login.\n`);
      return 0;
    });
  },
});

const list: Command = command({
  name: "user list",
  summary: "List users, newest first, a page at a time.",
  options: { ...pageOptions, ...options },
  run: (flags) =>
    withDatabase(flags, async (store) => {
      const page = await listUsers(store.db, pageRequest(flags, list));
      const users = page.items.map(presentUser);
      printResult(flags.json, users, () => {
        if (users.length === 0) process.stdout.write("No users.\n");
        else printTable(["USER", "ROLE", "STATUS", "CREATED", "SCOPES"], users.map((u) => [u.username, u.role, u.disabled ? "disabled" : "enabled", u.created_at, u.scopes.join(" ") || null]));
      });
      printNext(page);
      return 0;
    }),
});

const passwd = command({
  name: "user passwd",
  summary: "Set a user's password (ends their login sessions).",
  positionals: ["name"],
  options: { ...passwordStdin, ...options },
  run: async (flags, [name]) => {
    const password = await readNewPassword(flags["password-stdin"] === true);
    return withDatabase(flags, async (store) => {
      const row = await updateUser(store, name, { password }, cli);
      printResult(flags.json, presentUser(row), `Password changed for ${row.username}; their login tokens are revoked.\n`);
      return 0;
    });
  },
});

const scopes = command({
  name: "user scopes",
  summary: "Set what a user's browser sessions may open beyond their role (forward auth's ?scope=): exactly the scopes given, none to remove them all. Ends no session.",
  positionals: ["name", "scope…"],
  options,
  run: (flags, [name, words]) =>
    withDatabase(flags, async (store) => {
      // A scope holds no space, so the words are the scopes exactly.
      const row = await updateUser(store, name, { scopes: words?.split(" ").filter(Boolean) ?? [] }, cli);
      const record = presentUser(row);
      printResult(flags.json, record, `${row.username}'s sessions now carry ${record.scopes.length > 0 ? `the scopes ${record.scopes.join(" ")}` : "no scopes"}.\n`);
      return 0;
    }),
});

const done = { disable: "Disabled", enable: "Enabled", remove: "Removed" } as const;

function simple(verb: keyof typeof done, summary: string): Command {
  return command({
    name: `user ${verb}`,
    summary,
    positionals: ["name"],
    options,
    run: (flags, [name]) =>
      withDatabase(flags, async (store) => {
        const row = verb === "remove" ? await removeUser(store, name, cli) : await updateUser(store, name, { disabled: verb === "disable" }, cli);
        printResult(flags.json, presentUser(row), `${done[verb]} ${row.username}.\n`);
        return 0;
      }),
  });
}

export const userCommands: CommandGroup = {
  name: "user",
  summary: "Add, list and manage people who log in with a password (works beside a running server).",
  subcommands: [
    add,
    list,
    passwd,
    scopes,
    simple("disable", "Disable a user: all their tokens are refused until enabled (within a second on a running server)."),
    simple("enable", "Enable a disabled user again."),
    simple("remove", "Remove a user and revoke all their tokens."),
  ],
};
