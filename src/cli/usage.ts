import { VERSION } from "../version";
import type { Command, CommandGroup } from "./command";

type Entry = Command | CommandGroup;

function list(entries: { name: string; summary: string }[]): string[] {
  const width = Math.max(...entries.map((e) => e.name.length));
  return entries.map((e) => `  ${e.name.padEnd(width)}  ${e.summary}`);
}

export function rootUsage(entries: Entry[]): string {
  return [
    `Keyward ${VERSION}: a token authority for small networks, in one executable.`,
    "",
    "Usage: keyward [command] [options]",
    "",
    "Commands:",
    ...list(entries),
    "",
    "With no command, keyward serves. Options:",
    "  -h, --help     show help (also: keyward <command> --help, or keyward help <command>)",
    "  -v, --version  print the version",
    "",
  ].join("\n");
}

export function groupUsage(group: CommandGroup): string {
  return [
    `Usage: keyward ${group.name} <command> [options]`,
    "",
    group.summary,
    "",
    "Commands:",
    ...list(group.subcommands.map((c) => ({ name: c.name.slice(group.name.length + 1), summary: c.summary }))),
    "",
    `Run keyward ${group.name} <command> --help for its options.`,
    "",
  ].join("\n");
}

function positional(name: string): string {
  if (name.endsWith("…")) return `[${name}]`;
  return name.endsWith("?") ? `[${name.slice(0, -1)}]` : `<${name}>`;
}

export function commandUsage(command: Command): string {
  const options = Object.entries(command.options).map(([flag, o]) => ({
    flag: `--${flag}${o.type === "string" ? ` ${o.value ?? o.choices?.join("|") ?? "VALUE"}` : ""}`,
    text: o.help,
  }));
  const width = Math.max(...options.map((o) => o.flag.length), "-h, --help".length);
  return [
    `Usage: keyward ${[command.name, ...command.positionals.map(positional), "[options]"].join(" ")}`,
    "",
    command.summary,
    "",
    "Options:",
    ...options.map((o) => `  ${o.flag.padEnd(width)}  ${o.text}`),
    `  ${"-h, --help".padEnd(width)}  show this help`,
    "",
  ].join("\n");
}

export function usageOf(entry: Entry): string {
  return "subcommands" in entry ? groupUsage(entry) : commandUsage(entry);
}
