/**
 * Case-insensitive substring and prefix matches of user text, as SQL conditions. Not `LIKE`: D1
 * refuses a LIKE or GLOB pattern over 50 bytes ("LIKE or GLOB pattern too complex", measured in
 * workerd), so a search for a long term failed the whole request (found by the fuzzing,
 * test/workers/fuzz/api-inputs.test.ts). `instr` has no such limit and takes the text literally
 * (no wildcards to escape); `lower` folds ASCII only, exactly as LIKE's case-insensitivity does.
 * Neither form can use an index; the LIKE `%…%` these replace could not either.
 */
import { type SQL, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";

/** `column` holds `text` anywhere, ignoring ASCII case. */
export function containsText(column: AnySQLiteColumn | SQL, text: string): SQL {
  return sql`instr(lower(${column}), lower(${text})) > 0`;
}

/** `column` starts with `text`, ignoring ASCII case. */
export function startsWithText(column: AnySQLiteColumn | SQL, text: string): SQL {
  return sql`substr(lower(${column}), 1, length(${text})) = lower(${text})`;
}
