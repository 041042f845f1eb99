import { printable, printableJson } from "../lib/printable";

// Every cell and value printed here may hold text a client chose (a name, a label, a failed login's
// user name): it goes through printable, so it cannot drive the operator's terminal.

/** Prints rows as an aligned table for people; `--json` output goes through printJson instead. */
export function printTable(headers: string[], rows: (string | number | null)[][]): void {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === null ? "-" : printable(String(cell)))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const lines = cells.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
  process.stdout.write(`${lines.join("\n")}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${printableJson(JSON.stringify(value, null, 2))}\n`);
}

/** `key: value` lines for one record. */
export function printRecord(record: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  for (const [key, value] of Object.entries(record)) {
    const text = value === null || value === undefined ? "-" : Array.isArray(value) ? value.join(", ") || "-" : String(value);
    process.stdout.write(`${`${key}:`.padEnd(width + 1)} ${printable(text)}\n`);
  }
}

/** A timestamp for tables: minutes are precise enough, and the column stays narrow. */
export function shortTime(iso: string | null): string | null {
  return iso === null ? null : `${iso.slice(0, 16).replace("T", " ")}Z`;
}

/**
 * What every command that prints does: with `--json` the value, in the API's shape, for scripts;
 * otherwise a line of text (ending in a newline) or a table, for people.
 */
export function printResult(json: boolean | undefined, value: unknown, text: string | (() => void)): void {
  if (json) printJson(value);
  else if (typeof text === "string") process.stdout.write(text);
  else text();
}
