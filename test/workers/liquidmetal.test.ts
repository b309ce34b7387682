/**
 * The LiquidMetal score find/all ranks with (src/lib/liquidmetal.ts): the values of the Python
 * `stringscore` package Quay calls, computed with it for these pairs, and the bound on its search.
 */
import { describe, expect, it } from "vitest";
import { liquidMetalScore } from "../../src/lib/liquidmetal";

describe("liquidMetalScore", () => {
  it("gives stringscore's values, quirks included", () => {
    const cases: Array<[string, string, number]> = [
      ["hello", "he", 0.9400000000000001],
      ["my-repo", "repo", 0.9571428571428572],
      ["myrepo", "repo", 0.6666666666666666],
      ["acme+builder", "build", 0.5499999999999999],
      ["FooBar", "fb", 0.9166666666666669],
      ["banana", "an", 0.7333333333333333],
      ["a_b_c", "abc", 1],
      ["devops-team", "team", 0.9181818181818181],
      ["x", "xy", 0],
      ["abc", "", 0.8],
      ["mississippi", "sip", 0.45454545454545453],
      ["Deploy_Tool-x", "dtx", 0.9076923076923076],
      ["aaaa", "aa", 0.95],
      ["abc", "z", 0],
    ];
    for (const [name, query, score] of cases) expect(liquidMetalScore(name, query), `${name} ${query}`).toBe(score);
  });

  // Unbounded, this search has C(255, 10) paths: the test would run into its timeout (workerd's
  // clocks stand still while code runs, so the time cannot be asserted directly).
  it("stops a combinatorial search early instead of pinning the CPU", () => {
    expect(liquidMetalScore("a".repeat(255), "a".repeat(10))).toBeGreaterThan(0);
  });
});
