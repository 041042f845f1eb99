const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Longest duration accepted anywhere: far enough for "practically never", short of overflow. */
export const MAX_DURATION_MS = 100 * 365 * unitMs.d;

/**
 * Parses `45s`, `30m`, `12h`, `90d`, `2w` (one number, one unit) into milliseconds.
 * Zero is allowed; the caller decides whether it makes sense.
 */
export function parseDuration(text: string): number {
  const match = /^(\d{1,12})([smhdw])$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration like 45s, 30m, 12h, 90d or 2w`);
  const ms = Number(match[1]) * unitMs[match[2] as keyof typeof unitMs];
  if (ms > MAX_DURATION_MS) throw new Error(`"${text}" is longer than 100 years`);
  return ms;
}

/** A lifetime: a positive duration, or `never` (null). */
export function parseLifetime(text: string): number | null {
  if (text.trim().toLowerCase() === "never") return null;
  const ms = parseDuration(text);
  if (ms === 0) throw new Error(`"${text}" is zero: a token must live for some time, or "never"`);
  return ms;
}

/** The text `parseDuration` reads back to `ms`: the largest unit that divides it exactly (90000 → "90s", 86400000 → "1d"). */
export function formatDuration(ms: number): string {
  for (const unit of ["w", "d", "h", "m"] as const) {
    if (ms > 0 && ms % unitMs[unit] === 0) return `${ms / unitMs[unit]}${unit}`;
  }
  return `${Math.round(ms / unitMs.s)}s`;
}
