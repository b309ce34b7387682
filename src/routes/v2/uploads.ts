/**
 * /v2/<name>/blobs/uploads/…: distribution-spec "Pushing blobs": monolithic POST, POST then PUT,
 * chunked PATCHes, cross-repository mount, status and cancel.
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../app-env";
import { DomainError } from "../../errors/domain";
import { contentLength, parseContentRange, uploadRange } from "../../lib/http";
import { mayAccess, principalSubject, requireAccess } from "../../middleware/access";
import { pushCores, readableCore } from "../../middleware/db-session";
import { requestEvents } from "../../middleware/event-scope";
import { RegistryError, registryErrorOf } from "./errors";
import { findLinkedBlob, linkBlob, touchBlobs, type BlobInfo } from "../../registry/blobs";
import { ensureRepository, findRepository } from "../../registry/repositories";
import { chunkLengthHeaders, refuseDeclaredOversize } from "../../registry/body-limits";
import {
  appendUpload,
  cancelUpload,
  finishUpload,
  putWholeBlob,
  startUpload,
  uploadStatus,
} from "../../registry/uploads";
import type { AppendOptions } from "../../../durable-objects/UploadSessionDO";
import { canonicalRepositoryName, nameRules, namespaceOf } from "../../registry/repository-name";
import { requireUploadRoom } from "../../quota/enforcement";
import { readConfig } from "../../config";
import { parseDigest, parseName, refuseReservedName } from "./params";
import { metrics } from "../../metrics/recorder";

export const uploadRoutes = new Hono<AppEnv>();

function uploadLocation(name: string, uploadId: string): string {
  return `/v2/${name}/blobs/uploads/${uploadId}`;
}

function uploadHeaders(name: string, uploadId: string, offset: number): Record<string, string> {
  return {
    Location: uploadLocation(name, uploadId),
    Range: uploadRange(offset),
    "Docker-Upload-UUID": uploadId,
  };
}

function created(name: string, blob: BlobInfo): Response {
  return new Response(null, {
    status: 201,
    headers: { Location: `/v2/${name}/blobs/${blob.digest}`, "Docker-Content-Digest": blob.digest },
  });
}

/** A blob whose bytes this push sent, stored: counted (Quay's pushed bytes, not a mount's), then created. */
function uploaded(name: string, blob: BlobInfo): Response {
  metrics.count("quay_registry_image_pushed_bytes_total", {}, blob.size);
  return created(name, blob);
}

/**
 * Content-Range and Content-Length of a chunk, checked for form, with MAX_REQUEST_BODY: a body
 * declared larger is refused before a byte is read; one of unknown length is counted as it
 * streams (src/registry/upload-ingest.ts).
 */
function chunkOptions(c: Context<AppEnv>): AppendOptions {
  const length = contentLength(c.req.header("Content-Length"));
  if (Number.isNaN(length)) throw new RegistryError("SIZE_INVALID", { reason: "malformed Content-Length" });
  const rangeHeaderValue = c.req.header("Content-Range");
  const range = rangeHeaderValue === undefined ? null : parseContentRange(rangeHeaderValue);
  if (rangeHeaderValue !== undefined && !range) {
    throw new RegistryError("BLOB_UPLOAD_INVALID", { reason: "malformed Content-Range" }, { status: 416 });
  }
  const { MAX_REQUEST_BODY: maxRequestBody } = readConfig(c.env);
  refuseDeclaredOversize(maxRequestBody, length ?? (range && range.end - range.start + 1));
  return { range, length, maxRequestBody };
}

/** Adds the upload's Location to errors raised by its session (a 416 must say where to resume). */
async function withUploadErrors<T>(name: string, uploadId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (caught) {
    // Rendered here rather than in app.onError, so that the answer's headers can be added to.
    const err = caught instanceof DomainError ? registryErrorOf(caught) : caught;
    if (err instanceof RegistryError && err.status === 416) {
      Object.assign(err.headers, { Location: uploadLocation(name, uploadId), "Docker-Upload-UUID": uploadId });
    }
    throw err;
  }
}

uploadRoutes.post("/:name{.+}/blobs/uploads", refuseReservedName(), requireAccess("push"), async (c) => {
  const name = parseName(c);
  const { db, core, store } = c.var;
  const mount = c.req.query("mount");
  const from = c.req.query("from");
  const digestParam = c.req.query("digest");
  const coreOf = pushCores(c);
  // Quay's start_blob_upload: a namespace at or past its Reject limit starts no upload, mount
  // included, before anything (even the repository) is created.
  await requireUploadRoom(db, core, readConfig(c.env), namespaceOf(name));

  if (mount !== undefined) {
    // distribution-spec "Mounting a blob from another repository": 201 when the caller can read
    // the blob in `from`; otherwise fall back to an ordinary upload session (202).
    const digest = parseDigest(mount);
    const fromName = canonicalRepositoryName(from, nameRules(c.env));
    const source = fromName !== null && mayAccess(c, "pull", fromName) ? await findRepository(db, fromName) : undefined;
    const sourceCore = source && (await readableCore(c, source.name));
    // Touch, then look, in the source's core: a blob found after the touch outlives garbage
    // collection's grace period there, so the link below cannot race its collection
    // (src/registry/blobs.ts touchBlobs).
    if (sourceCore) await touchBlobs(sourceCore.db, [digest]);
    const blob = source && sourceCore && (await findLinkedBlob(sourceCore.db, { id: source.id }, digest));
    if (blob) {
      const target = await ensureRepository(db, coreOf, name, principalSubject(c.var.principal), requestEvents(c));
      // Across core databases the target's gets the blob's row in the link's batch (plan §4.3).
      const copied = target.core.shard === sourceCore.shard ? undefined : blob;
      await linkBlob(target.core.db, target.repository.id, digest, copied);
      return created(name, blob);
    }
  }

  const { repository, core: target } = await ensureRepository(
    db,
    coreOf,
    name,
    principalSubject(c.var.principal),
    requestEvents(c),
  );
  if (digestParam !== undefined && mount === undefined) {
    const digest = parseDigest(digestParam);
    const { length, maxRequestBody } = chunkOptions(c);
    return uploaded(
      name,
      await putWholeBlob(c.env, target, store, repository, digest, c.req.raw.body, length, maxRequestBody),
    );
  }

  const uploadId = await startUpload(c.env, name, repository.id, repository.firstPushActivityAt, target.shard);
  return new Response(null, {
    status: 202,
    headers: { ...uploadHeaders(name, uploadId, 0), ...chunkLengthHeaders(readConfig(c.env).MAX_REQUEST_BODY) },
  });
});

uploadRoutes.patch("/:name{.+}/blobs/uploads/:uuid", requireAccess("push", { continuesUpload: true }), async (c) => {
  const name = parseName(c);
  const uploadId = c.req.param("uuid");
  const offset = await withUploadErrors(name, uploadId, () =>
    appendUpload(c.env, name, uploadId, c.req.raw.body, chunkOptions(c)),
  );
  const headers = {
    ...uploadHeaders(name, uploadId, offset),
    ...chunkLengthHeaders(readConfig(c.env).MAX_REQUEST_BODY),
  };
  return new Response(null, { status: 202, headers });
});

uploadRoutes.put("/:name{.+}/blobs/uploads/:uuid", requireAccess("push", { continuesUpload: true }), async (c) => {
  const name = parseName(c);
  const uploadId = c.req.param("uuid");
  const digest = parseDigest(c.req.query("digest"));
  const options = chunkOptions(c);
  const body = options.length === 0 ? null : c.req.raw.body;
  const blob = await withUploadErrors(name, uploadId, () => finishUpload(c.env, name, uploadId, digest, body, options));
  return uploaded(name, blob);
});

uploadRoutes.get("/:name{.+}/blobs/uploads/:uuid", requireAccess("push", { continuesUpload: true }), async (c) => {
  const name = parseName(c);
  const uploadId = c.req.param("uuid");
  const offset = await uploadStatus(c.env, name, uploadId);
  return new Response(null, { status: 204, headers: uploadHeaders(name, uploadId, offset) });
});

uploadRoutes.delete("/:name{.+}/blobs/uploads/:uuid", requireAccess("push", { continuesUpload: true }), async (c) => {
  const name = parseName(c);
  await cancelUpload(c.env, name, c.req.param("uuid"));
  return new Response(null, { status: 204 });
});
