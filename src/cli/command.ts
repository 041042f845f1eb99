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

/** One option, declared once: how it parses and the line `--help` shows for it. */
export interface Option {
  type: "string" | "boolean";
  /** Repeatable: the values arrive as a list. */
  multiple?: boolean;
  /** The only values accepted; anything else is a usage error. */
  choices?: readonly string[];
  /** The value's name in the help, e.g. `N` for `--limit N`; a switch has none. */
  value?: string;
  help: string;
}

export type Options = Record<string, Option>;

type Scalar<T> = T extends "boolean" ? boolean : string;
type ValueOf<O extends Option> = O extends { choices: readonly (infer C)[] } ? C : O extends { multiple: true } ? string[] : Scalar<O["type"]>;

/** What a command's `run` receives for its options: each one typed as declared, absent when not given. */
export type FlagsOf<Os extends Options> = { -readonly [K in keyof Os]?: ValueOf<Os[K]> };

/**
 * Positional argument names, in order: `user` is required, `id?` optional, and a last `name…`
 * takes the remaining words, joined by spaces (so a name needs no quotes).
 */
type ArgsOf<P extends readonly string[]> = { -readonly [I in keyof P]: P[I] extends `${string}?` | `${string}…` ? string | undefined : string };

/** Parsed flags as main holds them, before a command reads them through its own FlagsOf. */
export type Flags = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  positionals: readonly string[];
  options: Options;
  /** Runs the command with parsed flags and positionals; resolves to the exit code. */
  run(flags: Flags, positionals: (string | undefined)[]): Promise<number>;
}

/** A command made of subcommands: `keyward token create …`. */
export interface CommandGroup {
  name: string;
  summary: string;
  subcommands: Command[];
}

interface CommandSpec<Os extends Options, P extends readonly string[]> {
  name: string;
  summary: string;
  positionals?: P;
  options: Os;
  run(flags: FlagsOf<Os>, positionals: ArgsOf<P>): number | Promise<number>;
}

/** Declares a command: its options' types flow from their declaration into `run`. */
export function command<const Os extends Options, const P extends readonly string[] = []>(spec: CommandSpec<Os, P>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    positionals: spec.positionals ?? [],
    options: spec.options,
    // parseInvocation parsed these with exactly these options and names, so they have these types.
    run: async (flags, positionals) => spec.run(flags as FlagsOf<Os>, positionals as ArgsOf<P>),
  };
}

export interface Invocation {
  help: boolean;
  flags: Flags;
  positionals: (string | undefined)[];
}

/** Strict parsing: an unknown flag, a missing value, a value not among the choices or an extra argument is a UsageError. */
export function parseInvocation(command: Command, args: string[]): Invocation {
  const parserOptions: ParseArgsOptionsConfig = Object.fromEntries(Object.entries(command.options).map(([flag, o]) => [flag, { type: o.type, multiple: o.multiple ?? false }]));
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...parserOptions, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(describeParseError(error), command);
  }
  const { help = false, ...flags }: Flags = parsed.values;
  if (help) return { help: true, flags, positionals: [] };
  for (const [flag, option] of Object.entries(command.options)) {
    const value = flags[flag];
    if (option.choices && typeof value === "string" && !option.choices.includes(value)) {
      throw new UsageError(`--${flag} must be one of ${option.choices.join(", ")}`, command);
    }
  }
  return { help: false, flags, positionals: positionalsOf(command, parsed.positionals) };
}

function positionalsOf(command: Command, given: string[]): (string | undefined)[] {
  const names = command.positionals;
  const rest = names.at(-1)?.endsWith("…") ? names.length - 1 : undefined;
  if (rest === undefined && given.length > names.length) throw new UsageError(`unexpected argument '${given[names.length]}'`, command);
  const missing = names.slice(given.length).find((name) => !name.endsWith("?") && !name.endsWith("…"));
  if (missing) throw new UsageError(`missing argument <${missing}>`, command);
  if (rest === undefined) return given;
  const words = given.slice(rest);
  return [...given.slice(0, rest), words.length ? words.join(" ") : undefined];
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // node:util's messages run on with advice about "--"; the first sentence is the useful part.
  const first = message.split(/\.\s/)[0] ?? message;
  return first.charAt(0).toLowerCase() + first.slice(1).replace(/\.$/, "");
}

/** Flags that set config values (`--db`, `--port`…), with help taken from the config's own table. */
export function settingOptions<const F extends string>(...flags: F[]): Record<F, Option> {
  const all: Setting<unknown>[] = Object.values(settings);
  const options = {} as Record<F, Option>;
  for (const flag of flags) {
    const s = all.find((candidate) => candidate.flag === flag);
    if (s === undefined) throw new Error(`no setting has the flag --${flag}`);
    const isSwitch = typeof s.fallback === "boolean";
    options[flag] = {
      type: isSwitch ? "boolean" : "string",
      ...(isSwitch ? {} : { value: flag.toUpperCase().replaceAll("-", "_") }),
      help: `${s.help} (env ${s.env.join(", ")}${s.fallback === null ? "" : `; default ${s.fallback}`})`,
    };
  }
  return options;
}

/** `--json`: the same on every command that prints. */
export const jsonOption = { json: { type: "boolean", help: "print JSON for scripts (records in the API's shape) instead of text" } } as const satisfies Options;
