/**
 * Blobs: verified content, stored once in R2 and readable only through the repositories that
 * link it. HTTP-free; routes translate results into headers.
 */
import { hex } from "../lib/encoding";
import { and, eq, inArray, sql } from "drizzle-orm";
import { type Db, runBatch, type Statement } from "../db/client";
import { chunksForStatement } from "../db/chunks";
import { blobs, repositories, repositoryBlobs } from "../db/schema";
import { observeBody } from "../lib/request-body";
import { bodyEndedEarly, DomainError, notFound } from "../errors/domain";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { type Committed, eventStatement } from "../events/outbox";
import { DigestMismatchError, type BlobStore } from "../storage/blob-store";
import { contentKey } from "../storage/keys";
import { digestHex, sha256Digest, type Digest } from "../lib/digest";
import { inRepository, type RepositorySelector } from "./repositories";
import { clock } from "../lib/clock";
import { arrivingBlobCharges } from "../quota/usage";
import { repositoryEvent } from "./repository-events";

export interface BlobInfo {
  digest: Digest;
  size: number;
  storageKey: string;
  /** When a push last relied on the blob (max of its creation and last use), where the query read it. */
  usedAt?: number;
}

/**
 * How stale a blob's last use may be before a push that relies on it records a new one. A push
 * touches a blob at most once per interval, so hot layers cost one D1 write per interval, not one
 * per push; garbage collection's grace period is at least three intervals (src/gc/grace.ts).
 */
export const BLOB_TOUCH_INTERVAL_MS = 5 * 60 * 1000;

/**
 * Records that a push relies on these blobs now: a manifest push checking them, a HEAD answered
 * 200, a mount, an upload of content already known. Only blobs last used more than
 * {@link BLOB_TOUCH_INTERVAL_MS} ago are written.
 *
 * Why this makes online garbage collection safe (src/gc/blobs.ts, src/gc/repository-gc.ts):
 * - Collection removes a blob row, or a repository's link to it, only with statements that each
 *   re-check, inside one D1 batch (one transaction), that nothing references the blob and that it
 *   was last used more than the grace period G ago. A touch is a single statement too, so it is
 *   ordered entirely before or after that batch: before, and the batch deletes nothing; after,
 *   and it updates nothing, so the caller's next read no longer finds the blob.
 * - Callers touch FIRST and read the blob or its link AFTER. Whatever they then find was used at
 *   most one interval I ago, so no collection can remove it before G - I has passed (G >= 3I).
 * - A manifest push touches its blobs in `requireBlobs`, then commits within seconds; no push
 *   takes anywhere near G - I between that check and its commit. Once committed, the manifest's
 *   references protect the blobs for as long as the manifest lives.
 * - Manifests themselves are removed only by the repository's Durable Object, under the lock
 *   pushes commit under, and `commitManifest` re-checks an index's children under that lock.
 */
export async function touchBlobs(db: Db, digests: readonly string[], nowMs = clock.now()): Promise<void> {
  for (const chunk of chunksForStatement(digests, TOUCH_PARAMETERS)) await touchStatement(db, chunk, nowMs);
}

/** Whether a blob read with its `usedAt` needs a touch before a push may rely on it. */
export function touchDue(blob: BlobInfo, nowMs = clock.now()): boolean {
  return blob.usedAt === undefined || blob.usedAt < nowMs - BLOB_TOUCH_INTERVAL_MS;
}

/** A touch binds its time and its cutoff, and each digest. */
const TOUCH_PARAMETERS = { perValue: 1, fixed: 2 };

/** The touch as one statement (digests: one chunk), also run in the same batch as a link to the blob. */
function touchStatement(db: Db, digests: readonly string[], nowMs: number) {
  return db
    .update(blobs)
    .set({ lastUsedAt: nowMs })
    .where(
      and(
        inArray(blobs.digest, [...digests]),
        sql`max(${blobs.createdAt}, ${blobs.lastUsedAt}) < ${nowMs - BLOB_TOUCH_INTERVAL_MS}`,
      ),
    );
}

/** The blob as seen through a repository, or undefined when that repository does not link it. */
export async function findLinkedBlob(
  db: Db,
  repository: RepositorySelector,
  digest: Digest,
): Promise<BlobInfo | undefined> {
  const row = await db
    .select({
      digest: blobs.digest,
      size: blobs.size,
      storageKey: blobs.storageKey,
      usedAt: sql<number>`max(${blobs.createdAt}, ${blobs.lastUsedAt})`,
    })
    .from(repositoryBlobs)
    .innerJoin(blobs, eq(blobs.digest, repositoryBlobs.digest))
    .innerJoin(repositories, eq(repositories.id, repositoryBlobs.repositoryId))
    .where(and(inRepository(repository, repositoryBlobs.repositoryId), eq(repositoryBlobs.digest, digest)))
    .get();
  return row as BlobInfo | undefined;
}

export async function findBlob(db: Db, digest: Digest): Promise<BlobInfo | undefined> {
  return (await db.select().from(blobs).where(eq(blobs.digest, digest)).get()) as BlobInfo | undefined;
}

/**
 * Records verified content and links it to the repository, in one batch. When the digest is
 * already known (another push won a race), the existing object stays the blob and the caller's
 * `storageKey` becomes an orphan: the returned info says which key is canonical.
 */
export async function recordBlob(db: Db, blob: BlobInfo, repositoryId: number): Promise<BlobInfo> {
  const { digest, size, storageKey } = blob;
  await db.batch([
    // Known content (a lost race) counts as used now, like any other upload of it.
    touchStatement(db, [digest], clock.now()),
    // Manifests that named it before it arrived (the proxy cache's) now hold its bytes.
    ...arrivingBlobCharges(db, digest, size),
    // Creation times from the clock, not D1's default: garbage collection's grace compares them with it.
    db.insert(blobs).values({ digest, size, storageKey, createdAt: clock.now() }).onConflictDoNothing(),
    db.insert(repositoryBlobs).values({ repositoryId, digest, createdAt: clock.now() }).onConflictDoNothing(),
  ]);
  const stored = await findBlob(db, blob.digest);
  if (!stored) throw new Error(`blob ${blob.digest} vanished after insert`);
  return stored;
}

/**
 * Links a digest that exists in the registry to a repository (mounts, uploads of known content),
 * touching the blob in the same transaction: the link and the blob then outlive the grace period
 * (see {@link touchBlobs}). Should collection have removed the blob since the caller found it,
 * the link's foreign key fails the call rather than link nothing.
 *
 * `from`: the blob as another core database holds it (a mount across shards), whose row this
 * database gets first, in the same batch, unless it has one (docs/sharding-the-registry-core.md
 * §4.3). The caller touched it there before reading it, so its bytes outlive the grace period
 * there; here the row is new, and from then on the GC of every database keeps the bytes.
 */
export async function linkBlob(db: Db, repositoryId: number, digest: Digest, from?: BlobInfo): Promise<void> {
  const statements: Statement[] = [
    touchStatement(db, [digest], clock.now()),
    db.insert(repositoryBlobs).values({ repositoryId, digest, createdAt: clock.now() }).onConflictDoNothing(),
  ];
  if (from) {
    const row = { digest, size: from.size, storageKey: from.storageKey, createdAt: clock.now() };
    statements.unshift(db.insert(blobs).values(row).onConflictDoNothing());
  }
  await runBatch(db, statements);
}

/**
 * The live manifests of the repository that need `digest` (as config, layer, index child or
 * subject), as a query: through the references' digest index and the subject index, so its cost
 * follows how many manifests name the digest, not the repository's size.
 */
function manifestsNeeding(repositoryId: number, digest: string) {
  return sql`select m.digest from manifest_references r join manifests m on m.id = r.manifest_id
      where r.digest = ${digest} and m.repository_id = ${repositoryId} and m.deleted_at is null
    union all
    select m.digest from manifests m
      where m.repository_id = ${repositoryId} and m.subject_digest = ${digest} and m.deleted_at is null`;
}

/**
 * Removes the repository's link to a blob (`DELETE /v2/<name>/blobs/<digest>`, `delete_blob`)
 * unless a live manifest of the repository needs it (issue #12: the tag or digest would still
 * resolve and the image no longer pull): then a conflict naming that manifest (/v2: 405
 * UNSUPPORTED; Quay refuses every blob delete so); not found when the repository does not link
 * it. One conditional statement, with its event on the same condition before it; the bytes stay
 * until garbage collection finds them unreferenced. Manifests deleted by digest do not count: they
 * no longer resolve, and a restore from the time machine re-checks their blobs (time-machine.ts).
 * Run it under the repository's Durable Object lock, where manifest commits re-check their links,
 * so a push racing it cannot commit over it.
 */
export async function deleteBlobLink(
  db: Db,
  repository: RepositoryRef,
  digest: Digest,
  origin: EventOrigin,
  nowMs: number,
): Promise<Committed<null>> {
  const unneeded = and(
    eq(repositoryBlobs.repositoryId, repository.id),
    eq(repositoryBlobs.digest, digest),
    sql`not exists (${manifestsNeeding(repository.id, digest)})`,
  );
  const event = repositoryEvent("delete_blob", repository, origin, { digest }, nowMs);
  const [, unlinked] = await db.batch([
    eventStatement(db, event, { onlyIf: sql`exists (select 1 from ${repositoryBlobs} where ${unneeded})` }),
    db.delete(repositoryBlobs).where(unneeded).returning({ digest: repositoryBlobs.digest }),
  ]);
  if (unlinked.length > 0) return { value: null, events: [event] };
  const [needing] = await db.all<{ digest: string }>(sql`${manifestsNeeding(repository.id, digest)} limit 1`);
  if (!needing) throw notFound("blob", { digest });
  throw new DomainError("conflict", {
    subject: "blob",
    detail: { digest, manifest: needing.digest },
    message: `blob ${digest} is referenced by manifest ${needing.digest}; delete that manifest first`,
  });
}

/** The digests of each chunk the repository links: one select per chunk of `digests`. */
export function linkedDigestsQueries(db: Db, repositoryId: number, digests: readonly string[]) {
  // The repository's id, and each digest.
  return chunksForStatement(digests, { perValue: 1, fixed: 1 }).map((chunk) =>
    db
      .select({ digest: repositoryBlobs.digest })
      .from(repositoryBlobs)
      .where(and(eq(repositoryBlobs.repositoryId, repositoryId), sql`${repositoryBlobs.digest} in ${chunk}`)),
  );
}

/** Which of `digests` the repository links (for manifest validation), in one query per chunk. */
export async function linkedDigests(db: Db, repositoryId: number, digests: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const query of linkedDigestsQueries(db, repositoryId, digests))
    for (const row of await query) found.add(row.digest);
  return found;
}

/**
 * {@link touchBlobs}, then {@link linkedDigests}, each chunk's touch and read in one D1 batch: one
 * round trip where a manifest push made two. A batch runs its statements in order in one
 * transaction, so the read still comes after the touch (the order touchBlobs' argument needs).
 */
export async function touchAndFindLinked(
  db: Db,
  repositoryId: number,
  digests: readonly string[],
  nowMs = clock.now(),
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const chunk of chunksForStatement(digests, TOUCH_PARAMETERS)) {
    const [, ...reads] = await db.batch([
      touchStatement(db, chunk, nowMs),
      ...linkedDigestsQueries(db, repositoryId, chunk),
    ]);
    for (const rows of reads as { digest: string }[][]) for (const row of rows) found.add(row.digest);
  }
  return found;
}

/**
 * Stores a blob sent whole in one request whose digest is known up front (POST `?digest=`,
 * distribution-spec "Single POST"). The bytes stream to their content address with R2 checking
 * the SHA-256, so a wrong digest stores nothing. Known content is only hashed, never rewritten.
 */
export async function putMonolithicBlob(
  db: Db,
  store: BlobStore,
  repositoryId: number,
  digest: Digest,
  body: ReadableStream<Uint8Array> | null,
  size: number,
): Promise<BlobInfo> {
  // Touch before looking: content found after the touch outlives the grace period (touchBlobs).
  await touchBlobs(db, [digest]);
  const existing = await findBlob(db, digest);
  if (existing) {
    // The hasher never fails: a failed pipe is the client's body ending early.
    const hashed = await sha256OfStream(body).catch(() => Promise.reject(bodyEndedEarly()));
    if (hashed !== digest) throw new DomainError("invalid", { subject: "digest", detail: { digest } });
    await linkBlob(db, repositoryId, digest);
    return existing;
  }
  const key = contentKey(digest);
  const observed = body && observeBody(body, size);
  try {
    await store.putVerified(key, observed?.stream ?? new Uint8Array(0), digestHex(digest));
  } catch (err) {
    if (err instanceof DigestMismatchError) throw new DomainError("invalid", { subject: "digest", detail: { digest } });
    const outcome = await observed?.outcome();
    if (outcome === "ended") throw bodyEndedEarly();
    // All the client sent went through and the put refused its length: workerd's FixedLengthStream
    // throws a TypeError when the bytes are not the declared Content-Length (only callers inside
    // the runtime can send such a body; HTTP framing cannot).
    if (outcome === "complete" && err instanceof TypeError)
      throw new DomainError("invalid", { subject: "size", detail: { declared: size } });
    throw err;
  }
  // The declared Content-Length becomes the blob's recorded size: it must be what R2 received.
  // (The verified bytes may stay at their content address; nothing records them.)
  const stored = await store.size(key);
  if (stored !== size)
    throw new DomainError("invalid", { subject: "size", detail: { declared: size, received: stored } });
  return recordBlob(db, { digest, size, storageKey: key }, repositoryId);
}

/** SHA-256 of a stream with the runtime's native hasher. */
export async function sha256OfStream(body: ReadableStream<Uint8Array> | null): Promise<Digest> {
  const hasher = new crypto.DigestStream("SHA-256");
  if (body) await body.pipeTo(hasher);
  else await hasher.getWriter().close();
  return sha256Digest(hex(new Uint8Array(await hasher.digest)));
}
