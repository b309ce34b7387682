/** GET, HEAD and DELETE /v2/<name>/blobs/<digest> (distribution-spec "Pulling blobs", "Deleting blobs"). */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { parseRangeHeader } from "../../lib/http";
import { requireAccess } from "../../middleware/access";
import { withPrimaryRetry } from "../../middleware/db-session";
import { fairUseContext, registryRequester } from "../../middleware/fair-use";
import { chargePull } from "../../fairuse/budgets";
import { namespaceOf } from "../../registry/repository-name";
import { requestOrigin } from "../../middleware/event-scope";
import { RegistryError } from "./errors";
import { unwrap } from "../../errors/outcome";
import type { BlobInfo } from "../../registry/blobs";
import { pullSourceOf } from "./pull-source";
import { findRepository } from "../../registry/repositories";
import { forgetLink } from "../../registry/pull-cache";
import { repositoryObject } from "../../registry/repository-object";
import { parseDigest, parseName } from "./params";
import { metrics } from "../../metrics/recorder";
import { blobRedirect } from "./blob-redirect";

export const blobRoutes = new Hono<AppEnv>();

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
  const name = parseName(c);
  const digest = parseDigest(c.req.param("digest"));
  // BLOB_REDIRECT: a GET may be answered with a 307 to the bytes in R2 (./blob-redirect.ts).
  const redirect = await blobRedirect(c, name, digest);
  if (redirect) return redirect;
  // A replica's miss is asked again of the primary (src/middleware/db-session.ts).
  const { blob, range, body } = await withPrimaryRetry(c, async () =>
    (await pullSourceOf(c, name)).openBlob(name, digest, {
      bytes: c.req.method === "GET",
      range: (size) => parseRangeHeader(c.req.header("Range"), size),
    }),
  );
  const headers = blobHeaders(blob);
  if (range === "unsatisfiable") {
    await body?.cancel();
    throw new RegistryError(
      "RANGE_INVALID",
      { size: blob.size },
      { headers: { "Content-Range": `bytes */${blob.size}` } },
    );
  }
  if (c.req.method === "GET") {
    // Fair use: the bytes about to be sent are charged before any is (a refusal sends none).
    const sending = range ? range.end - range.start + 1 : blob.size;
    try {
      await chargePull(fairUseContext(c), registryRequester(c), namespaceOf(name), sending);
    } catch (err) {
      await body?.cancel();
      throw err;
    }
  }
  // Quay's image_pulled_estimated_bytes: the bytes this answer carries, counted as it starts (a
  // client that leaves mid-body is counted in full, as in Quay).
  if (body)
    metrics.count(
      "quay_registry_image_pulled_estimated_bytes_total",
      { protocol: "v2" },
      range ? range.end - range.start + 1 : blob.size,
    );
  if (range) {
    return new Response(body, {
      status: 206,
      headers: {
        ...headers,
        "Content-Range": `bytes ${range.start}-${range.end}/${blob.size}`,
        "Content-Length": String(range.end - range.start + 1),
      },
    });
  }
  return new Response(body, { status: 200, headers: { ...headers, "Content-Length": String(blob.size) } });
});

/** Refused (405) while a live manifest of the repository needs the blob (RepositoryDO.deleteBlob). */
blobRoutes.delete("/:name{.+}/blobs/:digest", requireAccess("delete"), async (c) => {
  const name = parseName(c);
  const digest = parseDigest(c.req.param("digest"));
  const repository = await findRepository(c.var.db, name);
  if (!repository) throw new RegistryError("BLOB_UNKNOWN", { digest });
  const ref = { id: repository.id, name: repository.name };
  unwrap(await repositoryObject(c.env, name).deleteBlob(ref, digest, requestOrigin(c)));
  await forgetLink(name, digest);
  return new Response(null, { status: 202, headers: { "Docker-Content-Digest": digest } });
});
