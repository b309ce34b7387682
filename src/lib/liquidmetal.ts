/**
 * How closely a name matches a search query, as Quay's `/api/v1/find/all` ranks its results: the
 * LiquidMetal string score (Quicksilver's abbreviation scoring) of the Python `stringscore`
 * package Quay calls, 0 (no match) to 1 (the name itself). Every way the query's characters can be
 * found in order in the name is scored per character (a match 1, the characters before a match at
 * a word start 0.85, before a match elsewhere 0, the rest 0.9 when the name starts with the
 * query's first character, else 0.8), and the best sum, over the name's length, wins. As in that
 * package, one per-character array is shared by the whole search, so a later path keeps what an
 * earlier one wrote where it writes nothing: the scores follow Quay's, quirks included.
 *
 * The number of ways grows combinatorially (a query of ten `a`s against a name of 255 `a`s), so
 * the search stops after {@link MAX_STEPS} steps with the best score found so far: Quay has no
 * such bound, and a single request could pin a CPU.
 */
const NO_MATCH = 0;
const MATCH = 1;
const TRAILING = 0.8;
const TRAILING_BUT_STARTED = 0.9;
const BUFFER = 0.85;
const WORD_SEPARATORS = " \t_-";
export const MAX_STEPS = 10_000;

function fill(scores: (number | null)[], value: number, begin: number, end: number): void {
  for (let i = begin; i < end; i++) scores[i] = value;
}

/** The sums of every complete match path (at most {@link MAX_STEPS} steps of search). */
function allSums(name: string, query: string): number[] {
  const search = name.toLowerCase();
  const scores: (number | null)[] = new Array(name.length).fill(null);
  const sums: number[] = [];
  // Depth-first, as the Python port: (query index, search from, fill from).
  const stack: Array<[number, number, number]> = [[0, -1, 0]];
  let steps = 0;
  while (stack.length > 0 && steps++ < MAX_STEPS) {
    const [queryIndex, searchFrom, fillFrom] = stack.pop()!;
    const index = search.indexOf(query[queryIndex]!, searchFrom + 1);
    if (index < 0) continue;
    const before = index > 0 ? name[index - 1]! : "";
    if (WORD_SEPARATORS.includes(before)) {
      // Python's `'' in separators` is true: the name's first character starts a word.
      if (index > 0) {
        scores[index - 1] = MATCH;
        fill(scores, BUFFER, fillFrom, index - 1);
      }
    } else if (name[index]! >= "A" && name[index]! <= "Z") {
      fill(scores, BUFFER, fillFrom, index);
    } else {
      fill(scores, NO_MATCH, fillFrom, index);
    }
    scores[index] = MATCH;
    stack.push([queryIndex, index, fillFrom]);
    if (queryIndex !== query.length - 1) {
      stack.push([queryIndex + 1, index, index + 1]);
      continue;
    }
    const trailing = search[0] === query[0] ? TRAILING_BUT_STARTED : TRAILING;
    const first = scores.indexOf(null);
    if (first >= 0) fill(scores, trailing, first, scores.lastIndexOf(null) + 1);
    sums.push(scores.reduce<number>((sum, s) => sum + (s ?? 0), 0));
  }
  return sums;
}

/** LiquidMetal's score of `name` for `query`. */
export function liquidMetalScore(name: string, query: string): number {
  if (name.length < query.length) return NO_MATCH;
  if (query.length === 0) return TRAILING;
  const sums = allSums(name, query.toLowerCase());
  if (sums.length === 0) return NO_MATCH;
  return Math.max(0, ...sums) / name.length;
}
