/**
 * Blobs: verified content, stored once in R2 and readable only through the repositories that
 * link it. HTTP-free; routes translate results into headers.
 */
import { hex } from "../lib/encoding";
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { blobs, repositories, repositoryBlobs } from "../db/schema";
import { RegistryError } from "../oci/errors";
import { DigestMismatchError, type BlobStore } from "../storage/blob-store";
import { contentKey } from "../storage/keys";
import { digestHex, sha256Digest, type Digest } from "./reference";
import { inRepository, type RepositorySelector } from "./repositories";

export interface BlobInfo {
  digest: Digest;
  size: number;
  storageKey: string;
}

/** The blob as seen through a repository, or undefined when that repository does not link it. */
export async function findLinkedBlob(
  db: Db,
  repository: RepositorySelector,
  digest: Digest,
): Promise<BlobInfo | undefined> {
  const row = await db
    .select({ digest: blobs.digest, size: blobs.size, storageKey: blobs.storageKey })
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
  await db.batch([
    db.insert(blobs).values(blob).onConflictDoNothing(),
    db.insert(repositoryBlobs).values({ repositoryId, digest: blob.digest }).onConflictDoNothing(),
  ]);
  const stored = await findBlob(db, blob.digest);
  if (!stored) throw new Error(`blob ${blob.digest} vanished after insert`);
  return stored;
}

/** Links digests that exist in the registry to a repository (mounts and manifest references). */
export async function linkBlob(db: Db, repositoryId: number, digest: Digest): Promise<void> {
  await db.insert(repositoryBlobs).values({ repositoryId, digest }).onConflictDoNothing();
}

/** Removes the repository's link; the bytes stay until garbage collection finds them unreferenced. */
export async function unlinkBlob(db: Db, repositoryId: number, digest: Digest): Promise<boolean> {
  const removed = await db
    .delete(repositoryBlobs)
    .where(and(eq(repositoryBlobs.repositoryId, repositoryId), eq(repositoryBlobs.digest, digest)))
    .returning({ digest: repositoryBlobs.digest });
  return removed.length > 0;
}

/** Which of `digests` the repository links (for manifest validation), in one query per 90. */
export async function linkedDigests(db: Db, repositoryId: number, digests: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  // D1 binds at most 100 parameters a statement.
  for (let i = 0; i < digests.length; i += 90) {
    const chunk = digests.slice(i, i + 90);
    const rows = await db
      .select({ digest: repositoryBlobs.digest })
      .from(repositoryBlobs)
      .where(and(eq(repositoryBlobs.repositoryId, repositoryId), sql`${repositoryBlobs.digest} in ${chunk}`));
    for (const row of rows) found.add(row.digest);
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
  const existing = await findBlob(db, digest);
  if (existing) {
    if ((await sha256OfStream(body)) !== digest) throw new RegistryError("DIGEST_INVALID", { digest });
    await linkBlob(db, repositoryId, digest);
    return existing;
  }
  const key = contentKey(digest);
  try {
    await store.putVerified(key, body ?? new Uint8Array(0), digestHex(digest));
  } catch (err) {
    if (err instanceof DigestMismatchError) throw new RegistryError("DIGEST_INVALID", { digest });
    throw err;
  }
  // The declared Content-Length becomes the blob's recorded size: it must be what R2 received.
  // (The verified bytes may stay at their content address; nothing records them.)
  const stored = await store.size(key);
  if (stored !== size) throw new RegistryError("SIZE_INVALID", { declared: size, received: stored });
  return recordBlob(db, { digest, size, storageKey: key }, repositoryId);
}

/** SHA-256 of a stream with the runtime's native hasher. */
export async function sha256OfStream(body: ReadableStream<Uint8Array> | null): Promise<Digest> {
  const hasher = new crypto.DigestStream("SHA-256");
  if (body) await body.pipeTo(hasher);
  else await hasher.getWriter().close();
  return sha256Digest(hex(new Uint8Array(await hasher.digest)));
}

