/**
 * User-supplied tag patterns (auto-prune's `tagPattern`), which Quay's docs say "must be protected
 * against ReDOS attacks". Why no accepted pattern can stall a Worker on a tag (≤ 128 characters):
 * 1. It never reaches the backtracking RegExp engine: it is parsed here and compiled to a Thompson
 *    NFA, run over the tag one character at a time keeping the set of live states (Pike's method,
 *    as RE2 does). Each character visits each state at most once, so a test costs at most
 *    states × (length + 1) steps; nothing is retried, so nothing backtracks, exponentially or not.
 * 2. The program is small: ≤ 256 pattern characters, repetition counts ≤ 128 (no tag is longer),
 *    ≤ 512 states; a test is thus ≤ 512 × 129 ≈ 66,000 steps, a bound ({@link TagMatcher.cost})
 *    the pruner charges against its budget before each test.
 * 3. The shapes that make a backtracker exponential are refused on write anyway, so a stored
 *    pattern stays safe wherever else it goes (Quay, a script): backreferences and lookaround
 *    (which no automaton expresses), and groups repeated more than once that hold a quantifier or
 *    an alternation (`(a+)+`, `(a|a)*`, `(.*)*`): the nested, ambiguous repetitions that split the
 *    input in exponentially many ways. What remains repeats one character, class or fixed string.
 *
 * The syntax is what Python's `re` (Quay's) and JavaScript agree on: literals, `.`, `^`, `$`,
 * classes (`[a-z]`, `[^…]`, `\d \w \s` and negations), groups `(…)`, `(?:…)`, `(?P<n>…)`,
 * `(?<n>…)`, `|`, and `* + ? {n} {n,} {n,m}` (lazy too). As in Quay's queries a pattern matches
 * anywhere unless anchored. Printable ASCII only: tag names are ASCII.
 */
export const MAX_TAG_PATTERN_LENGTH = 256;
const MAX_COUNT = 128;
const MAX_STATES = 512;

/** A refused pattern; `message` says why, for the API's 400. */
export class TagPatternError extends Error {
  override readonly name = "TagPatternError";
}

export interface TagMatcher {
  readonly source: string;
  /** Whether the pattern matches somewhere in `tag`. */
  test(tag: string): boolean;
  /** The most steps `test` takes on a tag of `length` characters. */
  cost(length: number): number;
}

type CharTest = (code: number) => boolean;
type Node =
  | { kind: "char"; test: CharTest }
  | { kind: "assert"; at: "start" | "end" }
  | { kind: "seq"; items: Node[] }
  | { kind: "alt"; branches: Node[] }
  | { kind: "group"; body: Node }
  | { kind: "repeat"; body: Node; min: number; max: number | null };

const isDigit: CharTest = (c) => c >= 48 && c <= 57;
const isWord: CharTest = (c) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpace: CharTest = (c) => (c >= 9 && c <= 13) || c === 32;
const not =
  (test: CharTest): CharTest =>
  (c) =>
    !test(c);
const CLASS_ESCAPES: Record<string, CharTest> = {
  d: isDigit,
  D: not(isDigit),
  w: isWord,
  W: not(isWord),
  s: isSpace,
  S: not(isSpace),
};
const CONTROL_ESCAPES: Record<string, number> = { t: 9, n: 10, v: 11, f: 12, r: 13 };

class Parser {
  i = 0;
  constructor(readonly src: string) {}

  fail(reason: string, at = this.i): never {
    throw new TagPatternError(`${reason} at position ${at}`);
  }

  parse(): Node {
    const node = this.alternation();
    if (this.i < this.src.length) this.fail("unbalanced parenthesis");
    return node;
  }

  alternation(): Node {
    const branches = [this.sequence()];
    while (this.src[this.i] === "|") {
      this.i++;
      branches.push(this.sequence());
    }
    return branches.length === 1 ? branches[0]! : { kind: "alt", branches };
  }

  sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== "|" && this.src[this.i] !== ")") {
      const start = this.i;
      const atom = this.atom();
      const bounds = this.quantifier();
      if (!bounds) {
        items.push(atom);
        continue;
      }
      if (atom.kind === "assert") this.fail("nothing to repeat", start);
      // A group matched at most once (`?`, `{0,1}`) multiplies nothing.
      const repeats = bounds.max === null || bounds.max > 1;
      if (repeats && atom.kind === "group" && (holds(atom.body, "repeat") || holds(atom.body, "alt"))) {
        this.fail(
          "a repeated group may not contain a quantifier or an alternation (nested quantifiers backtrack exponentially)",
          start,
        );
      }
      if (this.src[this.i] === "?") this.i++; // lazy: the same answer to "does it match?"
      if (this.quantifier()) this.fail("multiple repeat");
      items.push({ kind: "repeat", body: atom, ...bounds });
    }
    return items.length === 1 ? items[0]! : { kind: "seq", items };
  }

  /** A quantifier at the cursor (consumed), or null; `{` not starting one is a literal, as in Python. */
  quantifier(): { min: number; max: number | null } | null {
    const ch = this.src[this.i];
    if (ch === "*" || ch === "+" || ch === "?") {
      this.i++;
      return { min: ch === "+" ? 1 : 0, max: ch === "?" ? 1 : null };
    }
    if (ch !== "{") return null;
    const counted = /^\{(\d*)(,?)(\d*)\}/.exec(this.src.slice(this.i));
    if (!counted || (counted[1] === "" && counted[2] === "")) return null;
    // `{,m}` is a count in Python and a literal in JavaScript: refused rather than guessed.
    if (counted[1] === "") this.fail("write {0,m} for at most m repetitions");
    const min = Number(counted[1]);
    const max = counted[2] === "" ? min : counted[3] === "" ? null : Number(counted[3]);
    if (min > MAX_COUNT || (max ?? 0) > MAX_COUNT)
      this.fail(`repetition counts above ${MAX_COUNT} (the longest tag name) are not allowed`);
    if (max !== null && max < min) this.fail("min repeat greater than max repeat");
    this.i += counted[0].length;
    return { min, max };
  }

  atom(): Node {
    const ch = this.src[this.i]!;
    switch (ch) {
      case "(":
        return this.group();
      case "[":
        return { kind: "char", test: this.charClass() };
      case ".":
        this.i++;
        return { kind: "char", test: (c) => c !== 10 };
      case "^":
      case "$":
        this.i++;
        return { kind: "assert", at: ch === "^" ? "start" : "end" };
      case "\\":
        return { kind: "char", test: this.escape().test };
      case "*":
      case "+":
      case "?":
        return this.fail("nothing to repeat");
      default:
        if (this.quantifier()) this.fail("nothing to repeat");
        this.i++;
        return { kind: "char", test: literal(ch.charCodeAt(0)) };
    }
  }

  group(): Node {
    const start = this.i;
    this.i++;
    if (this.src[this.i] === "?") {
      const rest = this.src.slice(this.i);
      if (/^\?(=|!|<=|<!)/.test(rest)) this.fail("lookaround assertions are not allowed", start);
      if (rest.startsWith("?P=")) this.fail("backreferences are not allowed", start);
      const opener = /^\?(:|P?<[A-Za-z_]\w*>)/.exec(rest);
      if (!opener) this.fail("unsupported group (only (…), (?:…) and named groups)", start);
      this.i += opener[0].length;
    }
    const body = this.alternation();
    if (this.src[this.i] !== ")") this.fail("missing ), unterminated subpattern", start);
    this.i++;
    return { kind: "group", body };
  }

  /** `\x` outside or inside a class: a class escape, a control character, or an escaped symbol. */
  escape(): { test: CharTest; code: number | null } {
    const start = this.i;
    const ch = this.src[this.i + 1];
    if (ch === undefined) this.fail("trailing backslash");
    this.i += 2;
    if (Object.hasOwn(CLASS_ESCAPES, ch)) return { test: CLASS_ESCAPES[ch]!, code: null };
    const code = Object.hasOwn(CONTROL_ESCAPES, ch) ? CONTROL_ESCAPES[ch]! : ch.charCodeAt(0);
    if (/[1-9k]/.test(ch)) this.fail("backreferences are not allowed", start);
    if (!Object.hasOwn(CONTROL_ESCAPES, ch) && /[A-Za-z0-9]/.test(ch)) this.fail(`unsupported escape \\${ch}`, start);
    return { test: literal(code), code };
  }

  charClass(): CharTest {
    const start = this.i;
    this.i++;
    const negated = this.src[this.i] === "^";
    if (negated) this.i++;
    // `[]…]` is a `]` in Python and an empty class in JavaScript: refused rather than guessed.
    if (this.src[this.i] === "]") this.fail("empty character class (escape a leading ] as \\])");
    const tests: CharTest[] = [];
    while (this.src[this.i] !== "]") {
      if (this.i >= this.src.length) this.fail("unterminated character set", start);
      const low = this.classMember();
      if (this.src[this.i] === "-" && this.src[this.i + 1] !== "]" && this.i + 1 < this.src.length) {
        this.i++;
        const high = this.classMember();
        if (low.code === null || high.code === null || high.code < low.code) this.fail("bad character range");
        const [lo, hi] = [low.code, high.code];
        tests.push((c) => c >= lo && c <= hi);
      } else {
        tests.push(low.test);
      }
    }
    this.i++;
    const member: CharTest = (c) => tests.some((t) => t(c));
    return negated ? not(member) : member;
  }

  classMember(): { test: CharTest; code: number | null } {
    if (this.src[this.i] === "\\") return this.escape();
    const code = this.src.charCodeAt(this.i++);
    return { test: literal(code), code };
  }
}

const literal =
  (code: number): CharTest =>
  (c) =>
    c === code;

function holds(node: Node, kind: "repeat" | "alt"): boolean {
  if (node.kind === kind) return true;
  if (node.kind === "seq") return node.items.some((n) => holds(n, kind));
  if (node.kind === "alt") return node.branches.some((n) => holds(n, kind));
  if (node.kind === "group" || node.kind === "repeat") return holds(node.body, kind);
  return false;
}

type Inst =
  | { op: "char"; test: CharTest }
  | { op: "assert"; at: "start" | "end" }
  | { op: "split"; x: number; y: number }
  | { op: "jmp"; x: number }
  | { op: "match" };

/** Thompson's construction: instructions fall through to the next unless they jump or split. */
function emit(node: Node, prog: Inst[]): void {
  if (prog.length > MAX_STATES) throw new TagPatternError("pattern too complex");
  const fork = () => {
    const split = { op: "split" as const, x: prog.length + 1, y: -1 };
    prog.push(split);
    return split;
  };
  switch (node.kind) {
    case "char":
    case "assert":
      prog.push(node.kind === "char" ? { op: "char", test: node.test } : { op: "assert", at: node.at });
      return;
    case "seq":
      for (const item of node.items) emit(item, prog);
      return;
    case "group":
      emit(node.body, prog);
      return;
    case "alt": {
      const exits = node.branches.slice(0, -1).map((branch) => {
        const split = fork();
        emit(branch, prog);
        const exit = { op: "jmp" as const, x: -1 };
        prog.push(exit);
        split.y = prog.length;
        return exit;
      });
      emit(node.branches.at(-1)!, prog);
      for (const exit of exits) exit.x = prog.length;
      return;
    }
    case "repeat": {
      for (let n = 0; n < node.min; n++) emit(node.body, prog);
      const skips: Array<{ y: number }> = [];
      if (node.max === null) {
        const top = prog.length;
        skips.push(fork());
        emit(node.body, prog);
        prog.push({ op: "jmp", x: top });
      } else {
        for (let n = node.min; n < node.max; n++) {
          skips.push(fork());
          emit(node.body, prog);
        }
      }
      for (const skip of skips) skip.y = prog.length;
    }
  }
}

/** Why `pattern` is refused, or null when it is accepted. */
export function tagPatternProblem(pattern: string): string | null {
  try {
    compileTagPattern(pattern);
    return null;
  } catch (err) {
    if (err instanceof TagPatternError) return err.message;
    throw err;
  }
}

/**
 * Compiles `pattern`; throws {@link TagPatternError} when it is refused. `from: "start"` matches
 * only at the tag's start, as Python's `re.match` (Quay's immutability policies), instead of
 * anywhere (`re.search`, auto-prune's).
 */
export function compileTagPattern(pattern: string, options: { from?: "start" | "anywhere" } = {}): TagMatcher {
  if (pattern.length > MAX_TAG_PATTERN_LENGTH)
    throw new TagPatternError(`longer than ${MAX_TAG_PATTERN_LENGTH} characters`);
  const foreign = /[^\x20-\x7e]/.exec(pattern);
  if (foreign)
    throw new TagPatternError(
      `only printable ASCII characters are allowed (tag names are ASCII) at position ${foreign.index}`,
    );
  const prog: Inst[] = [];
  emit(new Parser(pattern).parse(), prog);
  prog.push({ op: "match" });
  if (prog.length > MAX_STATES) throw new TagPatternError("pattern too complex");
  return {
    source: pattern,
    test: (tag) => run(prog, tag, options.from === "start"),
    cost: (length) => prog.length * (length + 1),
  };
}

/**
 * Pike's simulation: a thread starts at every position (only at 0 when `atStart`); true once any
 * reaches `match`.
 */
function run(prog: Inst[], input: string, atStart: boolean): boolean {
  const seen = new Int32Array(prog.length).fill(-1);
  let generation = 0;
  let current: number[] = [];
  const add = (list: number[], pc: number, at: number) => {
    if (seen[pc] === generation) return;
    seen[pc] = generation;
    const inst = prog[pc]!;
    if (inst.op === "jmp") add(list, inst.x, at);
    else if (inst.op === "split") {
      add(list, inst.x, at);
      add(list, inst.y, at);
    } else if (inst.op === "assert") {
      if (inst.at === "start" ? at === 0 : at === input.length) add(list, pc + 1, at);
    } else list.push(pc);
  };
  for (let at = 0; ; at++) {
    if (at === 0 || !atStart) add(current, 0, at);
    if (current.some((pc) => prog[pc]!.op === "match")) return true;
    if (at === input.length) return false;
    const code = input.charCodeAt(at);
    const next: number[] = [];
    generation++;
    for (const pc of current) {
      const inst = prog[pc]!;
      if (inst.op === "char" && inst.test(code)) add(next, pc + 1, at + 1);
    }
    current = next;
  }
}
