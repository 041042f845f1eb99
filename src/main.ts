import { parseInvocation, UsageError, type Command, type CommandGroup } from "./cli/command";
import { commands } from "./cli/commands";
import { serveCommand } from "./cli/commands/serve";
import { rootUsage, usageOf } from "./cli/usage";
import { ConfigError } from "./config";
import { DatabaseError } from "./db/client";
import { SchemaTooNewError } from "./db/migrate";
import { DomainError } from "./lib/errors";
import { VERSION } from "./version";

/** Exit codes: 0 done, 1 could not do it (database unusable, no such token…), 2 bad usage or configuration. */
async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-v") {
    process.stdout.write(`keyward ${VERSION}\n`);
    return 0;
  }
  if (first === "--help" || first === "-h") return print(rootUsage(commands));
  if (first === "help") return help(rest);
  if (first === undefined || first.startsWith("-")) return run(serveCommand, argv);
  const entry = find(commands, first);
  if (!("subcommands" in entry)) return run(entry, rest);
  const [sub, ...args] = rest;
  if (sub === undefined || sub === "--help" || sub === "-h") return print(usageOf(entry));
  return run(findSub(entry, sub), args);
}

async function run(command: Command, args: string[]): Promise<number> {
  const { help: wantsHelp, flags, positionals } = parseInvocation(command, args);
  if (wantsHelp) return print(usageOf(command));
  return command.run(flags, positionals);
}

function find(entries: (Command | CommandGroup)[], name: string): Command | CommandGroup {
  const entry = entries.find((c) => c.name === name);
  if (!entry) throw new UsageError(`unknown command '${name}'`);
  return entry;
}

function findSub(group: CommandGroup, name: string): Command {
  const command = group.subcommands.find((c) => c.name === `${group.name} ${name}`);
  if (!command) throw new UsageError(`unknown command '${group.name} ${name}'`, group);
  return command;
}

function help([name, sub]: string[]): number {
  if (name === undefined) return print(rootUsage(commands));
  const entry = find(commands, name);
  return print(usageOf(sub !== undefined && "subcommands" in entry ? findSub(entry, sub) : entry));
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

function fail(error: unknown): number {
  if (error instanceof UsageError) {
    const prefix = error.command && !("subcommands" in error.command) ? `keyward ${error.command.name}` : "keyward";
    process.stderr.write(`${prefix}: ${error.message}\n\n`);
    process.stderr.write(error.command ? usageOf(error.command) : rootUsage(commands));
    return 2;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`keyward: invalid configuration: ${error.message}\n`);
    return 2;
  }
  if (error instanceof DomainError) {
    process.stderr.write(`keyward: ${error.message}\n`);
    return error.kind === "invalid" ? 2 : 1;
  }
  if (error instanceof DatabaseError || error instanceof SchemaTooNewError) {
    process.stderr.write(`keyward: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`keyward: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  return 1;
}

// Everything Keyward creates (the database, its directory, backups, TLS keys) is for its own user
// only: 0600 files, 0700 directories.
process.umask(0o077);
process.exitCode = await main(process.argv.slice(2)).catch(fail);
