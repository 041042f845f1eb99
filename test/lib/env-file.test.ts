import { describe, expect, test } from "bun:test";
import { EnvFileError, parseEnvFile } from "../../src/lib/env-file";

describe(".env files", () => {
  test("reads plain, exported, quoted and commented lines", () => {
    const text = [
      "# a comment",
      "",
      "KEYWARD_PORT=8080",
      "export KEYWARD_HOST = 127.0.0.1   ",
      "SINGLE='a # not a comment \\n'",
      'DOUBLE="line\\nbreak \\"quoted\\""',
      "TRAILING=value # comment",
      "EMPTY=",
      "WINDOWS=crlf\r",
    ].join("\n");
    expect(parseEnvFile(text)).toEqual({
      KEYWARD_PORT: "8080",
      KEYWARD_HOST: "127.0.0.1",
      SINGLE: "a # not a comment \\n",
      DOUBLE: 'line\nbreak "quoted"',
      TRAILING: "value",
      EMPTY: "",
      WINDOWS: "crlf",
    });
  });

  test("a later line wins over an earlier one", () => {
    expect(parseEnvFile("A=1\nA=2")).toEqual({ A: "2" });
  });

  test.each([
    ["a line without =", "JUST_A_WORD", "line 1 is not KEY=value"],
    ["a key starting with a digit", "OK=1\n1BAD=2", "line 2 is not KEY=value"],
    ["an unterminated quote", 'A="open', "line 1 has an unterminated \" quote"],
  ])("rejects %s with its line number", (_, text, message) => {
    expect(() => parseEnvFile(text)).toThrow(EnvFileError);
    expect(() => parseEnvFile(text)).toThrow(message);
  });
});
