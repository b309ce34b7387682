/**
 * What Wharf's metadata takes in D1: the local database files `npm start` keeps (Miniflare's D1
 * is SQLite, one file per database under the state directory), measured with SQLite's dbstat
 * (python3's sqlite3 has it; Node's does not in every build). D1 bills and caps the database's
 * size, 10 GB at most, which is its pages: dbstat's page bytes per table and per index.
 */
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

export interface TableSize {
  rows: number;
  /** Bytes of the table's pages (its b-tree, overflow pages included). */
  tableBytes: number;
  /** Bytes of the pages of its indexes (SQLite's automatic ones for UNIQUE and PRIMARY KEY included). */
  indexBytes: number;
  /** Of the table's and its indexes' pages, the bytes in use (pages less their free space). */
  usedBytes: number;
}

export type D1Size = Record<string, TableSize>;

// Read-only, through a URI: the database stays open in workerd while this reads it (SQLite's
// locking lets a reader see the last committed state).
const SCRIPT = `
import json, sqlite3, sys
out = {}
for file in sys.argv[1:]:
    db = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    owner = dict(db.execute("select name, tbl_name from sqlite_schema where type in ('table', 'index')"))
    pages = db.execute("select name, sum(pgsize), sum(pgsize - unused) from dbstat group by name").fetchall()
    for name, table in owner.items():
        if table.startswith("sqlite_") or table.startswith("_cf_") or table == "d1_migrations":
            continue
        entry = out.setdefault(table, {"rows": 0, "tableBytes": 0, "indexBytes": 0, "usedBytes": 0})
        if name == table:
            entry["rows"] += db.execute(f'select count(*) from "{table}"').fetchone()[0]
    for name, size, used in pages:
        table = owner.get(name)
        if table not in out:
            continue
        out[table]["tableBytes" if name == table else "indexBytes"] += size
        out[table]["usedBytes"] += used
print(json.dumps(out))
`;

/** The D1 databases' SQLite files under a Miniflare state directory (`npm start`'s WHARF_STATE_DIR). */
async function databaseFiles(stateDir: string): Promise<string[]> {
  const dir = path.join(stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  const names = await readdir(dir);
  const files = names.filter((name) => name.endsWith(".sqlite")).map((name) => path.join(dir, name));
  if (files.length === 0) throw new Error(`no D1 database under ${dir}`);
  return files;
}

/** Rows and bytes per table, summed over every D1 database of the state directory. */
export async function measureD1(stateDir: string): Promise<D1Size> {
  const files = await databaseFiles(stateDir);
  const { stdout } = await promisify(execFile)("python3", ["-c", SCRIPT, ...files], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as D1Size;
}

/** Total bytes (tables and indexes) of a measurement. */
export const totalBytes = (size: D1Size) =>
  Object.values(size).reduce((sum, t) => sum + t.tableBytes + t.indexBytes, 0);

/** What `after` holds beyond `before`, per table. */
export function growth(before: D1Size, after: D1Size): D1Size {
  const out: D1Size = {};
  for (const [table, a] of Object.entries(after)) {
    const b = before[table] ?? { rows: 0, tableBytes: 0, indexBytes: 0, usedBytes: 0 };
    const delta = {
      rows: a.rows - b.rows,
      tableBytes: a.tableBytes - b.tableBytes,
      indexBytes: a.indexBytes - b.indexBytes,
      usedBytes: a.usedBytes - b.usedBytes,
    };
    if (delta.rows !== 0 || delta.tableBytes !== 0 || delta.indexBytes !== 0) out[table] = delta;
  }
  return out;
}

/** Growth of the database over a known number of one kind of write, recorded by a workload's seeding. */
export interface Growth {
  /** What one unit is: "tag PUT", "repository with one image". */
  unit: string;
  count: number;
  growth: D1Size;
}

const rowCount = (size: D1Size) => Object.values(size).reduce((sum, t) => sum + t.rows, 0);

/**
 * {@link measureD1} once the database stops changing: action logs and pull statistics are written
 * by the queue consumer after the requests that caused them, so the rows settle seconds later.
 */
export async function measureSettledD1(stateDir: string, quietMs = 3000, timeoutMs = 120_000): Promise<D1Size> {
  const deadline = Date.now() + timeoutMs;
  let last = await measureD1(stateDir);
  for (;;) {
    await new Promise((r) => setTimeout(r, quietMs));
    const now = await measureD1(stateDir);
    if (rowCount(now) === rowCount(last) || Date.now() > deadline) return now;
    last = now;
  }
}
