/**
 * `npm start` applies the D1 migrations in its own process (scripts/local-migrations.mjs) rather
 * than through `wrangler d1 migrations apply --local`: the result must be the very database wrangler
 * makes, recorded the way wrangler records it, so `npm run dev`, `wrangler d1 …` and `npm start`
 * can each carry on a state another made.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startWharf } from "./helpers/server";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-start-migrations-"));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** wrangler as start.mjs runs it: under the pinned Node 22 when the test's own Node is older. */
function wrangler(args: string[]) {
  const pinned = path.join(ROOT, "node_modules", "node", "bin", "node");
  const node = existsSync(pinned) ? pinned : process.execPath;
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(node, [path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), ...args], {
      cwd: ROOT,
      env: { ...process.env, HOME: tmp, WRANGLER_SEND_METRICS: "false" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The schema and the migration records of `stateDir`'s DB, read from its file (Miniflare's D1 is
 * one SQLite file per database; wrangler.toml declares DB alone). Read here rather than through
 * `wrangler d1 execute`, which took ~5 s a query; D1 writes through SQLite's WAL, which a reader
 * opening the file sees.
 */
async function databaseOf(stateDir: string) {
  const dir = path.join(stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  // Each object's file is named by its id; metadata.sqlite is Miniflare's own.
  const files = (await readdir(dir)).filter((name) => /^[0-9a-f]{64}\.sqlite$/.test(name));
  expect(files).toHaveLength(1);
  const db = new DatabaseSync(path.join(dir, files[0]!), { readOnly: true });
  try {
    return {
      schema: db
        .prepare(
          "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .all(),
      migrations: db
        .prepare("SELECT name FROM d1_migrations ORDER BY id")
        .all()
        .map((row) => row.name),
    };
  } finally {
    db.close();
  }
}

describe("npm start's D1 migrations", () => {
  it("make the database wrangler makes, recorded as wrangler records them, and carry on a wrangler-made state", async () => {
    // npm start on a fresh state.
    const started = await startWharf({ stateDir: path.join(tmp, "by-start") });
    await started.stop({ keepState: true });
    const pending = await wrangler(["d1", "migrations", "list", "DB", "--local", "--persist-to", started.stateDir]);
    expect(pending.code, pending.stderr).toBe(0);
    expect(pending.stdout).toContain("No migrations to apply");

    // wrangler on another fresh state.
    const byWrangler = path.join(tmp, "by-wrangler");
    const applied = await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", byWrangler]);
    expect(applied.code, applied.stderr).toBe(0);

    const ours = await databaseOf(started.stateDir);
    const theirs = await databaseOf(byWrangler);
    expect(ours.schema.length).toBeGreaterThan(100);
    expect(ours.schema).toEqual(theirs.schema);
    expect(ours.migrations).toEqual(theirs.migrations);
    expect(ours.migrations[0]).toBe("0000_init.sql");

    // npm start on the state wrangler made: nothing applied twice, the registry serves.
    const again = await startWharf({ stateDir: byWrangler });
    try {
      expect((await fetch(`${again.url}/v2/`)).status).toBe(401);
    } finally {
      await again.stop({ keepState: true });
    }
    expect((await databaseOf(byWrangler)).migrations).toEqual(theirs.migrations);
  });
});
