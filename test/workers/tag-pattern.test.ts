/**
 * Auto-prune's tag patterns (src/lib/tag-pattern.ts): which patterns are accepted, that an accepted
 * pattern matches exactly as JavaScript's (and Python's) engine would, and every refusal, ReDoS
 * shapes first. Timing is not asserted: the bound is structural (no backtracking at all).
 */
import { describe, expect, it } from "vitest";
import { compileTagPattern, MAX_TAG_PATTERN_LENGTH, tagPatternProblem } from "../../src/lib/tag-pattern";

/** Tag-like names (and edge cases) every accepted pattern is checked against. */
const NAMES = [
  "",
  "v",
  "vv",
  "v1",
  "v1.2.3",
  "v10.20.30",
  "1.2.3",
  "latest",
  "x-dev",
  "feature-dev",
  "dev",
  "dev-x",
  "release-12",
  "hotfix-3",
  "hotfix-",
  "release-x",
  "release-1a",
  "test",
  "test2",
  "test_3",
  "atest",
  "aab",
  "aaaab",
  "ab",
  "ababc",
  "abcabc",
  "abcabcabc",
  "dx",
  "ax",
  "foo",
  "xbar",
  "123",
  "-",
  "a",
  "aaa",
  "w.x",
  ".",
  "]",
  "{",
  "a{",
  "}",
  "A_b-9.z",
  "x".repeat(128),
];

describe("accepted patterns", () => {
  // Quay's documented examples first, then the rest of the supported syntax.
  const ACCEPTED = [
    "^v*",
    ".*-dev$",
    "^(release|hotfix)-[0-9]+$",
    "^test.*",
    "^test.",
    "^v[0-9]+\\.[0-9]+\\.[0-9]+$",
    "latest",
    "a{2,4}b",
    "a{3}",
    "a{2,}",
    "a{0,128}",
    "(ab)+c",
    "^(abc){2}$",
    "[^a-c]x",
    "(?:foo|bar)$",
    "\\d{3}",
    "x|y|z",
    "^$",
    "[-a]",
    "[a-]",
    "[\\w.]+",
    "\\.",
    "a.*?b",
    "\\]",
    "[\\]]",
    "{",
    "a{",
    "}",
    "(?P<name>ab)?",
    "(?<name>ab)?",
    "(-rc[0-9]+)?$",
    "\\W",
    "\\S+",
    "[\\d_]+$",
    "x".repeat(MAX_TAG_PATTERN_LENGTH),
  ];

  it.each(ACCEPTED)("%s", (pattern) => {
    expect(tagPatternProblem(pattern)).toBeNull();
    const matcher = compileTagPattern(pattern);
    const reference = new RegExp(pattern.replace("(?P<", "(?<"));
    for (const name of NAMES)
      expect(matcher.test(name), `${pattern} on ${JSON.stringify(name)}`).toBe(reference.test(name));
  });

  it("matches anywhere unless anchored, as Quay's regex queries do", () => {
    expect(compileTagPattern("dev").test("my-dev-build")).toBe(true);
    expect(compileTagPattern("^dev").test("my-dev-build")).toBe(false);
    expect(compileTagPattern("build$").test("my-dev-build")).toBe(true);
  });

  it("matches only at the start with from: start, as Python's re.match (immutability policies)", () => {
    const atStart = (pattern: string) => compileTagPattern(pattern, { from: "start" });
    expect(atStart("dev").test("my-dev-build")).toBe(false);
    expect(atStart("dev").test("dev-build")).toBe(true);
    expect(atStart("v[0-9]+|release").test("release-1")).toBe(true);
    expect(atStart("v[0-9]+|release").test("x-release")).toBe(false);
    expect(atStart(".*-stable").test("1.2-stable")).toBe(true);
    expect(atStart("build$").test("my-dev-build")).toBe(false);
  });

  it("states its worst-case cost: states × (length + 1)", () => {
    const matcher = compileTagPattern("^v[0-9]+$");
    expect(matcher.cost(0)).toBeGreaterThan(0);
    expect(matcher.cost(128)).toBe(matcher.cost(0) * 129);
  });

  it("answers quickly for the classic ReDoS input shapes that it accepts", () => {
    // `a*a*a*…` is polynomial of high degree for a backtracker; here it is one linear pass.
    const matcher = compileTagPattern(`^${"a*".repeat(60)}b$`);
    expect(matcher.test(`${"a".repeat(127)}c`)).toBe(false);
    expect(matcher.test(`${"a".repeat(127)}b`)).toBe(true);
  });
});

describe("refused patterns", () => {
  const REFUSED: Array<[string, RegExp]> = [
    // Nested and ambiguous quantifiers.
    ["(a+)+", /repeated group may not contain a quantifier or an alternation/],
    ["(a|a)*", /repeated group may not contain a quantifier or an alternation/],
    ["(.*)*", /repeated group may not contain a quantifier or an alternation/],
    ["(a|b)+", /repeated group may not contain a quantifier or an alternation/],
    ["(a{2})*", /repeated group may not contain a quantifier or an alternation/],
    ["^(x+x+)+y$", /repeated group may not contain a quantifier or an alternation/],
    ["((a|b)){2}", /repeated group may not contain a quantifier or an alternation/],
    ["(?:\\d+)*", /repeated group may not contain a quantifier or an alternation/],
    // Backreferences and lookaround.
    ["(a)\\1", /backreferences are not allowed/],
    ["\\1", /backreferences are not allowed/],
    ["(?P<n>a)(?P=n)", /backreferences are not allowed/],
    ["(?<n>a)\\k<n>", /backreferences are not allowed/],
    ["(?=a)", /lookaround assertions are not allowed/],
    ["(?!a)b", /lookaround assertions are not allowed/],
    ["(?<=a)b", /lookaround assertions are not allowed/],
    ["(?<!a)b", /lookaround assertions are not allowed/],
    // Size.
    ["x".repeat(MAX_TAG_PATTERN_LENGTH + 1), /longer than 256 characters/],
    ["a{129}", /repetition counts above 128/],
    ["a{0,200}", /repetition counts above 128/],
    ["(abcdefgh){0,128}", /pattern too complex/],
    // Invalid or ambiguous syntax.
    ["(a", /missing \), unterminated subpattern/],
    ["a)", /unbalanced parenthesis/],
    ["[a", /unterminated character set/],
    ["[b-a]", /bad character range/],
    ["[\\d-z]", /bad character range/],
    ["*a", /nothing to repeat/],
    ["^*", /nothing to repeat/],
    ["a|+", /nothing to repeat/],
    ["{2}", /nothing to repeat/],
    ["a**", /multiple repeat/],
    ["a*+", /multiple repeat/],
    ["a{3,2}", /min repeat greater than max repeat/],
    ["a{,3}", /write \{0,m\}/],
    ["[]a]", /empty character class/],
    ["[^]", /empty character class/],
    ["\\", /trailing backslash/],
    ["\\b", /unsupported escape \\b/],
    ["\\x41", /unsupported escape \\x/],
    ["(?i)a", /unsupported group/],
    ["é", /only printable ASCII/],
    ["a\tb", /only printable ASCII/],
  ];

  it.each(REFUSED)("%s", (pattern, reason) => {
    expect(tagPatternProblem(pattern)).toMatch(reason);
    expect(() => compileTagPattern(pattern)).toThrow(reason);
  });
});
