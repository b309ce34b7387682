/** GET, HEAD and DELETE /v2/<name>/blobs/<digest> (distribution-spec "Pulling blobs", "Deleting blobs"). */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { parseRangeHeader } from "../../lib/http";
import { requireAccess } from "../../middleware/access";
import { requestOrigin } from "../../middleware/event-scope";
import { RegistryError } from "./errors";
import { unwrap } from "../../errors/outcome";
import { findLinkedBlob, touchBlobs, touchDue, type BlobInfo } from "../../registry/blobs";
import { findRepository } from "../../registry/repositories";
import { repositoryObject } from "../../registry/repository-object";
import type { Db } from "../../db/client";
import { parseDigest, parseName } from "./params";

export const blobRoutes = new Hono<AppEnv>();

async function linkedBlob(db: Db, name: string, digestParam: string | undefined): Promise<BlobInfo> {
  const digest = parseDigest(digestParam);
  const blob = await findLinkedBlob(db, { name }, digest);
  if (!blob) throw new RegistryError("BLOB_UNKNOWN", { digest });
  return blob;
}

function blobHeaders(blob: BlobInfo): Record<string, string> {
  return {
    "Docker-Content-Digest": blob.digest,
    "Accept-Ranges": "bytes",
    "Content-Type": "application/octet-stream",
    // Content-addressed bytes never change.
    "Cache-Control": "max-age=31536000, immutable",
    ETag: `"${blob.digest}"`,
  };
}

blobRoutes.on(["GET", "HEAD"], "/:name{.+}/blobs/:digest", requireAccess("pull"), async (c) => {
  const blob = await linkedBlob(c.var.db, parseName(c), c.req.param("digest"));
  const headers = blobHeaders(blob);
  const range = parseRangeHeader(c.req.header("Range"), blob.size);
  if (range === "unsatisfiable") {
    throw new RegistryError(
      "RANGE_INVALID",
      { size: blob.size },
      { headers: { "Content-Range": `bytes */${blob.size}` } },
    );
  }
  if (c.req.method === "HEAD") {
    // Clients HEAD a layer before a push that will name it: garbage collection spares it from now
    // (src/registry/blobs.ts touchBlobs). The write happens at most once per touch interval. Were
    // the blob collected between the read above and this touch, the manifest push that follows
    // would be refused (MANIFEST_BLOB_UNKNOWN), never committed over a missing blob.
    if (touchDue(blob)) await touchBlobs(c.var.db, [blob.digest]);
    return new Response(null, { status: 200, headers: { ...headers, "Content-Length": String(blob.size) } });
  }
  // Even a whole read names its span, so that the store reads a large blob in bounded segments.
  const span = range ?? (blob.size > 0 ? { start: 0, end: blob.size - 1 } : undefined);
  const object = await c.var.store.get(blob.storageKey, span);
  if (!object) throw new Error(`blob ${blob.digest} has no bytes at ${blob.storageKey}`);
  if (range) {
    return new Response(object.body, {
      status: 206,
      headers: {
        ...headers,
        "Content-Range": `bytes ${range.start}-${range.end}/${blob.size}`,
        "Content-Length": String(range.end - range.start + 1),
      },
    });
  }
  return new Response(object.body, { status: 200, headers: { ...headers, "Content-Length": String(blob.size) } });
});

/** Refused (405) while a live manifest of the repository needs the blob (RepositoryDO.deleteBlob). */
blobRoutes.delete("/:name{.+}/blobs/:digest", requireAccess("delete"), async (c) => {
  const name = parseName(c);
  const digest = parseDigest(c.req.param("digest"));
  const repository = await findRepository(c.var.db, name);
  if (!repository) throw new RegistryError("BLOB_UNKNOWN", { digest });
  const ref = { id: repository.id, name: repository.name };
  unwrap(await repositoryObject(c.env, name).deleteBlob(ref, digest, requestOrigin(c)));
  return new Response(null, { status: 202, headers: { "Docker-Content-Digest": digest } });
});
