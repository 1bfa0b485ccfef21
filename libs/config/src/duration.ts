const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "250ms", "5s", "30m", "2h", "5d" (or a bare number of milliseconds) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]) * UNITS[match[2] ?? 'ms'];
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

/** Parses a comma-separated list of durations ("5s,5m,30m"); undefined when any item is invalid. */
export function parseDurationList(text: string): number[] | undefined {
  const items = text.split(',').map((item) => parseDuration(item));
  return items.every((item): item is number => item !== undefined) ? items : undefined;
}
