/**
 * Quay's filedrop (`POST /api/v1/filedrop/`, `getFiledropUrl`): a user asks where to upload a
 * Dockerfile or a build context and gets `{"url", "file_id"}`; the URL is the edge's own
 * `PUT /filedrop/{file_id}?expires=…&signature=…`, signed for that user and file for an hour
 * (Quay's storage URL is signed the same way). The body streams into R2 in multipart parts, hashed
 * as it goes (a build's display name is the first 7 hex digits of its SHA-256, as Quay's
 * `get_file_checksum`); at most FILEDROP_MAX_BYTES. A file is uploaded once. Files expire a day
 * after they were asked for unless a build still running uses them ({@link sweepFiledrops}).
 */
import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { filedrops, repositoryBuilds } from "../db/schema";
import { DomainError, invalid, notFound } from "../errors/domain";
import { clock } from "../lib/clock";
import { Sha256 } from "../lib/sha256";
import type { BlobStore, UploadedPart } from "../storage/blob-store";
import { filedropKey } from "../storage/keys";
import { sign, verify } from "../lib/signing";

/** How long the upload URL is good for (Quay's user files: an hour). */
export const FILEDROP_URL_SECONDS = 3600;
/** How long an unused file is kept. */
export const FILEDROP_TTL_MS = 24 * 3600_000;
/** R2's multipart parts: equal, at least 5 MiB but the last. */
const PART_BYTES = 5 * 1024 * 1024;

type SecretEnv = { WHARF_SECRET_KEY?: string };

const message = (fileId: string, userId: number, expires: number) => `${fileId}.${userId}.${expires}`;

/** Registers a file `userId` may upload and the URL to upload it to. */
export async function createFiledrop(db: Db, env: SecretEnv, userId: number, mimeType: string, origin: string) {
  const fileId = crypto.randomUUID();
  const now = clock.now();
  await db.insert(filedrops).values({
    uuid: fileId,
    userId,
    mimeType,
    objectKey: filedropKey(fileId),
    createdAt: now,
    expiresAt: now + FILEDROP_TTL_MS,
  });
  const expires = Math.floor(now / 1000) + FILEDROP_URL_SECONDS;
  const signature = await sign(env, "wharf/v1/filedrop-upload", message(fileId, userId, expires));
  const url = `${origin}/filedrop/${fileId}?expires=${expires}&signature=${signature}`;
  return { url, file_id: fileId };
}

/** The filedrop a signed URL names, if the signature holds and is still good; else a refusal. */
export async function checkFiledropUrl(db: Db, env: SecretEnv, fileId: string, expires: string, signature: string) {
  if (!/^[0-9a-f-]{36}$/.test(fileId) || !/^\d{1,12}$/.test(expires)) throw notFound();
  const row = await db.select().from(filedrops).where(eq(filedrops.uuid, fileId)).get();
  // The row says whose file it is; the signature must be for that user.
  if (!row || !(await verify(env, "wharf/v1/filedrop-upload", message(fileId, row.userId, Number(expires)), signature)))
    throw notFound();
  if (Number(expires) * 1000 <= clock.now())
    throw new DomainError("denied", { message: "This upload URL has expired" });
  if (row.size !== null) throw invalid("This file was already uploaded");
  return row;
}

/**
 * Streams `body` into an object of this upload's own (parts of {@link PART_BYTES}), hashing as it
 * goes, then records its key, size and digest; a body over `maxBytes` is refused (413) and nothing
 * is kept. Of two uploads racing on one URL the first to record wins, and the other's object goes
 * (400): with one key for both, the later one's bytes would replace what the first recorded.
 */
export async function storeFiledrop(
  db: Db,
  store: BlobStore,
  row: typeof filedrops.$inferSelect,
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<{ size: number; sha256: string }> {
  const objectKey = `${filedropKey(row.uuid)}.${crypto.randomUUID()}`;
  const uploadId = await store.createMultipart(objectKey);
  const parts: UploadedPart[] = [];
  const hash = new Sha256();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let size = 0;
  const flush = async (bytes: number) => {
    const part = new Uint8Array(bytes);
    let offset = 0;
    const rest: Uint8Array[] = [];
    for (const chunk of pending) {
      const take = Math.min(chunk.length, bytes - offset);
      part.set(chunk.subarray(0, take), offset);
      offset += take;
      if (take < chunk.length) rest.push(chunk.subarray(take));
    }
    pending = rest;
    pendingBytes -= bytes;
    parts.push(await store.uploadPart(objectKey, uploadId, parts.length + 1, part));
  };
  try {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        throw new DomainError("too_large", { message: `The file is larger than ${maxBytes} bytes` });
      }
      hash.update(value);
      pending.push(value);
      pendingBytes += value.length;
      while (pendingBytes >= PART_BYTES) await flush(PART_BYTES);
    }
    if (pendingBytes > 0 || parts.length === 0) await flush(pendingBytes);
    await store.completeMultipart(objectKey, uploadId, parts);
  } catch (err) {
    await store.abortMultipart(objectKey, uploadId);
    throw err;
  }
  const sha256 = hash.digestHex();
  // Conditional: of two uploads racing on one URL, the first to finish keeps its record.
  const recorded = await db
    .update(filedrops)
    .set({ objectKey, size, sha256 })
    .where(and(eq(filedrops.id, row.id), isNull(filedrops.size)))
    .returning({ id: filedrops.id });
  if (recorded.length === 0) {
    await store.delete([objectKey]);
    throw invalid("This file was already uploaded");
  }
  return { size, sha256 };
}

/**
 * A link to download an uploaded file (Quay's `archive_url` of an uploaded build: its user files'
 * signed URL), good an hour, shown to the repository's writers.
 */
export async function filedropDownloadUrl(env: SecretEnv, fileId: string, origin: string): Promise<string> {
  const expires = Math.floor(clock.now() / 1000) + FILEDROP_URL_SECONDS;
  const signature = await sign(env, "wharf/v1/filedrop-download", `${fileId}.${expires}`);
  return `${origin}/filedrop/${fileId}?expires=${expires}&signature=${signature}`;
}

/** The uploaded file a download link names, if its signature holds and is still good; else a refusal. */
export async function checkFiledropDownload(
  db: Db,
  env: SecretEnv,
  fileId: string,
  expires: string,
  signature: string,
) {
  if (!/^[0-9a-f-]{36}$/.test(fileId) || !/^\d{1,12}$/.test(expires)) throw notFound();
  if (!(await verify(env, "wharf/v1/filedrop-download", `${fileId}.${expires}`, signature))) throw notFound();
  if (Number(expires) * 1000 <= clock.now())
    throw new DomainError("denied", { message: "This download URL has expired" });
  const row = await uploadedFiledrop(db, fileId);
  if (!row) throw notFound();
  return row;
}

/** The uploaded filedrop `fileId`, or undefined (unknown, not uploaded yet, or expired). */
export async function uploadedFiledrop(db: Db, fileId: string) {
  const row = await db.select().from(filedrops).where(eq(filedrops.uuid, fileId)).get();
  return row && row.size !== null && row.sha256 !== null ? row : undefined;
}

/**
 * The cron's sweep: files past their day that no build still running names go, row and bytes
 * (at most `limit` a tick).
 */
export async function sweepFiledrops(db: Db, store: BlobStore, nowMs: number, limit = 100): Promise<number> {
  const running = sql`exists (select 1 from ${repositoryBuilds} b where b.resource_key = ${filedrops.uuid}
    and b.phase not in ('complete', 'error', 'internalerror', 'cancelled', 'expired'))`;
  const rows = await db
    .select({ id: filedrops.id, objectKey: filedrops.objectKey })
    .from(filedrops)
    .where(and(lt(filedrops.expiresAt, nowMs), sql`not ${running}`))
    .limit(limit)
    .all();
  if (rows.length === 0) return 0;
  await store.delete(rows.map((r) => r.objectKey));
  await db
    .delete(filedrops)
    .where(sql`${filedrops.id} in (select value from json_each(${JSON.stringify(rows.map((r) => r.id))}))`);
  return rows.length;
}
