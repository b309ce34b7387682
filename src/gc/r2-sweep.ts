/**
 * The R2 sweep: what guarantees that no object survives that nothing references once the grace
 * period has passed, whatever lost track of it (a push refused after its bytes were stored, a
 * manifest collected, a blob pass interrupted between its D1 batch and its R2 delete, a chunked
 * upload whose session died after assembling it). It lists the store's prefixes
 * (src/storage/keys.ts) a page per call through the BlobStore, resuming from a cursor saved in
 * `DB`'s gc_state (the bucket is one, so is its cursor), and deletes an object when
 * - no `blobs` row in any database (`DB` and every shard, src/db/shards.ts) has it as
 *   `storage_key` and no manifest's bytes live there: R2 keys are content addresses shared by
 *   every database, so one database's answer says nothing about the others', and
 * - it was written before now - max(grace, UPLOAD_EXPIRY_SECONDS): a push stores bytes before the
 *   row that names them (blob content, manifest bytes), and an upload session may assemble its
 *   object and record it on a retried PUT until its alarm discards it. An upload still in
 *   progress is an incomplete multipart upload, which R2 does not list at all.
 */
import { metrics } from "../metrics/recorder";
import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import type { BlobStore } from "../storage/blob-store";
import { contentKey, digestOfContentKey, KEY_PREFIXES } from "../storage/keys";
import { chunksForStatement } from "../db/chunks";
import { readCursor, writeCursor } from "./grace";
import { clock } from "../lib/clock";

const CURSOR = "r2";

export interface SweepResult {
  listed: number;
  deleted: number;
  /** True when this call finished the last prefix (the next starts over). */
  wrapped: boolean;
}

interface SweepCursor {
  /** Index into KEY_PREFIXES, swept in turn. */
  prefix: number;
  cursor?: string;
}

/**
 * One page of the sweep at time `nowMs`; objects younger than `minAgeMs` stay. `databases` is every
 * database that may name an object (`allShardDbs`), `DB` first: the cursor is kept there.
 */
export async function sweepR2(
  databases: readonly Db[],
  store: BlobStore,
  nowMs: number,
  minAgeMs: number,
  limit = 500,
): Promise<SweepResult> {
  const db = databases[0]!;
  const saved = await readCursor(db, CURSOR);
  const state: SweepCursor = saved ? (JSON.parse(saved) as SweepCursor) : { prefix: 0 };
  const prefix = KEY_PREFIXES[state.prefix] ?? KEY_PREFIXES[0]!;
  const page = await store.list(prefix, { cursor: state.cursor, limit });
  const cutoff = nowMs - minAgeMs;
  const decidedAt = clock.now();
  const old = page.objects.filter((o) => o.writtenAt <= cutoff).map((o) => o.key);
  const inUse = await referencedKeys(databases, old);
  const deleted = await deleteIfUnchanged(
    store,
    old.filter((key) => !inUse.has(key)),
    Math.min(cutoff, decidedAt),
  );

  let next: SweepCursor | null;
  if (page.cursor) next = { prefix: state.prefix, cursor: page.cursor };
  else next = state.prefix + 1 < KEY_PREFIXES.length ? { prefix: state.prefix + 1 } : null;
  await writeCursor(db, CURSOR, next && JSON.stringify(next));
  return { listed: page.objects.length, deleted, wrapped: next === null };
}

/**
 * Which of `keys` a row in any of `databases` still uses (one "in use" keeps the object): a blob's
 * `storage_key`, or a manifest's bytes (manifests live at the content key of their digest,
 * src/storage/keys.ts). The databases are asked at once: one D1 round trip however many shards
 * there are. A database that cannot answer fails the whole call, so nothing is deleted on a
 * partial answer.
 */
export async function referencedKeys(databases: readonly Db[], keys: string[]): Promise<Set<string>> {
  if (databases.length === 0) throw new Error("referencedKeys needs at least one database to ask");
  const answers = await Promise.all(databases.map((db) => referencedKeysIn(db, keys)));
  return new Set(answers.flatMap((used) => [...used]));
}

/**
 * {@link referencedKeys} in one database. Content keys are looked up by digest (the primary key);
 * others by storage key.
 */
async function referencedKeysIn(db: Db, keys: string[]): Promise<Set<string>> {
  const used = new Set<string>();
  const content = keys.flatMap((key) => digestOfContentKey(key) ?? []);
  const other = keys.filter((key) => digestOfContentKey(key) === null);
  for (const chunk of chunksForStatement(content, { perValue: 1 })) {
    const digests = sql.join(
      chunk.map((digest) => sql`${digest}`),
      sql`, `,
    );
    const blobRows = await db.all<{ key: string }>(
      sql`select storage_key as key from blobs where digest in (${digests})`,
    );
    for (const row of blobRows) used.add(row.key);
    const manifestRows = await db.all<{ digest: `sha256:${string}` }>(
      sql`select distinct digest from manifests where digest in (${digests})`,
    );
    for (const row of manifestRows) used.add(contentKey(row.digest));
  }
  for (const chunk of chunksForStatement(other, { perValue: 1 })) {
    const storageKeys = sql.join(
      chunk.map((k) => sql`${k}`),
      sql`, `,
    );
    const rows = await db.all<{ key: string }>(
      sql`select storage_key as key from blobs where storage_key in (${storageKeys})`,
    );
    for (const row of rows) used.add(row.key);
  }
  return used;
}

/**
 * Deletes each of `keys` whose object was last written at or before `notAfterMs`: one written
 * since the caller decided is a push storing that content again, and stays. Returns how many went.
 */
export async function deleteIfUnchanged(store: BlobStore, keys: string[], notAfterMs: number): Promise<number> {
  const doomed: string[] = [];
  let bytes = 0;
  for (const key of keys) {
    const stat = await store.stat(key);
    if (stat !== null && stat.writtenAt <= notAfterMs) {
      doomed.push(key);
      bytes += stat.size;
    }
  }
  await store.delete(doomed);
  // The one place garbage collection deletes stored bytes (the blob pass and the sweep): counted
  // after the delete succeeded. Quay's storage blobs deleted, and the bytes they held.
  metrics.count("quay_gc_storage_blobs_deleted_total", {}, doomed.length);
  metrics.count("wharf_gc_reclaimed_bytes_total", {}, bytes);
  return doomed.length;
}
