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
 */
import { sql, type SQL } from "drizzle-orm";
import { readConfig } from "../config";
import { database, type Db } from "../db/client";
import { publishEvents } from "../events/outbox";
import type { RegistryJob } from "../queues/jobs";
import { chunksForStatement } from "../db/chunks";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { R2BlobStore } from "../storage/r2-blob-store";
import { collectBlobs } from "./blobs";
import { sweepDeletions } from "./deletions";
import { collectEmptyRepositories } from "./empty-repositories";
import { graceMs, readCursor, writeCursor } from "./grace";
import { sweepR2 } from "./r2-sweep";
import { staleLink, unneededManifest } from "./repository-gc";
import { recountStorage } from "./storage";
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

/** Repositories with collectable rows, from the next windows of each table (cursors advance). */
export async function findRepositoryWork(db: Db, nowMs: number, grace: number): Promise<RepositoryWork[]> {
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
    const rows = await db.all<{ id: number; name: string }>(
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
  repositoriesQueued?: number;
  blobs?: Awaited<ReturnType<typeof collectBlobs>>;
  r2?: Awaited<ReturnType<typeof sweepR2>>;
  deletions?: Awaited<ReturnType<typeof sweepDeletions>>;
  recounted?: Awaited<ReturnType<typeof recountStorage>>;
  emptyRepositories?: Awaited<ReturnType<typeof collectEmptyRepositories>>;
  /** Passes that threw (each is logged). */
  failed: string[];
}

/** One run of every pass at time `nowMs`; see the module comment. */
export async function runGarbageCollection(env: Env, nowMs: number): Promise<GarbageCollectionRun> {
  const db = database(env.DB);
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
  await pass("repositories", async () => {
    const work = await findRepositoryWork(db, nowMs, grace);
    await queueRepositoryWork(env, work);
    run.repositoriesQueued = work.length;
  });
  await pass("blobs", async () => {
    run.blobs = await collectBlobs(db, store, nowMs, grace);
    await publishEvents(env, run.blobs.events);
  });
  const uploadExpiryMs = readConfig(env).UPLOAD_EXPIRY_SECONDS * 1000;
  await pass("r2", async () => {
    run.r2 = await sweepR2(db, store, nowMs, Math.max(grace, uploadExpiryMs));
  });
  await pass("deletions", async () => {
    run.deletions = await sweepDeletions(db, nowMs);
  });
  await pass("storage", async () => {
    run.recounted = await recountStorage(db);
  });
  await pass("empty", async () => {
    run.emptyRepositories = await collectEmptyRepositories(env, db, nowMs);
  });
  return run;
}
