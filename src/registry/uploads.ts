/**
 * Upload sessions from the Worker's side: each lives in its own UploadSessionDO, addressed by
 * the uuid in its URL. This module keeps the stub plumbing out of the routes.
 */
import { DomainError } from "../errors/domain";
import { unwrap } from "../errors/outcome";
import type { AppendOptions } from "../../durable-objects/UploadSessionDO";
import type { CoreClient } from "./core-db";
import type { BlobStore } from "../storage/blob-store";
import { type BlobInfo, putMonolithicBlob } from "./blobs";
import type { Digest } from "./reference";
import { SINGLE_PUT_LIMIT } from "./upload-single";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function session(env: Env, uploadId: string) {
  // An id that is not one of ours cannot name an upload: answer without waking an object.
  if (!UUID_PATTERN.test(uploadId))
    throw new DomainError("not_found", { subject: "upload", detail: { uuid: uploadId } });
  return env.UPLOAD_SESSION.get(env.UPLOAD_SESSION.idFromName(uploadId));
}

/**
 * Opens an upload session. `firstPushActivityAt` is the repository's mark of an unfinished first
 * push as the caller just recorded it in its core (null for any other repository): the session
 * keeps it fresh while chunks arrive (src/registry/repositories.ts `recordPushActivity`).
 * `coreShard` is the database the caller found the repository's core in, shadows made: the
 * session writes there without asking the directory again.
 */
export async function startUpload(
  env: Env,
  repository: string,
  repositoryId: number,
  firstPushActivityAt: number | null,
  coreShard: number,
): Promise<string> {
  const uploadId = crypto.randomUUID();
  unwrap(await session(env, uploadId).open(uploadId, repository, repositoryId, firstPushActivityAt, coreShard));
  return uploadId;
}

export async function uploadStatus(env: Env, repository: string, uploadId: string): Promise<number> {
  return unwrap(await session(env, uploadId).status(repository)).offset;
}

export async function appendUpload(
  env: Env,
  repository: string,
  uploadId: string,
  body: ReadableStream<Uint8Array> | null,
  options: AppendOptions,
): Promise<number> {
  return unwrap(await session(env, uploadId).append(repository, body, options)).offset;
}

export async function finishUpload(
  env: Env,
  repository: string,
  uploadId: string,
  digest: Digest,
  body: ReadableStream<Uint8Array> | null,
  options: AppendOptions,
): Promise<BlobInfo> {
  return unwrap(await session(env, uploadId).finish(repository, digest, body, options)) as BlobInfo;
}

export async function cancelUpload(env: Env, repository: string, uploadId: string): Promise<void> {
  unwrap(await session(env, uploadId).cancel(repository));
}

/**
 * Stores a whole blob whose digest is known before its bytes (a POST `?digest=`, distribution-spec
 * "Single POST"; a blob fetched from an upstream registry, src/upstream/ingest.ts), streamed and
 * verified either way: one put that R2 checks when its length is known and fits one, else through
 * an upload session (multipart, the digest computed as the bytes pass). Links it to `repository`,
 * in `core`, the client over its core. `maxRequestBody` (MAX_REQUEST_BODY, 0 for none) bounds a
 * body of unknown length as it streams.
 */
export async function putWholeBlob(
  env: Env,
  core: CoreClient,
  store: BlobStore,
  repository: { id: number; name: string; firstPushActivityAt: number | null },
  digest: Digest,
  body: ReadableStream<Uint8Array> | null,
  length: number | null,
  maxRequestBody = 0,
): Promise<BlobInfo> {
  if (length !== null && length <= SINGLE_PUT_LIMIT)
    return putMonolithicBlob(core.db, store, repository.id, digest, body, length);
  // No Content-Length (chunked transfer) or too big for one put: stream through a session.
  const uploadId = await startUpload(env, repository.name, repository.id, repository.firstPushActivityAt, core.shard);
  return finishUpload(env, repository.name, uploadId, digest, body, { range: null, length, maxRequestBody });
}
