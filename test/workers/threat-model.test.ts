/**
 * docs/threat-model.md names, for each threat, the test that covers it: this keeps the page true.
 * Every test file it names exists, every test it names by title is in that file, and every row of
 * its tables names a test or says plainly that it has none (or that its test comes with a merge).
 */
import { describe, expect, it } from "vitest";
import threatModel from "../../docs/threat-model.md?raw";

/** Every test file of the repository, by its path from the root (`test/…`). */
const testFiles = Object.fromEntries(
  Object.entries(import.meta.glob<string>("/test/**/*.test.ts", { query: "?raw", import: "default" })).map(
    ([key, load]) => [key.replace(/^\//, ""), load],
  ),
);

/** The rows of the page's tables, without the header and separator rows. */
const rows = threatModel
  .split("\n")
  .filter((line) => line.startsWith("| ") && !/^\| -/.test(line) && !/^\| (Caller|Threat) \|/.test(line));

/** Each `test/…test.ts` reference, with the test title after ` › ` when there is one. */
const references = [...threatModel.matchAll(/`(test\/[^`]+\.test\.ts)`(?: › "([^"]+)")?/g)].map((m) => ({
  file: m[1]!,
  title: m[2],
}));

describe("docs/threat-model.md", () => {
  it("has its tables, and finds the repository's test files", () => {
    expect(rows.length).toBeGreaterThan(30);
    // Both suites: workerd tests and end-to-end tests (vite leaves this file itself out of its glob).
    expect(Object.keys(testFiles)).toEqual(
      expect.arrayContaining(["test/workers/constant-time.test.ts", "test/e2e/scan-logs.test.ts"]),
    );
  });

  it("names test files that exist", () => {
    const missing = references.filter((r) => !(r.file in testFiles)).map((r) => r.file);
    expect(missing).toEqual([]);
  });

  it("names tests that are in the files it names", async () => {
    const missing: string[] = [];
    for (const { file, title } of references) {
      if (!title || !(file in testFiles)) continue;
      const text = await testFiles[file]!();
      if (!text.includes(title)) missing.push(`${file} › "${title}"`);
    }
    expect(missing).toEqual([]);
  });

  it("gives every row a test, or says plainly that it has none", () => {
    const silent = rows.filter(
      (row) => !row.includes("`test/") && !row.includes("no test") && !row.includes("test: <to be added on merge>"),
    );
    expect(silent).toEqual([]);
  });
});
