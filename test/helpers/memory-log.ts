import { createLogger, type Logger } from "../../src/log";

/** A JSON logger that keeps its lines, for asserting on what was (and was not) logged. */
export function memoryLogger(): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(
    { logLevel: "debug", logFormat: "json" },
    { write: (text) => void lines.push(JSON.parse(text)), flush: () => {} },
  );
  return Object.assign(logger, { lines });
}
