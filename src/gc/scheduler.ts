/**
 * Online garbage collection, driven by the Cron Trigger (wrangler.toml `[triggers]`, every minute;
 * `npm start` ticks it itself). Like Quay's workers, it never pauses pushes or pulls: each run does
 * a bounded amount of each pass and keeps cursors in gc_state, so successive runs cover everything.
 * 1. Find repositories with work (tag rows out of the time machine, manifests nothing needs, stale
 *    blob links), scanning fixed-size windows of those tables, and queue a `gc_repository` message
 *    for each: the queue consumer has the repository's Durable Object collect it under its lock
 *    (src/gc/repository-gc.ts), as Quay takes a per-repository lock.
 * 2. The global blob pass (src/gc/blobs.ts), 3. the R2 sweep (src/gc/r2-sweep.ts), 4. purges whose
 *    event was lost (src/gc/deletions.ts), 5. the rolling storage recount (src/gc/storage.ts),
 *    6. empty repositories an abandoned first push left (src/gc/empty-repositories.ts).
 * A pass that fails is logged and the others still run.
 * Past one database (src/db/shards.ts) passes 1 and 2 run in every database, each keeping its
 * cursors in that database's gc_state: the rows they read are that database's, and a cursor kept
 * elsewhere would skip or repeat windows of a table it was not read from. Passes 3 to 6 run once,
 * driven from `DB`, the directory, and act where each namespace's core is (the plan's Stage 4): the
 * bucket is one (the sweep asks every database before deleting); a purge deletes a repository's
 * core rows on the shard holding its shadow, then `DB`'s (src/registry/repository-deletion.ts);
 * the recount counts each namespace on its core (src/gc/storage.ts); the empty-repository pass
 * reads `DB`'s marks for the namespaces whose core is there and each shard's shadows for the rest
 * (src/gc/empty-repositories.ts). A failing database's pass is named with its shard
 * (`blobs (shard 2)`), as the Worker's scheduled handler names retention. A `gc_repository` job is
 * collected by the repository's Durable Object on the namespace's core.
 */
import { sql, type SQL } from "drizzle-orm";
import { readConfig } from "../config";
import { database, type Db } from "../db/client";
import { allShards, type Shard } from "../db/shards";
import { publishEvents } from "../events/outbox";
import type { RegistryJob } from "../queues/jobs";
import { chunksForStatement } from "../db/chunks";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { R2BlobStore } from "../storage/r2-blob-store";
import { type BlobPassResult, collectBlobs } from "./blobs";
import { sweepDeletions } from "./deletions";
import { type collectEmptyRepositories, collectEmptyRepositoriesOn } from "./empty-repositories";
import { graceMs, readCursor, writeCursor } from "./grace";
import { sweepR2 } from "./r2-sweep";
import { staleLink, unneededManifest } from "./repository-gc";
import { coresOf, recountStorage } from "./storage";
import { loggableError } from "../lib/loggable-error";

/** Rows per scanned window, and windows per table per run. */
const SCAN_ROWS = 1000;
const SCAN_WINDOWS = 5;

export interface RepositoryWork {
  repositoryId: number;
  name: string;
}

/**
 * The scans: each reads one window of a table by primary key after its cursor and returns the
 * repositories that window shows work for. A window is small whatever the table's size.
 */
const scans: { pass: string; query: (after: number, nowMs: number, graceMs: number) => SQL }[] = [
  {
    pass: "scan:tags",
    query: (after, nowMs) => sql`
      select w.id as last, case when w.lifetime_end_ms is not null
        and w.lifetime_end_ms <= (case when w.hidden then ${nowMs} else ${nowMs} - u.tag_expiration_s * 1000 end)
        then w.repository_id end as repository_id
      from (select id, repository_id, lifetime_end_ms, hidden from tags where id > ${after} order by id limit ${SCAN_ROWS}) w
      join repositories p on p.id = w.repository_id
      left join users u on u.username = p.namespace`,
  },
  {
    pass: "scan:manifests",
    query: (after) => sql`
      select m.id as last, case when ${unneededManifest} then m.repository_id end as repository_id
      from (select id, repository_id, digest, subject_digest from manifests where id > ${after} order by id limit ${SCAN_ROWS}) m`,
  },
  {
    pass: "scan:links",
    query: (after, nowMs, grace) => sql`
      select rb.rowid as last, case when ${staleLink(nowMs - grace)} then rb.repository_id end as repository_id
      from (select rowid, repository_id, digest, created_at from repository_blobs where rowid > ${after} order by rowid limit ${SCAN_ROWS}) rb`,
  },
];

/**
 * Repositories with collectable rows, from the next windows of each of `db`'s tables (its cursors
 * advance). Their names are read from `directory` (`DB`), which decides a repository's name and
 * whether it was deleted; a shard's copy of the row may lag behind it.
 */
export async function findRepositoryWork(
  db: Db,
  directory: Db,
  nowMs: number,
  grace: number,
): Promise<RepositoryWork[]> {
  const ids = new Set<number>();
  for (const scan of scans) {
    let after = Number((await readCursor(db, scan.pass)) ?? 0);
    for (let window = 0; window < SCAN_WINDOWS; window++) {
      const rows = await db.all<{ last: number; repository_id: number | null }>(scan.query(after, nowMs, grace));
      for (const row of rows) if (row.repository_id !== null) ids.add(row.repository_id);
      if (rows.length < SCAN_ROWS) {
        after = 0;
        break;
      }
      after = Math.max(...rows.map((r) => r.last));
    }
    await writeCursor(db, scan.pass, after === 0 ? null : String(after));
  }
  if (ids.size === 0) return [];
  const work: RepositoryWork[] = [];
  const all = [...ids];
  // Each id, and the tombstone namespace.
  for (const chunk of chunksForStatement(all, { perValue: 1, fixed: 1 })) {
    const idList = sql.join(
      chunk.map((id) => sql`${id}`),
      sql`, `,
    );
    const rows = await directory.all<{ id: number; name: string }>(
      sql`select id, name from repositories where id in (${idList}) and namespace != ${TOMBSTONE_NAMESPACE}`,
    );
    work.push(...rows.map((r) => ({ repositoryId: r.id, name: r.name })));
  }
  return work;
}

/** Queues one `gc_repository` message per repository (sendBatch takes at most 100). */
export async function queueRepositoryWork(env: Env, work: RepositoryWork[]): Promise<void> {
  for (let i = 0; i < work.length; i += 100) {
    const messages = work.slice(i, i + 100).map(({ repositoryId, name }) => ({
      body: { type: "gc_repository", repositoryId, name } satisfies RegistryJob,
    }));
    await env.EVENTS.sendBatch(messages);
  }
}

export interface GarbageCollectionRun {
  /** Over every database whose pass succeeded, as is `blobs`. */
  repositoriesQueued?: number;
  blobs?: BlobPassResult;
  r2?: Awaited<ReturnType<typeof sweepR2>>;
  deletions?: Awaited<ReturnType<typeof sweepDeletions>>;
  recounted?: Awaited<ReturnType<typeof recountStorage>>;
  emptyRepositories?: Awaited<ReturnType<typeof collectEmptyRepositories>>;
  /** Passes that threw (each is logged). */
  failed: string[];
}

/** Two databases' blob passes as one result: wrapped once every database's pass has wrapped. */
function addBlobPasses(sum: BlobPassResult | undefined, step: BlobPassResult): BlobPassResult {
  if (!sum) return step;
  return {
    scanned: sum.scanned + step.scanned,
    blobsDeleted: sum.blobsDeleted + step.blobsDeleted,
    objectsDeleted: sum.objectsDeleted + step.objectsDeleted,
    wrapped: sum.wrapped && step.wrapped,
    events: [...sum.events, ...step.events],
  };
}

/** A per-database pass's name: the pass alone for `DB`, else with its shard. */
const passOn = (name: string, shard: Shard) => (shard.number === 0 ? name : `${name} (shard ${shard.number})`);

/** One run of every pass at time `nowMs`; see the module comment. */
export async function runGarbageCollection(env: Env, nowMs: number): Promise<GarbageCollectionRun> {
  const shards = allShards(env).map((shard) => ({ shard, db: database(shard.binding) }));
  const databases = shards.map((s) => s.db);
  const db = databases[0]!;
  const store = new R2BlobStore(env.BLOBS);
  const grace = graceMs(env);
  const run: GarbageCollectionRun = { failed: [] };
  const pass = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      run.failed.push(name);
      console.error(JSON.stringify({ msg: "garbage collection pass failed", pass: name, err: loggableError(err) }));
    }
  };
  for (const { shard, db: rows } of shards)
    await pass(passOn("repositories", shard), async () => {
      const work = await findRepositoryWork(rows, db, nowMs, grace);
      await queueRepositoryWork(env, work);
      run.repositoriesQueued = (run.repositoriesQueued ?? 0) + work.length;
    });
  // How long a stored object may wait for the row that names it (src/gc/r2-sweep.ts).
  const objectMinAgeMs = Math.max(grace, readConfig(env).UPLOAD_EXPIRY_SECONDS * 1000);
  for (const { shard, db: rows } of shards)
    await pass(passOn("blobs", shard), async () => {
      const step = await collectBlobs(rows, databases, store, nowMs, grace, objectMinAgeMs);
      run.blobs = addBlobPasses(run.blobs, step);
      // The events were committed in this database's outbox: their rows are cleared there.
      await publishEvents(env, step.events, rows);
    });
  await pass("r2", async () => {
    run.r2 = await sweepR2(databases, store, nowMs, objectMinAgeMs);
  });
  await pass("deletions", async () => {
    run.deletions = await sweepDeletions(databases, nowMs);
  });
  await pass("storage", async () => {
    run.recounted = await recountStorage(db, undefined, coresOf(env));
  });
  for (const { shard } of shards)
    await pass(passOn("empty", shard), async () => {
      const step = await collectEmptyRepositoriesOn(env, db, shard, nowMs);
      run.emptyRepositories = { deleted: (run.emptyRepositories?.deleted ?? 0) + step.deleted };
    });
  return run;
}
