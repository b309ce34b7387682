import type { SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import * as schema from "./schema";

function createClient(d1: D1Database) {
  return drizzle(d1, { schema, casing: "snake_case" });
}

export type Db = ReturnType<typeof createClient>;

// The client holds no connection, but building it walks the whole schema (drizzle's relational
// config): measured as ~4% of a manifest GET's Worker CPU when done per request. One per binding.
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
