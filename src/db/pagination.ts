import { desc, sql, type Column, type SQL } from "drizzle-orm";
import { DomainError } from "../lib/errors";

/** Rows per page when the caller does not say, and the most one page may hold. */
export const PAGE_SIZE = { default: 100, max: 500 } as const;

/** What a caller asks for: how many rows, and where the previous page ended. */
export interface PageRequest {
  limit?: number;
  cursor?: string;
}

/** One page, newest first, and the cursor of the next one (null on the last page). */
export interface Page<Row> {
  items: Row[];
  next: string | null;
}

type Id = string | number;

/**
 * Keyset pagination over one table, newest first: rows are ordered by a time column, then by a
 * unique id that breaks ties, and a page starts strictly after the (time, id) of the previous
 * page's last row. Unlike an offset, a row created or removed between two requests cannot shift
 * the pages, so nothing is shown twice or skipped; and a page is read in index order, stopping
 * after the rows it needs, however deep into the list it starts.
 */
export class Keyset<Row> {
  constructor(
    /** Written into each cursor, so one list refuses another list's cursor. */
    private readonly list: string,
    private readonly keyOf: (row: Row) => [Date, Id],
  ) {}

  /**
   * The WHERE, ORDER BY and LIMIT of one page, on the (time, id) columns `keyOf` reads, taken from
   * the tables of the engine the page is read from (tablesOf). The query fetches one row more than
   * asked, so `page` knows whether another page follows without a second query or an empty last page.
   */
  plan({ limit = PAGE_SIZE.default, cursor }: PageRequest, time: Column, id: Column): { after: SQL | undefined; order: SQL[]; fetch: number } {
    if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_SIZE.max) {
      throw new DomainError("invalid", "invalid_limit", `limit is a whole number from 1 to ${PAGE_SIZE.max}`);
    }
    let after: SQL | undefined;
    if (cursor !== undefined) {
      const [at, last] = this.decode(cursor);
      // A row-value comparison, so SQLite starts the page with a seek into the (time, id) index.
      // The values go through the columns, which store them as their dialect does (ms, timestamptz).
      after = sql`(${time}, ${id}) < (${sql.param(new Date(at), time)}, ${sql.param(last, id)})`;
    }
    return { after, order: [desc(time), desc(id)], fetch: limit + 1 };
  }

  /** Cuts the extra row off and turns the last row kept into the next page's cursor. */
  page(rows: Row[], { limit = PAGE_SIZE.default }: PageRequest): Page<Row> {
    if (rows.length <= limit) return { items: rows, next: null };
    const items = rows.slice(0, limit);
    const [at, id] = this.keyOf(items.at(-1)!);
    return { items, next: Buffer.from(JSON.stringify([this.list, at.getTime(), id])).toString("base64url") };
  }

  private decode(cursor: string): [at: number, id: Id] {
    const key = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? parseJson(Buffer.from(cursor, "base64url").toString("utf8")) : undefined;
    if (Array.isArray(key) && key.length === 3 && key[0] === this.list && isTime(key[1]) && isId(key[2])) {
      return [key[1], key[2]];
    }
    throw new DomainError("invalid", "invalid_cursor", "That cursor was not given out by this list; start again without one");
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Milliseconds a Date can hold: past them it is Invalid Date, which no column can store. */
const isTime = (value: unknown): value is number => Number.isSafeInteger(value) && Math.abs(value as number) <= 8.64e15;

const isId = (value: unknown): value is Id =>
  (typeof value === "string" && value.length <= 100) || (typeof value === "number" && Number.isSafeInteger(value));
