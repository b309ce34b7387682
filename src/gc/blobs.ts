/**
 * The global blob pass. Blobs are shared across repositories and namespaces (stored once, Quay
 * too), so a blob goes only when no manifest in its database references it and no push has relied on it
 * for the grace period: an upload waiting for its manifest, a layer a client HEADed or mounted
 * before pushing a manifest naming it (Quay: blob expiration is independent of the time machine).
 *
 * Why a concurrent push never loses a blob it is about to use (pushes' side: touchBlobs in
 * src/registry/blobs.ts):
 * - a blob row and its links go in ONE D1 batch (one transaction) whose every statement re-checks
 *   the whole condition (unreferenced, last used at or before now - grace). A push's touch or its
 *   manifest's references are single statements too: ordered before the batch, they make every
 *   statement of it delete nothing; ordered after, the push no longer finds the blob and uploads
 *   it again (or fails the manifest with MANIFEST_BLOB_UNKNOWN), never commits a dangling name.
 * - pushes touch first and look second; a manifest push commits within seconds of its check,
 *   far inside the grace period (at least three touch intervals, src/gc/grace.ts).
 * - the R2 object goes after the row, only if the row was really deleted (RETURNING), no other row
 *   (another blob, a manifest's bytes) in any database uses its key, and it was not written again
 *   since the pass decided (an upload of the same content recreating it). R2 has no conditional
 *   delete, so a re-upload landing in the instant between that check and the delete could still
 *   lose its bytes; the window is one R2 round trip (a rewrite after the pass decided, however long
 *   the databases took to answer, is seen by that check).
 * Past one database (src/db/shards.ts) the pass runs in each database with its own cursor there: a
 * row, its links, its references and its event are one database's, so the row's delete stays one
 * batch in it; the bytes are shared by content address, so only their delete asks every database.
 * Not covered yet, as no shard writes blob rows: a push in another database that stored the same
 * content before this pass decided, and commits its row after that database was asked (README
 * "Past one database").
 * Each call reads one window of the blobs table after a saved cursor: bounded whatever its size.
 * Each blob row deleted commits with its `gc_blob_deleted` event (docs/events.md), written first in
 * the batch on the very condition of the row's delete; the caller publishes them (the result's
 * `events`).
 */
import { sql } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import { newEvent, type RegistryEvent } from "../events/catalogue";
import { systemOrigin } from "../events/envelope";
import { eventStatement } from "../events/outbox";
import type { Digest } from "../registry/reference";
import { forgetDigests } from "../registry/pull-cache";
import type { BlobStore } from "../storage/blob-store";
import { readCursor, writeCursor } from "./grace";
import { deleteIfUnchanged, referencedKeys } from "./r2-sweep";
import { clock } from "../lib/clock";

export interface BlobPassResult {
  scanned: number;
  blobsDeleted: number;
  objectsDeleted: number;
  /** True when this call reached the end of the table (the next starts from the beginning). */
  wrapped: boolean;
  /** The events of the blobs deleted, committed with them: the caller publishes them. */
  events: RegistryEvent[];
}

/** Blob rows read per call. */
export const BLOB_SCAN_ROWS = 500;
/** Blobs deleted per D1 batch (three statements each). */
const BLOBS_PER_BATCH = 40;
const CURSOR = "blobs";

/** Whether blob alias `b` is referenced by no manifest and was last used at or before `cutoff`. */
function collectable(cutoffMs: number) {
  return sql`max(b.created_at, b.last_used_at) <= ${cutoffMs}
    and not exists (select 1 from manifest_references r where r.digest = b.digest and r.kind = 'blob')`;
}

/**
 * One bounded step of the blob pass over `db`'s rows at time `nowMs`; `databases` is every database
 * that may name an object (`allShardDbs`), asked before an object goes. The events are in `db`'s
 * outbox.
 *
 * With more than one database, an object written in the last `objectMinAgeMs` stays (the R2 sweep
 * takes it later if nothing names it then): a push in another database may have stored the same
 * content key before this pass decided and commit its row only after that database was asked. In
 * one database that push would have touched this very row first, and the pass's conditional
 * delete would have kept it (docs/sharding-the-registry-core.md §4.5). The caller passes what the
 * sweep waits, max(grace, UPLOAD_EXPIRY_SECONDS): the longest a stored object may wait for its row.
 */
export async function collectBlobs(
  db: Db,
  databases: readonly Db[],
  store: BlobStore,
  nowMs: number,
  graceMs: number,
  objectMinAgeMs = graceMs,
): Promise<BlobPassResult> {
  const cutoff = nowMs - graceMs;
  const after = (await readCursor(db, CURSOR)) ?? "";
  const window = await db.all<{ digest: Digest; size: number; collectable: number }>(sql`
    select b.digest, b.size, (${collectable(cutoff)}) as collectable
    from (select * from blobs where digest > ${after} order by digest limit ${BLOB_SCAN_ROWS}) b
    order by b.digest`);
  const wrapped = window.length < BLOB_SCAN_ROWS;
  await writeCursor(db, CURSOR, wrapped ? null : window.at(-1)!.digest);

  const candidates = window.filter((row) => row.collectable);
  const decidedAt = clock.now();
  const freedKeys: string[] = [];
  const events: RegistryEvent[] = [];
  for (let i = 0; i < candidates.length; i += BLOBS_PER_BATCH) {
    const deleted = await deleteBlobs(db, candidates.slice(i, i + BLOBS_PER_BATCH), cutoff, nowMs);
    freedKeys.push(...deleted.keys);
    events.push(...deleted.events);
  }
  // Cached pull facts of these blobs go at once in this isolate, before their bytes do; elsewhere
  // an F1 hit finds no bytes, drops the fact and asks D1 again (src/registry/pull-cache.ts).
  await forgetDigests(events.flatMap((event) => (event.kind === "gc_blob_deleted" ? [event.data.digest] : [])));
  const writtenBefore = databases.length > 1 ? Math.min(decidedAt, nowMs - objectMinAgeMs) : decidedAt;
  const objectsDeleted = await deleteUnusedObjects(databases, store, freedKeys, writtenBefore);
  return { scanned: window.length, blobsDeleted: freedKeys.length, objectsDeleted, wrapped, events };
}

/**
 * Deletes the blobs among `candidates` that are still collectable, with their links and events, in
 * one batch in which each statement re-checks the condition; returns the storage keys of the rows
 * deleted and the events of those blobs.
 */
async function deleteBlobs(
  db: Db,
  candidates: { digest: Digest; size: number }[],
  cutoffMs: number,
  nowMs: number,
): Promise<{ keys: string[]; events: RegistryEvent[] }> {
  const place = { namespace: null, repository: null };
  const events = candidates.map(({ digest, size }) =>
    newEvent("gc_blob_deleted", place, systemOrigin("gc"), { digest, size }, nowMs),
  );
  const results = await batchSql(
    db,
    candidates.flatMap(({ digest }, i) => [
      eventStatement(db, events[i]!, {
        onlyIf: sql`exists (select 1 from blobs b where b.digest = ${digest} and ${collectable(cutoffMs)})`,
      }).getSQL(),
      sql`delete from repository_blobs where digest = ${digest}
        and exists (select 1 from blobs b where b.digest = ${digest} and ${collectable(cutoffMs)})`,
      sql`delete from blobs as b where b.digest = ${digest} and ${collectable(cutoffMs)} returning storage_key`,
    ]),
  );
  const keys: string[] = [];
  const committed: RegistryEvent[] = [];
  candidates.forEach((_, i) => {
    const rows = results[3 * i + 2]!.results as { storage_key: string }[];
    if (rows.length === 0) return;
    keys.push(...rows.map((r) => r.storage_key));
    committed.push(events[i]!);
  });
  return { keys, events: committed };
}

/**
 * Deletes the objects at `keys` that no row in any of `databases` uses and that were not rewritten
 * since `decidedAt`.
 */
async function deleteUnusedObjects(
  databases: readonly Db[],
  store: BlobStore,
  keys: string[],
  decidedAt: number,
): Promise<number> {
  if (keys.length === 0) return 0;
  const inUse = await referencedKeys(databases, keys);
  return deleteIfUnchanged(
    store,
    keys.filter((key) => !inUse.has(key)),
    decidedAt,
  );
}
