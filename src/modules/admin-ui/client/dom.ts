/// <reference lib="dom" />
// The DOM lib replaces Bun's FormData and ReadableStream types for the whole program (tests
// included); without its iterable parts neither can be iterated, and tsc fails.
/// <reference lib="dom.iterable" />
/// <reference lib="dom.asynciterable" />
export type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | boolean | ((event: Event) => void) | undefined>;

/**
 * Builds an element. Text always goes in as text nodes, never as HTML, so a token name like
 * `<img src=x onerror=alert(1)>` shows as those characters.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(key.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  for (const child of children) if (child !== null && child !== undefined && child !== false) parent.append(child instanceof Node ? child : String(child));
}

/** A time as date and clock, each kept whole: a narrow column may put the clock under the date. */
export const when = (iso: string | null) => (iso ? h("time", { datetime: iso }, h("span", {}, iso.slice(0, 10)), " ", h("span", {}, iso.slice(11, 16))) : "—");

/** Reads a form's named fields as strings, leaving out empty ones. */
export function fields(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new FormData(form)) if (typeof value === "string" && value.trim() !== "") out[key] = value.trim();
  return out;
}

/** Runs a change, then reloads the view; a failure is shown to the user instead of thrown. */
export function acting(notify: (message: string) => void, reload: () => Promise<void>) {
  return async (change: () => Promise<unknown>): Promise<void> => {
    try {
      await change();
      await reload();
    } catch (error) {
      notify((error as Error).message);
    }
  };
}
