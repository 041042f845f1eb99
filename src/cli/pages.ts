import { PAGE_SIZE, type Page, type PageRequest } from "../db/pagination";
import { UsageError, type Command, type Options } from "./command";

/** `--limit` and `--cursor`, the same on every list command and meaning what the API's do. */
export const pageOptions = {
  limit: { type: "string", value: "N", help: `rows per page, newest first (default ${PAGE_SIZE.default}, at most ${PAGE_SIZE.max})` },
  cursor: { type: "string", value: "C", help: "the next page: the cursor printed under the previous one" },
} as const satisfies Options;

export function pageRequest(flags: { limit?: string; cursor?: string }, command: Command): PageRequest {
  const limit = flags.limit === undefined ? PAGE_SIZE.default : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_SIZE.max) {
    throw new UsageError(`--limit must be a whole number from 1 to ${PAGE_SIZE.max}`, command);
  }
  return { limit, cursor: flags.cursor };
}

/** On standard error, so standard output stays the table or the JSON array a script reads. */
export function printNext(page: Page<unknown>): void {
  if (page.next !== null) process.stderr.write(`More follow: repeat with --cursor ${page.next}\n`);
}
