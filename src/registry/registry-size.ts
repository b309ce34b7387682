/**
 * The registry's size (Quay's `getRegistrySize` and `queueRegistrySizeCalculation`,
 * `data/model/quota.py`): the bytes of every distinct blob, summed from the sizes D1 recorded when
 * each blob was verified (no R2 listing). A superuser queues a calculation; the EVENTS consumer
 * runs it as `registry_size` jobs (src/queues/jobs.ts), a bounded slice of the blobs per message,
 * carrying the running total and where it stopped, and stores the result in the one
 * `registry_size` row with when it finished.
 *
 * Queueing twice is harmless: while a calculation is queued or running, a second request queues
 * nothing (Quay answers it 202). A request whose job the queue lost would hold that state forever,
 * so a state unchanged for {@link STALE_AFTER_MS} counts as idle again.
 */
import { and, eq, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { blobs, registrySize } from "../db/schema";
import { clock } from "../lib/clock";
import { queueJob } from "../queues/jobs";

const ROW_ID = 1;
/** Blobs summed per message: one indexed range read of the primary key. */
export const BLOBS_PER_STEP = 5_000;
/** A queued or running calculation untouched this long is taken for lost. */
const STALE_AFTER_MS = 60 * 60 * 1000;

/** Quay's answer, with its default before any calculation. */
export async function registrySizeView(db: Db) {
  const row = await db.select().from(registrySize).where(eq(registrySize.id, ROW_ID)).get();
  return {
    size_bytes: row?.sizeBytes ?? 0,
    last_ran: row?.completedAt ?? null,
    queued: row?.queued ?? false,
    running: row?.running ?? false,
  };
}

/**
 * Queues a calculation unless one is queued or running already: `"queued"` when this call queued
 * it, `"already_queued"` otherwise.
 */
export async function queueRegistrySizeCalculation(db: Db, env: Env): Promise<"queued" | "already_queued"> {
  const now = clock.now();
  const [, claimed] = await db.batch([
    db.insert(registrySize).values({ id: ROW_ID, updatedAt: now }).onConflictDoNothing(),
    db
      .update(registrySize)
      .set({ queued: true, updatedAt: now })
      .where(
        and(
          eq(registrySize.id, ROW_ID),
          or(
            and(eq(registrySize.queued, false), eq(registrySize.running, false)),
            lt(registrySize.updatedAt, now - STALE_AFTER_MS),
          ),
        ),
      )
      .returning({ id: registrySize.id }),
  ]);
  if (claimed.length === 0) return "already_queued";
  await queueJob(env, { type: "registry_size", after: null, bytes: 0 });
  return "queued";
}

export interface RegistrySizeStep {
  /** The digest the previous step ended at; null for the first step. */
  after: string | null;
  /** Bytes summed so far. */
  bytes: number;
}

/**
 * One bounded step: the next step to queue, or null once the total is stored. `db` is `DB`, which
 * holds the `registry_size` row; `cores` every database holding `blobs` rows (src/db/shards.ts
 * `allShardDbs`, `DB` first), as a namespace's blobs are in its core's database
 * (docs/sharding-the-registry-core.md §2). With `DB` alone, the step sums in SQL as it always did.
 */
export async function calculateRegistrySizeStep(
  db: Db,
  step: RegistrySizeStep,
  cores: readonly Db[] = [db],
): Promise<RegistrySizeStep | null> {
  const now = clock.now();
  if (step.after === null) {
    await db
      .update(registrySize)
      .set({ queued: false, running: true, updatedAt: now })
      .where(eq(registrySize.id, ROW_ID));
  }
  const summed = cores.length > 1 ? await mergedWindow(cores, step.after) : await sqlWindow(db, step.after);
  const bytes = step.bytes + summed.bytes;
  if (summed.last !== null) {
    await db.update(registrySize).set({ updatedAt: now }).where(eq(registrySize.id, ROW_ID));
    return { after: summed.last, bytes };
  }
  await db
    .update(registrySize)
    .set({ sizeBytes: bytes, completedAt: now, running: false, updatedAt: now })
    .where(eq(registrySize.id, ROW_ID));
  return null;
}

/** What a step summed: the bytes, and the digest to continue after (null: no blob is left). */
interface Window {
  bytes: number;
  last: string | null;
}

/** The next {@link BLOBS_PER_STEP} blobs of one database after `after`, summed in SQL. */
async function sqlWindow(db: Db, after: string | null): Promise<Window> {
  const slice = db
    .select({ digest: blobs.digest, size: blobs.size })
    .from(blobs)
    .where(after === null ? undefined : sql`${blobs.digest} > ${after}`)
    .orderBy(blobs.digest)
    .limit(BLOBS_PER_STEP)
    .as("slice");
  const summed = await db
    .select({
      n: sql<number>`count(*)`,
      bytes: sql<number>`coalesce(sum(${slice.size}), 0)`,
      last: sql<string | null>`max(${slice.digest})`,
    })
    .from(slice)
    .get();
  const full = (summed?.n ?? 0) === BLOBS_PER_STEP && summed?.last;
  return { bytes: summed?.bytes ?? 0, last: full ? summed.last : null };
}

/**
 * A k-way merge of every database's next {@link BLOBS_PER_STEP} blobs in digest order (their
 * primary key): a digest held by several databases (a blob pushed to namespaces on two shards) is
 * counted once. The merge is complete only up to the smallest last digest of the databases whose
 * window was full (a database may hold more past its window), so the step counts the digests up to
 * that bound and continues after it; at least one full window is counted, so every step advances.
 */
async function mergedWindow(cores: readonly Db[], after: string | null): Promise<Window> {
  const windows = await Promise.all(
    cores.map((core) =>
      core
        .select({ digest: blobs.digest, size: blobs.size })
        .from(blobs)
        .where(after === null ? undefined : sql`${blobs.digest} > ${after}`)
        .orderBy(blobs.digest)
        .limit(BLOBS_PER_STEP)
        .all(),
    ),
  );
  let bound: string | null = null;
  for (const rows of windows)
    if (rows.length === BLOBS_PER_STEP) {
      const last = rows[rows.length - 1]!.digest;
      if (bound === null || last < bound) bound = last;
    }
  const sizes = new Map<string, number>();
  for (const rows of windows)
    for (const row of rows) if (bound === null || row.digest <= bound) sizes.set(row.digest, row.size);
  let bytes = 0;
  for (const size of sizes.values()) bytes += size;
  return { bytes, last: bound };
}
