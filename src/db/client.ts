import type { SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";

/**
 * Without `schema`: no module uses drizzle's relational queries (`db.query.*`), and with a schema
 * drizzle walks all of it for every client it builds (its relational config), measured in workerd
 * at ~165 µs a client (~4% of a manifest GET's Worker CPU), against ~1 µs without
 * (test/workers/db/client-cost.test.ts). A /v2 request builds one over its D1 session
 * (src/middleware/db-session.ts), so that cost would be paid per request.
 */
function createClient(d1: D1Database) {
  return drizzle(d1, { casing: "snake_case" });
}

export type Db = ReturnType<typeof createClient>;

// The client holds no connection: one per binding and isolate is enough for the binding itself.
const clients = new WeakMap<D1Database, Db>();

/** The drizzle client over a D1 binding, built once per binding and isolate. */
export function database(d1: D1Database): Db {
  let client = clients.get(d1);
  if (!client) {
    client = createClient(d1);
    clients.set(d1, client);
  }
  return client;
}

/**
 * A drizzle client over a D1 session (D1 read replication, the Sessions API): cheap, one per
 * request. drizzle only calls `prepare` and `batch` on its client, which a session has with the
 * same signatures (checked in workerd: reads, writes, batches and `getBookmark` after them), so
 * the session stands in for the binding; `$client` is then the session, whose `exec`, `dump`
 * and `withSession` nothing calls (batchSql below uses `prepare` and `batch` only).
 */
export function sessionDb(session: D1DatabaseSession): Db {
  return createClient(session as unknown as D1Database);
}

export type Statement = BatchItem<"sqlite">;

/**
 * Runs statements as one D1 batch: one transaction, all or nothing (D1 has no interactive
 * transactions; Drizzle "Batch API").
 */
export async function runBatch(db: Db, statements: Statement[]): Promise<void> {
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

// The client's casing, so that query builders turned into SQL (`.getSQL()`) name snake_case columns.
const dialect = new SQLiteAsyncDialect({ casing: "snake_case" });

/**
 * Runs raw SQL statements as one D1 batch (one transaction). Drizzle's `db.batch` cannot carry
 * `db.run(sql)` items that bind parameters (drizzle-orm 0.45: it looks for a prepared statement
 * raw queries do not have), so these go to D1 directly.
 */
export async function batchSql(db: Db, queries: SQL[]): Promise<D1Result[]> {
  if (queries.length === 0) return [];
  const statements = queries.map((query) => {
    const { sql: text, params } = dialect.sqlToQuery(query);
    return db.$client.prepare(text).bind(...params);
  });
  return db.$client.batch(statements);
}

/**
 * Whether two clients go to the same D1 database (the same binding, or `database` of it twice):
 * a write whose registry core is in `DB` keeps its one batch (src/registry/core-db.ts).
 */
export function sameDatabase(a: Db, b: Db): boolean {
  return a === b || a.$client === b.$client;
}
