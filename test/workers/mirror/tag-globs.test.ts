/**
 * Quay's mirror tag rules (`tag_glob_csv`), matched as Python's `fnmatch.fnmatch` does on Linux:
 * the seeds' examples, classes and their negation, literal symbols, and globs that cannot stall.
 */
import { describe, expect, it } from "vitest";
import { globProblem, globToPattern, tagRuleMatcher } from "../../../src/mirror/tag-globs";

const matching = (globs: string[], tags: string[]) => tags.filter(tagRuleMatcher(globs));

describe("tag globs", () => {
  it("match the seeds' examples", () => {
    const tags = ["v32", "v3.1", "v3.2", "v3.2-4beta", "v3.3", "v4", "3.1"];
    expect(matching(["v3*"], tags)).toEqual(["v32", "v3.1", "v3.2", "v3.2-4beta", "v3.3"]);
    expect(matching(["v3.[12]*"], tags)).toEqual(["v3.1", "v3.2", "v3.2-4beta"]);
    expect(matching(["v3.[!1]*"], tags)).toEqual(["v3.2", "v3.2-4beta", "v3.3"]);
  });

  it("match the whole tag, case-sensitively, any glob of the list", () => {
    expect(matching(["latest"], ["latest", "latest-1", "old-latest", "LATEST"])).toEqual(["latest"]);
    expect(matching(["?.?"], ["1.2", "1.23", "a.b"])).toEqual(["1.2", "a.b"]);
    expect(matching(["1.*", "stable"], ["1.0", "2.0", "stable"])).toEqual(["1.0", "stable"]);
    expect(matching(["[a-c]x"], ["ax", "bx", "dx", "-x"])).toEqual(["ax", "bx"]);
    expect(matching(["[-a]x"], ["-x", "ax", "bx"])).toEqual(["-x", "ax"]);
  });

  it("take regex symbols literally, and an unclosed [ as itself", () => {
    expect(matching(["v1.0"], ["v1.0", "v1x0"])).toEqual(["v1.0"]);
    expect(matching(["a+b"], ["a+b", "aab"])).toEqual(["a+b"]);
    expect(matching(["x[1"], ["x[1", "x1"])).toEqual(["x[1"]);
    expect(matching(["[]]"], ["]", "a"])).toEqual(["]"]);
    expect(matching(["[^a]"], ["^", "a", "b"])).toEqual(["^", "a"]);
    expect(globToPattern("a*?.b")).toBe("^a.*.\\.b$");
  });

  it("refuse what cannot be a tag pattern, and never stall on stars", () => {
    expect(globProblem("")).toMatch(/empty/);
    expect(globProblem("x".repeat(129))).toMatch(/longer than 128/);
    expect(globProblem("é*")).toMatch(/ASCII/);
    expect(globProblem("[z-a]")).toMatch(/bad character range/);
    expect(globProblem("v3.*")).toBeNull();
    const started = performance.now();
    expect(matching(["*a*a*a*a*a*a*a*a*a*a*a*b"], ["a".repeat(128)])).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
