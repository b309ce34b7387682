/**
 * The README's "Deploying" section with the real wrangler (4.155.0), as far as a machine without a
 * Cloudflare account goes: the block after the `<!-- deploy-check` marker, run as written (it
 * bundles the Worker as `wrangler deploy` would and applies every migration to a fresh local D1),
 * then the database it made is checked table by table against migrations/; and `npm run deploy`
 * with a wrangler that is not logged in stops with a plain error before touching anything.
 */
import { spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readmeBlock, runBash } from "./helpers/readme-blocks";
import { ROOT } from "./helpers/server";

const MARKER = "<!-- deploy-check";
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-deploy-guide-"));
  await mkdir(path.join(tmp, "home"));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** A newcomer's shell: the repository's tools as npx finds them, no Cloudflare login (HOME is new). */
function newcomer(): Record<string, string> {
  return {
    PATH: `${path.join(ROOT, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`,
    HOME: path.join(tmp, "home"),
    TMPDIR: tmp,
    WRANGLER_SEND_METRICS: "false",
  };
}

function run(command: string, args: string[], cwd: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { cwd, env: newcomer() });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The tables migrations/ leaves behind, replaying its CREATE, DROP and RENAME statements in order. */
async function tablesOfMigrations(): Promise<{ files: number; tables: Set<string> }> {
  const files = (await readdir(path.join(ROOT, "migrations"))).filter((name) => name.endsWith(".sql")).sort();
  const tables = new Set<string>();
  const name = '[`"]?([A-Za-z0-9_]+)[`"]?';
  const statement = new RegExp(
    `CREATE TABLE (?:IF NOT EXISTS )?${name}|DROP TABLE (?:IF EXISTS )?${name}|ALTER TABLE ${name} RENAME TO ${name}`,
    "gi",
  );
  for (const file of files) {
    const sql = await readFile(path.join(ROOT, "migrations", file), "utf8");
    for (const [, created, dropped, from, to] of sql.matchAll(statement)) {
      if (created) tables.add(created);
      if (dropped) tables.delete(dropped);
      if (from && to) {
        tables.delete(from);
        tables.add(to);
      }
    }
  }
  return { files: files.length, tables };
}

describe("the README's deploy guide, with the real wrangler", () => {
  it("bundles the Worker and applies every migration to a fresh local D1, as written", async () => {
    const block = await readmeBlock(MARKER);
    const result = await runBash(block, ROOT, newcomer(), 280_000);
    expect(result.code, `the block failed:\n${block}\n--- output ---\n${result.output}`).toBe(0);
    expect((await stat(path.join(tmp, "wharf-bundle", "index.js"))).size).toBeGreaterThan(100_000);

    const query = (sql: string) =>
      run(
        "npx",
        [
          "wrangler",
          "d1",
          "execute",
          "DB",
          "--local",
          "--persist-to",
          path.join(tmp, "wharf-d1-check"),
          "--json",
          "--command",
          sql,
        ],
        ROOT,
      );
    const listed = await query("SELECT name FROM sqlite_master WHERE type = 'table'");
    expect(listed.code, listed.stderr).toBe(0);
    const [{ results }] = JSON.parse(listed.stdout) as [{ results: { name: string }[] }];
    const actual = new Set(results.map((row) => row.name).filter((n) => !/^(_cf_|sqlite_|d1_migrations$)/.test(n)));
    const expected = await tablesOfMigrations();
    expect(expected.tables.size).toBeGreaterThan(50);
    expect([...actual].sort()).toEqual([...expected.tables].sort());

    const applied = await query("SELECT count(*) AS n FROM d1_migrations");
    expect(JSON.parse(applied.stdout)[0].results[0].n).toBe(expected.files);
  });

  it("`npm run deploy` with a wrangler that is not logged in says so and changes nothing", async () => {
    // A project of its own (a copy of wrangler.toml, no package.json), so the repository's stays as it is.
    const project = path.join(tmp, "project");
    await mkdir(project, { recursive: true });
    await copyFile(path.join(ROOT, "wrangler.toml"), path.join(project, "wrangler.toml"));
    const before = await readFile(path.join(project, "wrangler.toml"), "utf8");
    const result = await run(
      process.execPath,
      [path.join(ROOT, "scripts/deploy.mjs"), "--config", path.join(project, "wrangler.toml")],
      ROOT,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("wrangler is not logged in: run `npx wrangler login`");
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(await readFile(path.join(project, "wrangler.toml"), "utf8")).toBe(before);
  });
});
