/**
 * What the garbage-collection passes share: the grace period they give what a push may be about
 * to use (Quay's PUSH_TEMP_TAG_EXPIRATION_SEC), the cursors they keep between runs, raw batches.
 */
import { eq } from "drizzle-orm";
import { readConfig, type Config } from "../config";
import type { Db } from "../db/client";
import { gcState } from "../db/schema";
import { BLOB_TOUCH_INTERVAL_MS } from "../registry/blobs";

/**
 * The grace period in milliseconds. Pushes touch a blob at most once per touch interval
 * (src/registry/blobs.ts), so a grace shorter than a few intervals could collect a blob a push has
 * just checked: the configured value is raised to three intervals (15 minutes) when smaller.
 */
export function graceMs(env: Partial<Record<keyof Config, unknown>>): number {
  return Math.max(readConfig(env).PUSH_TEMP_TAG_EXPIRATION_SEC * 1000, 3 * BLOB_TOUCH_INTERVAL_MS);
}

/** The cursor pass `pass` saved, or null before its first run and after it wrapped. */
export async function readCursor(db: Db, pass: string): Promise<string | null> {
  return (
    (await db.select({ cursor: gcState.cursor }).from(gcState).where(eq(gcState.pass, pass)).get())?.cursor ?? null
  );
}

/** Saves (or, with null, clears) the cursor of pass `pass`. */
export async function writeCursor(db: Db, pass: string, cursor: string | null, nowMs = Date.now()): Promise<void> {
  if (cursor === null) {
    await db.delete(gcState).where(eq(gcState.pass, pass));
    return;
  }
  await db
    .insert(gcState)
    .values({ pass, cursor, updatedAt: nowMs })
    .onConflictDoUpdate({ target: gcState.pass, set: { cursor, updatedAt: nowMs } });
}

// Raw batches are storage's (src/db/client.ts); re-exported for the collectors that import them here.
export { batchSql } from "../db/client";
