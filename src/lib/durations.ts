/**
 * Quay's spans: a positive whole number and a unit, `s` `m` `h` `d` `w` or `y` (e.g. `2w`,
 * `36h`). `quay.expires-after`, `TAG_EXPIRATION_OPTIONS` and auto-prune's `creation_date` all
 * write time this way (Quay `util/timedeltastring.py`).
 */
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800, y: 31_536_000 };

/** The span in seconds, or null when `text` is not a span. At most 100 years, so sums stay exact. */
export function parseDuration(text: string): number | null {
  const match = /^\s*(\d{1,9})\s*([smhdwy])\s*$/.exec(text);
  if (!match) return null;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]!]!;
  return seconds <= 100 * UNIT_SECONDS.y! ? seconds : null;
}
