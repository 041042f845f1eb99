/** A `.env` line we could not read; the config loader turns it into a startup error. */
export class EnvFileError extends Error {}

const line = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

/**
 * Parses dotenv text: `KEY=value`, `export KEY=value`, `#` comments, single quotes (literal) and
 * double quotes (with \n, \t, \", \\ escapes). Unquoted values end at ` #`.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    if (raw.trim() === "" || raw.trimStart().startsWith("#")) return;
    const match = line.exec(raw);
    if (!match) throw new EnvFileError(`line ${index + 1} is not KEY=value`);
    const [, key, rest = ""] = match;
    values[key!] = unquote(rest, index + 1);
  });
  return values;
}

function unquote(value: string, lineNumber: number): string {
  const quote = value[0];
  if (quote === "'" || quote === '"') {
    const end = value.lastIndexOf(quote);
    if (end === 0) throw new EnvFileError(`line ${lineNumber} has an unterminated ${quote} quote`);
    const inner = value.slice(1, end);
    return quote === "'" ? inner : inner.replace(/\\([nrt"\\])/g, (_, c: string) => escapes[c] ?? c);
  }
  return value.replace(/\s+#.*$/, "");
}

const escapes: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };
