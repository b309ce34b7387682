/**
 * Quay's mirror tag rules (`tag_glob_csv`): shell-style globs as Python's `fnmatch.fnmatch`
 * matches them on Linux (case-sensitive, the whole tag): `*` any run of characters, `?` one,
 * `[seq]` one of seq (ranges such as `a-z` included), `[!seq]` one not in seq; a `[` with no
 * closing `]` is itself. A tag is mirrored when any glob of the rule matches it
 * (workers/repomirrorworker `tags_to_mirror`).
 *
 * Each glob is translated to the anchored expression src/lib/tag-pattern.ts compiles into an
 * automaton (no backtracking, a bounded cost per tag), so no stored rule can stall a sync, however
 * many stars it holds.
 */
import { compileTagPattern, type TagMatcher, TagPatternError } from "../lib/tag-pattern";

/** A glob longer than a tag (128 characters) cannot be meant; its translation must also fit the compiler. */
export const MAX_GLOB_LENGTH = 128;
/** Quay sets no bound; a rule of more globs than this is refused rather than run on every tag. */
export const MAX_GLOBS = 100;

const escapeChar = (ch: string) => (/[A-Za-z0-9]/.test(ch) ? ch : `\\${ch}`);

/** The class `[…]` that starts at `glob[start]`, translated, and where it ends; null when unclosed. */
function translateClass(glob: string, start: number): { source: string; end: number } | null {
  let i = start + 1;
  const negated = glob[i] === "!";
  if (negated) i++;
  // fnmatch: a `]` first in the class is a member, not its end.
  if (glob[i] === "]") i++;
  const close = glob.indexOf("]", i);
  if (close < 0) return null;
  const body = glob.slice(negated ? start + 2 : start + 1, close);
  let out = "";
  for (let k = 0; k < body.length; k++) {
    const ch = body[k]!;
    // A `-` between two members is a range; first or last it is itself.
    out += ch === "-" && k > 0 && k < body.length - 1 ? "-" : escapeChar(ch);
  }
  return { source: `[${negated ? "^" : ""}${out}]`, end: close + 1 };
}

/** The anchored expression equivalent to `glob`. */
export function globToPattern(glob: string): string {
  let out = "^";
  let i = 0;
  while (i < glob.length) {
    const ch = glob[i]!;
    if (ch === "*") {
      // Consecutive stars match what one does (Python's translate folds them too).
      while (glob[i] === "*") i++;
      out += ".*";
      continue;
    }
    if (ch === "?") out += ".";
    else if (ch === "[") {
      const cls = translateClass(glob, i);
      if (cls) {
        out += cls.source;
        i = cls.end;
        continue;
      }
      out += "\\[";
    } else out += escapeChar(ch);
    i++;
  }
  return `${out}$`;
}

/** Why `glob` is refused (for the API's 400), or null. */
export function globProblem(glob: string): string | null {
  if (glob.length === 0) return "a tag pattern may not be empty";
  if (glob.length > MAX_GLOB_LENGTH) return `a tag pattern may not be longer than ${MAX_GLOB_LENGTH} characters`;
  try {
    compileTagPattern(globToPattern(glob), { from: "start" });
    return null;
  } catch (err) {
    if (err instanceof TagPatternError) return `invalid tag pattern ${JSON.stringify(glob)}: ${err.message}`;
    throw err;
  }
}

/** A test of tags against a rule's globs: true when any matches the whole tag. */
export function tagRuleMatcher(globs: readonly string[]): (tag: string) => boolean {
  const matchers: TagMatcher[] = globs.map((g) => compileTagPattern(globToPattern(g), { from: "start" }));
  return (tag) => matchers.some((m) => m.test(tag));
}
