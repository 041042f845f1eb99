/**
 * Control characters (C0, DEL, C1), line and paragraph separators, and the bidirectional marks
 * that can make a line read as something else (Trojan Source).
 */
const unsafe = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text that came from outside (a login name, a token name, a device label), made safe to print
 * on a terminal: those characters are shown as escapes (`\x1b`, `\u202e`) instead of moving the
 * cursor, recolouring the screen or reordering the line.
 */
export function printable(text: string): string {
  return text.replace(unsafe, (char) => {
    const code = char.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** JSON.stringify escapes C0 itself; the rest become JSON escapes, so the JSON means the same. */
const unsafeInJson = /[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON text made safe for a terminal, still valid JSON with the same meaning. */
export function printableJson(json: string): string {
  return json.replace(unsafeInJson, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
