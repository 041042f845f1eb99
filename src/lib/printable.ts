/**
 * Control characters (C0, DEL, C1), line and paragraph separators, and every format character:
 * the bidirectional marks that can make a line read as something else (Trojan Source), and the
 * invisible ones (zero-width space, soft hyphen, tags) that make two different names look alike.
 */
const unsafe = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/** Each UTF-16 unit of a character as a `\uXXXX` escape, as JSON writes them. */
const utf16Escapes = (char: string) => [...Array(char.length).keys()].map((i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, "0")}`).join("");

/**
 * Text that came from outside (a login name, a token name, a device label), made safe to print
 * on a terminal: those characters are shown as escapes (`\x1b`, `\u202e`, `\u{e0041}`) instead of
 * moving the cursor, recolouring the screen, reordering the line or hiding.
 */
export function printable(text: string): string {
  return text.replace(unsafe, (char) => {
    const code = char.codePointAt(0)!;
    if (code < 0x100) return `\\x${code.toString(16).padStart(2, "0")}`;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** JSON.stringify escapes C0 in strings itself; its own line breaks and indents must stay. */
const unsafeInJson = /[\x7f-\x9f\p{Cf}\u2028\u2029]/gu;

/** JSON text made safe for a terminal, still valid JSON with the same meaning. */
export function printableJson(json: string): string {
  return json.replace(unsafeInJson, utf16Escapes);
}
