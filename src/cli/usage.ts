import { VERSION } from "../version";
import type { Command } from "./command";

export function rootUsage(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `Keyward ${VERSION}: a token authority for small networks, in one executable.`,
    "",
    "Usage: keyward [command] [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "With no command, keyward serves. Options:",
    "  -h, --help     show help (also: keyward <command> --help, or keyward help <command>)",
    "  -v, --version  print the version",
    "",
  ].join("\n");
}

export function commandUsage(command: Command): string {
  const width = Math.max(0, ...command.help.map((h) => h.flag.length), "-h, --help".length);
  return [
    `Usage: keyward ${command.name}${command.synopsis ? ` ${command.synopsis}` : ""}`,
    "",
    command.summary,
    "",
    "Options:",
    ...command.help.map((h) => `  ${h.flag.padEnd(width)}  ${h.text}`),
    `  ${"-h, --help".padEnd(width)}  show this help`,
    "",
  ].join("\n");
}
