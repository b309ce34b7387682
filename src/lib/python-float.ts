/**
 * A number as Python's json module writes a float: `0.0`, `12.0`, `1.5`. Quay answers some fields
 * with `float(…)` (a repository's `popularity`), so a Python script reading Quay gets a float even
 * for whole values, while `JSON.stringify(0)` writes `0`, which Python reads back as an int.
 * `JSON.rawJSON` (ES2025, in workerd's V8) puts the text into the output as written.
 */
interface RawJsonNumber {
  readonly rawJSON: string;
}

declare global {
  interface JSON {
    rawJSON(text: string): RawJsonNumber;
  }
}

/** `value` as a JSON number text with Python's float spelling, for JSON.stringify to write verbatim. */
export function pythonFloat(value: number): RawJsonNumber {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  return JSON.rawJSON(Number.isInteger(value) && Math.abs(value) < 1e16 ? value.toFixed(1) : String(value));
}
