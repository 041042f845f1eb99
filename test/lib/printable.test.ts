import { describe, expect, test } from "bun:test";
import { printable, printableJson } from "../../src/lib/printable";

describe("text from outside, printed on a terminal", () => {
  test.each([
    ["an ANSI colour", "\x1b[31mred", "\\x1b[31mred"],
    ["a carriage return that would overwrite the line", "alice\rroot", "alice\\x0droot"],
    ["a newline, a tab and a bell", "a\nb\tc\x07", "a\\x0ab\\x09c\\x07"],
    ["DEL and the 8-bit CSI", "x\x7f\x9b2J", "x\\x7f\\x9b2J"],
    ["a right-to-left override", "invoice\u202Etxt.exe", "invoice\\u202etxt.exe"],
    ["a line separator", "a\u2028b", "a\\u2028b"],
    ["invisible characters that make two names look alike", "ad\u200bmin\u00ad\ufeff", "ad\\u200bmin\\xad\\ufeff"],
    ["a tag character outside the BMP", "x\u{e0041}", "x\\u{e0041}"],
  ])("%s is shown as an escape", (_, text, shown) => {
    expect(printable(text)).toBe(shown);
  });

  test("ordinary names, accents and emoji are left as they are", () => {
    expect(printable("José's laptop 💻 (büro) C:\\keys")).toBe("José's laptop 💻 (büro) C:\\keys");
  });

  test("JSON keeps its meaning and stays valid, with no raw control byte left", () => {
    const value = { name: "\x1b[31mred\r", detail: "x\x9b\u202Ey\u200b\u{e0041}" };
    const json = printableJson(JSON.stringify(value, null, 2));
    expect(json).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\p{Cf}]/u);
    expect(JSON.parse(json)).toEqual(value);
  });
});
