/**
 * Quay's human-readable quota sizes. Quay reads a quota's `limit` ("10 Gi", "500 MiB", "2 GB") with
 * bitmath's `parse_string_unsafe` after its JSON schema's pattern, and shows `limit` as bitmath's
 * `Byte(limit_bytes).best_prefix().format("{value:.1f} {unit}")` ("10.0 GiB")
 * (endpoints/api/namespacequota.py). Both are rebuilt here from the same rules.
 */

/**
 * Quay's pattern for `limit` (the `NewNamespaceQuota` / `UpdateOrgQuotaHumanReadable` schemas): digits,
 * one optional space, one optional unit, nothing else. Lower-case units and fractions are refused.
 */
export const LIMIT_PATTERN =
  /^\d+\s?(B|KiB|MiB|GiB|TiB|PiB|EiB|ZiB|YiB|Ki|Mi|Gi|Ti|Pi|Ei|Zi|Yi|KB|MB|GB|TB|PB|EB|ZB|YB|K|M|G|T|P|E|Z|Y)?$/;

const PREFIXES = ["K", "M", "G", "T", "P", "E", "Z", "Y"];

/** The bytes one `unit` stands for, as `parse_string_unsafe` reads it (no unit or `B`: bytes). */
function unitBytes(unit: string): bigint {
  if (unit === "" || unit === "B") return 1n;
  const power = BigInt(PREFIXES.indexOf(unit[0]!) + 1);
  // `Ki`/`KiB` are binary (NIST); `KB` and a bare `K` decimal (bitmath's default system is SI).
  return unit[1] === "i" ? 1024n ** power : 1000n ** power;
}

/**
 * The bytes a `limit` string names, or null when it does not match Quay's pattern. The result may
 * exceed what a quota can hold (the caller refuses that as Quay's "Unsupported quota size limit.").
 */
export function parseLimit(text: string): bigint | null {
  const match = LIMIT_PATTERN.exec(text);
  if (!match) return null;
  const digits = text.match(/^\d+/)![0];
  return BigInt(digits) * unitBytes(match[1] ?? "");
}

const UNITS = ["Byte", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/**
 * Quay's `limit`: bitmath's best binary prefix, one decimal ("10.0 GiB", "512.0 Byte"). bitmath picks
 * the prefix with `int(math.log(bytes, 1024))` in floating point, so does this; the decimal is
 * rounded as Python's format does (half to even, on the exact value).
 */
export function humanBytes(bytes: number): string {
  // bitmath shows what is under one byte in bits.
  if (bytes < 1) return `${bytes.toFixed(1)} b`;
  const index = Math.min(Math.floor(Math.log(bytes) / Math.log(1024)), UNITS.length - 1);
  const scale = 1024n ** BigInt(index);
  const tenths = BigInt(Math.round(bytes)) * 10n;
  let whole = tenths / scale;
  const rest = (tenths % scale) * 2n;
  if (rest > scale || (rest === scale && whole % 2n === 1n)) whole += 1n;
  return `${whole / 10n}.${whole % 10n} ${UNITS[index]}`;
}
