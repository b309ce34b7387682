import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/** A drizzle client over the D1 binding; created per request (it holds no connection). */
export function database(d1: D1Database) {
  return drizzle(d1, { schema, casing: "snake_case" });
}

export type Db = ReturnType<typeof database>;

export type Statement = BatchItem<"sqlite">;

/**
 * Runs statements as one D1 batch: one transaction, all or nothing (D1 has no interactive
 * transactions; Drizzle "Batch API").
 */
export async function runBatch(db: Db, statements: Statement[]): Promise<void> {
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}
