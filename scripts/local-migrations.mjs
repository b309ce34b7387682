// The D1 migrations of `npm start`, applied in this process instead of one `wrangler d1 migrations
// apply --local` per database. That command starts its own local runtime and, measured on a fresh
// state, took ~28 s for the 35 migrations (every end-to-end test file starts a fresh registry, so
// it was most of their time); here the same work is about a second.
//
// It is the same migration, not a second one: the same files of `migrations_dir`, split into
// statements by wrangler's own splitter (`unstable_splitSqlQuery`, which the workerd tests' reader
// uses too), run against the same sqlite files (Miniflare's D1 under `<state>/v3`, the database ids
// of wrangler.toml), and recorded in wrangler's own table (`d1_migrations`: the create statement
// and the file name as wrangler writes them), so `wrangler d1 migrations list --local` and
// `npm run dev` see them applied, and a state migrated by either is carried on by the other.
// Each file and its record are one D1 batch: a failing migration leaves nothing of itself behind.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** wrangler's default `migrations_table`. */
const DEFAULT_TABLE = "d1_migrations";

const quoted = (id) => `"${id.replace(/"/g, '""')}"`;

/** wrangler's migrations table, as `wrangler d1 migrations apply` creates it. */
const createTable = (table) => `CREATE TABLE IF NOT EXISTS ${quoted(table)}(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`;

/** The migration files in the order wrangler applies them (by name, `*.sql` in the folder itself). */
function migrationFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".sql"))
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b, "en"));
}

/**
 * Applies every migration not yet recorded to each of `databases` (wrangler.toml's d1_databases
 * entries: binding, database_id, migrations_dir, migrations_table), through a Miniflare holding
 * only those databases on `persistPath`. Returns the names applied, per binding.
 */
export async function applyLocalMigrations({
  Miniflare,
  convertV4MiniflareOptions,
  splitSqlQuery,
  root,
  persistPath,
  compatibilityDate,
  d1Databases,
  databases,
}) {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      resourcePersistencePath: persistPath,
      workers: [
        {
          name: "wharf-migrations",
          modules: true,
          script: "export default { fetch: () => new Response(null, { status: 404 }) };",
          compatibilityDate,
          d1Databases,
        },
      ],
    }),
  );
  const applied = {};
  try {
    await mf.ready;
    for (const database of databases) {
      const db = await mf.getD1Database(database.binding);
      const table = database.migrations_table || DEFAULT_TABLE;
      const dir = path.resolve(root, database.migrations_dir || "migrations");
      await db.prepare(createTable(table)).run();
      const done = new Set(
        (await db.prepare(`SELECT name FROM ${quoted(table)}`).all()).results.map((row) => row.name),
      );
      applied[database.binding] = [];
      for (const name of migrationFiles(dir)) {
        if (done.has(name)) continue;
        const statements = splitSqlQuery(readFileSync(path.join(dir, name), "utf8"))
          .map((sql) => sql.trim())
          .filter((sql) => sql.length > 0)
          .map((sql) => db.prepare(sql));
        try {
          await db.batch([...statements, db.prepare(`INSERT INTO ${quoted(table)} (name) VALUES (?)`).bind(name)]);
        } catch (err) {
          throw new Error(`migration ${name} failed on ${database.binding}: ${err?.message ?? err}`);
        }
        applied[database.binding].push(name);
      }
    }
  } finally {
    await mf.dispose();
  }
  return applied;
}
