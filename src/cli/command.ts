import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { settings, type Setting } from "../config";

/** Bad command-line usage: the message is one line; main prints it with the usage and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: Command | CommandGroup,
  ) {
    super(message);
  }
}

export interface OptionHelp {
  flag: string;
  text: string;
}

export interface Command {
  name: string;
  summary: string;
  /** Arguments after the name, e.g. `[--db FILE]`. */
  synopsis: string;
  options: ParseArgsOptionsConfig;
  help: OptionHelp[];
  /** Runs the command with parsed flags and positionals; resolves to the exit code. */
  run(flags: Flags, positionals: string[]): Promise<number>;
  /** Names of the positional arguments, in order; a name ending in `?` is optional. */
  positionals?: string[];
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

/** A command made of subcommands: `keyward token create …`. */
export interface CommandGroup {
  name: string;
  summary: string;
  subcommands: Command[];
}

export interface Invocation {
  help: boolean;
  flags: Flags;
  positionals: string[];
}

/** Strict parsing: an unknown flag, a missing value or an extra argument is a UsageError. */
export function parseInvocation(command: Command, args: string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(describeParseError(error), command);
  }
  const { help = false, ...flags } = parsed.values;
  const names = command.positionals ?? [];
  if (!help) {
    if (parsed.positionals.length > names.length) {
      throw new UsageError(`unexpected argument '${parsed.positionals[names.length]}'`, command);
    }
    const missing = names.slice(parsed.positionals.length).find((name) => !name.endsWith("?"));
    if (missing) throw new UsageError(`missing argument <${missing}>`, command);
  }
  return { help: help === true, flags, positionals: parsed.positionals };
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // node:util's messages run on with advice about "--"; the first sentence is the useful part.
  const first = message.split(/\.\s/)[0] ?? message;
  return first.charAt(0).toLowerCase() + first.slice(1).replace(/\.$/, "");
}

/** Flags that set config values, with help text taken from the config's own table. */
export function configFlags(...keys: (keyof typeof settings)[]): Pick<Command, "options" | "help"> {
  const options: ParseArgsOptionsConfig = {};
  const help: OptionHelp[] = [];
  for (const key of keys) {
    const s: Setting<unknown> = settings[key];
    if (s.flag === undefined) continue;
    const isSwitch = typeof s.fallback === "boolean";
    options[s.flag] = { type: isSwitch ? "boolean" : "string" };
    help.push({
      flag: isSwitch ? `--${s.flag}` : `--${s.flag} ${s.flag.toUpperCase().replaceAll("-", "_")}`,
      text: `${s.help} (env ${s.env.join(", ")}${s.fallback === null ? "" : `; default ${s.fallback}`})`,
    });
  }
  return { options, help };
}
