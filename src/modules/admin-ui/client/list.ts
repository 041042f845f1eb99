/// <reference lib="dom" />
import { apiPage } from "./api";
import { h, replace, type Child } from "./dom";

/** Rows per request: a screenful or two, whatever the size of the table behind it. */
const PAGE = 50;

export interface PagedTable<T> {
  path: string;
  /** Filters, sent with every page. */
  query?: Record<string, string>;
  columns: string[];
  row(item: T): Child[];
  empty: string;
  notify(message: string): void;
}

/**
 * Shows a list a page at a time, newest first: the first page, then a "More" button that appends
 * the next one by the cursor the server gave. The page never asks for a whole table.
 */
export async function pagedTable<T>(target: HTMLElement, list: PagedTable<T>): Promise<void> {
  const body = h("tbody");
  const more = h("p", { class: "row" });
  let cursor: string | null = null;

  async function next(): Promise<T[]> {
    const query = new URLSearchParams({ ...list.query, limit: String(PAGE), ...(cursor === null ? {} : { cursor }) });
    const page = await apiPage<T>(`${list.path}?${query}`);
    body.append(...page.items.map((item) => h("tr", {}, ...list.row(item).map((cell) => h("td", {}, cell)))));
    cursor = page.next;
    replace(
      more,
      cursor !== null &&
        h("button", { type: "button", onclick: () => void next().catch((error: Error) => list.notify(error.message)) }, "More"),
    );
    return page.items;
  }

  const first = await next();
  if (first.length === 0) replace(target, h("p", { class: "empty" }, list.empty));
  else replace(target, h("div", { class: "table-box" }, h("table", {}, h("thead", {}, h("tr", {}, ...list.columns.map((c) => h("th", {}, c)))), body)), more);
}
