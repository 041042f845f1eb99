import { withHeaders } from "@elysiajs/openapi";
import { t, type TSchema } from "elysia";
import { PAGE_SIZE, type Page } from "../db/pagination";

/**
 * The query of every list (tokens, users, devices, audit). The next page's cursor travels in a
 * response header, not the body, so the body stays the plain array that clients already read.
 */
export const pageQuery = {
  limit: t.Optional(
    t.Integer({ minimum: 1, maximum: PAGE_SIZE.max, default: PAGE_SIZE.default, description: `Rows per page, at most ${PAGE_SIZE.max}` }),
  ),
  cursor: t.Optional(
    t.String({ maxLength: 400, description: "The X-Next-Cursor header of the previous page; leave it out for the newest rows" }),
  ),
};

const NEXT_CURSOR = "x-next-cursor";

/** A list's 200 answer in the OpenAPI document: the array, and the header that leads to the next page. */
export const pageOf = <S extends TSchema>(item: S) =>
  withHeaders(t.Array(item), {
    "X-Next-Cursor": t.String({ description: "Present while more rows follow: pass it back as `cursor` for the next page" }),
  });

/** Puts the next page's cursor in its header and answers with the rows. */
export function answerPage<Row, Out>(set: { headers: Record<string, unknown> }, page: Page<Row>, present: (row: Row) => Out): Out[] {
  if (page.next !== null) set.headers[NEXT_CURSOR] = page.next;
  return page.items.map((row) => present(row));
}
