import type { Config } from "./config";
import { printable, printableJson } from "./lib/printable";

export type LogLevel = Config["logLevel"];
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Whether lines of this level are written: lets hot paths skip building them. */
  enabled(level: LogLevel): boolean;
  flush(): void;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where log lines go: stderr by default, so stdout stays for what commands print on purpose. */
export interface LogSink {
  write(text: string): void;
  flush(): void;
}

/**
 * A logger that writes one line per event, as text or JSON. Lines are buffered and flushed once
 * per event-loop turn, so logging every request costs one write syscall per burst, not per line.
 */
export function createLogger(
  { logLevel, logFormat }: Pick<Config, "logLevel" | "logFormat">,
  sink: LogSink = droppingSink(Bun.stderr.writer()),
): Logger {
  let pending = false;
  const flushSoon = () => {
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      sink.flush();
    });
  };
  const emit = (level: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (rank[level] < rank[logLevel]) return;
    const time = new Date().toISOString();
    sink.write(logFormat === "json" ? jsonLine(time, level, message, fields) : textLine(time, level, message, fields));
    flushSoon();
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    enabled: (level) => rank[level] >= rank[logLevel],
    flush: () => sink.flush(),
  };
}

function jsonLine(time: string, level: LogLevel, msg: string, fields: LogFields): string {
  return `${printableJson(JSON.stringify({ time, level, msg, ...fields }))}\n`;
}

function textLine(time: string, level: LogLevel, msg: string, fields: LogFields): string {
  let line = `${time} ${level.toUpperCase().padEnd(5)} ${msg}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    // A value may be a client's text (a login name): it must not drive the terminal reading the log.
    const text = printable(String(value));
    line += ` ${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return `${line}\n`;
}

/**
 * Once a write fails (EPIPE: whoever read stderr went away), lines are dropped for good. Bun's
 * writer throws on every later flush; a logger that threw would turn each request, and each
 * attempt to log that error, into another failed write.
 */
export function droppingSink(writer: { write(text: string): unknown; flush(): unknown }): LogSink {
  let broken = false;
  const attempt = (write: () => unknown) => {
    if (broken) return;
    try {
      const pending = write();
      if (pending instanceof Promise) pending.catch(() => (broken = true));
    } catch {
      broken = true;
    }
  };
  return { write: (text) => attempt(() => writer.write(text)), flush: () => attempt(() => writer.flush()) };
}
