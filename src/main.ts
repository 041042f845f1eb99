import { ConfigError } from "./config";
import { DatabaseError } from "./db/client";
import { SchemaTooNewError } from "./db/migrate";
import { parseInvocation, UsageError, type Command } from "./cli/command";
import { migrateCommand } from "./cli/commands/migrate";
import { serveCommand } from "./cli/commands/serve";
import { commandUsage, rootUsage } from "./cli/usage";
import { VERSION } from "./version";

const commands: Command[] = [serveCommand, migrateCommand];

/** Exit codes: 0 done, 1 could not do it (database unusable…), 2 bad usage or configuration. */
async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-v") {
    process.stdout.write(`keyward ${VERSION}\n`);
    return 0;
  }
  if (first === "--help" || first === "-h") {
    process.stdout.write(rootUsage(commands));
    return 0;
  }
  if (first === "help") return help(rest[0]);
  const command = first === undefined || first.startsWith("-") ? serveCommand : commands.find((c) => c.name === first);
  if (!command) throw new UsageError(`unknown command '${first}'`);
  const { help: wantsHelp, flags, positionals } = parseInvocation(
    command,
    command === serveCommand && first !== "serve" ? argv : rest,
  );
  if (wantsHelp) {
    process.stdout.write(commandUsage(command));
    return 0;
  }
  return command.run(flags, positionals);
}

function help(name: string | undefined): number {
  const command = commands.find((c) => c.name === name);
  if (name !== undefined && !command) throw new UsageError(`unknown command '${name}'`);
  process.stdout.write(command ? commandUsage(command) : rootUsage(commands));
  return 0;
}

function fail(error: unknown): number {
  if (error instanceof UsageError) {
    const prefix = error.command ? `keyward ${error.command.name}` : "keyward";
    process.stderr.write(`${prefix}: ${error.message}\n\n`);
    process.stderr.write(error.command ? commandUsage(error.command) : rootUsage(commands));
    return 2;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`keyward: invalid configuration: ${error.message}\n`);
    return 2;
  }
  if (error instanceof DatabaseError || error instanceof SchemaTooNewError) {
    process.stderr.write(`keyward: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`keyward: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  return 1;
}

process.exitCode = await main(process.argv.slice(2)).catch(fail);
