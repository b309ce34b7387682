/**
 * Quay's TAG_EXPIRATION_OPTIONS: the time-machine windows a namespace may choose, as Quay writes
 * them (`0s`, `1d`, `2w`…). The registry's public `/config` lists them, as Quay's strings
 * (`TAG_EXPIRATION_OPTIONS`) or Wharf's seconds (`TAG_EXPIRATION_OPTIONS_SECONDS`); without either,
 * Quay's defaults.
 */
const DEFAULT_OPTIONS = ["0s", "1d", "1w", "2w", "4w"];

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
const UNIT_NAMES: Record<string, string> = { s: "second", m: "minute", h: "hour", d: "day", w: "week", y: "year" };

/** Seconds of a Quay duration (`2w`); null for anything else. */
export function durationSeconds(text: string): number | null {
  const found = /^(\d+)\s*([smhdwy])$/.exec(text.trim());
  return found ? Number(found[1]) * UNIT_SECONDS[found[2]!]! : null;
}

/** "2 weeks", or "None" for 0: Quay's time machine off (a deleted tag is gone at once). */
export function describeWindow(seconds: number): string {
  if (seconds === 0) return "None (deleted tags cannot be restored)";
  for (const unit of ["w", "d", "h", "m", "s"]) {
    const size = UNIT_SECONDS[unit]!;
    if (seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${UNIT_NAMES[unit]}${count === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

/** The windows on offer (seconds, ascending), with `current` kept when it is not one of them. */
export function windowOptions(config: Record<string, unknown> | undefined, current: number | undefined): number[] {
  const listed: unknown[] = Array.isArray(config?.TAG_EXPIRATION_OPTIONS_SECONDS)
    ? config.TAG_EXPIRATION_OPTIONS_SECONDS
    : Array.isArray(config?.TAG_EXPIRATION_OPTIONS)
      ? config.TAG_EXPIRATION_OPTIONS
      : DEFAULT_OPTIONS;
  const seconds = listed
    .map((o) => (typeof o === "number" && o >= 0 ? o : typeof o === "string" ? durationSeconds(o) : null))
    .filter((s): s is number => s !== null);
  if (current !== undefined && !seconds.includes(current)) seconds.push(current);
  return [...new Set(seconds)].sort((a, b) => a - b);
}
