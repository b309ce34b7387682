/**
 * The inputs the fuzzing draws from: near-misses of what clients send (right shape, wrong detail)
 * mixed with plain garbage, each already placed as it would travel in a URL path segment.
 */
import fc from "fast-check";

/** A string of any code points, percent-encoded for a path (so `/`, `?` and `#` stay in the segment). */
const anyText = fc.string({ unit: "binary", maxLength: 80 }).map(encodeURIComponent);

/** Raw percent-escapes, some of them invalid UTF-8 or out-of-range (`%FF`, `%C0%AF`, `%ZZ`). */
const escapes = fc
  .array(fc.constantFrom("%00", "%FF", "%C0%AF", "%2F", "%2e%2e", "%ZZ", "%", "%E2%80%AE", "%F0%9F%98%80", "%0A"), {
    minLength: 1,
    maxLength: 4,
  })
  .map((parts) => parts.join(""));

/** A lower-case component as distribution's grammar allows one. */
const component = fc.stringMatching(/^[a-z0-9]{1,10}([._-]{1,2}[a-z0-9]{1,10}){0,2}$/);

/** Repository names: valid ones, near-misses (case, length, separators, depth) and garbage. */
export const nameLike = fc.oneof(
  fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/")),
  fc.array(fc.oneof(component, anyText, escapes), { minLength: 1, maxLength: 5 }).map((parts) => parts.join("/")),
  fc.array(component, { minLength: 10, maxLength: 40 }).map((parts) => parts.join("/")),
  fc.constantFrom("A/B", "a//b", "a/./b", "a/../b", "_/x", "a/-b", "a".repeat(300), "fuzz/app/", "/fuzz/app", "a%2Fb"),
);

/** Hex of `length` characters, occasionally upper case. */
const hex = (length: number) =>
  fc
    .stringMatching(new RegExp(`^[0-9a-fA-F]{${length}}$`))
    .map((s) => (s.length === length ? s : s.padEnd(length, "0")));

/** Digests: valid ones (unknown here), wrong lengths, algorithms and separators, and garbage. */
export const digestLike = fc.oneof(
  hex(64).map((h) => `sha256:${h.toLowerCase()}`),
  hex(64).map((h) => `sha256:${h}`),
  hex(128).map((h) => `sha512:${h.toLowerCase()}`),
  fc.integer({ min: 0, max: 130 }).chain((n) => hex(n).map((h) => `sha256:${h}`)),
  fc.tuple(fc.stringMatching(/^[a-zA-Z0-9+._-]{0,20}$/), hex(64)).map(([alg, h]) => `${alg}:${h}`),
  fc.constantFrom("sha256:", ":", "sha256", "sha256::00", `SHA256:${"0".repeat(64)}`, "md5:00", "sha256:%00"),
  anyText,
  escapes,
);

/** Tag references: valid tags, the 128-character limit and one past it, and garbage. */
export const referenceLike = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/),
  fc.constantFrom("latest", "a".repeat(128), "a".repeat(129), ".hidden", "-dash", "x:y", "%20", "..", "."),
  anyText,
  escapes,
);
