/**
 * The optional redirect of blob bytes (BLOB_REDIRECT, off by default), as distribution's `redirect`
 * storage middleware: a blob GET answers `307 Temporary Redirect` to a presigned URL of R2's S3 API
 * (src/storage/presign.ts), and the client fetches the bytes from R2 itself. The Worker then spends
 * no CPU or wall time streaming a layer, whatever its size. distribution-spec "Pulling blobs":
 * "the registry MAY redirect to another location"; Docker's registry API names 307 for it.
 *
 * What stays the same: the request was authorized as any pull (requireAccess("pull") ran before:
 * a caller without access meets the same 401/404 and never a URL); the blob must be linked to the
 * repository, asked through the same PullSource as the bytes would be (a proxy cache fills what it
 * does not hold first, so a URL names only what R2 holds); fair use charges the blob's size before
 * any URL is given; the bytes metric counts it as sent.
 *
 * What is not redirected, and why:
 * - HEAD: nothing to send, and clients HEAD before a push, which must answer from here.
 * - A GET with `Range`: served by the Worker, as the range it is. The URL signs only the host, so
 *   the client could use it for the whole object while fair use charged the range; resumptions
 *   and partial pulls are a small share of the bytes. (S3 would honour the Range; distribution
 *   redirects ranged GETs too. Signing `range` would bind them, but is not what R2 documents.)
 * The URL lasts BLOB_REDIRECT_TTL_SECONDS, at most a registry token's lifetime, names one object,
 * and is answered with `Cache-Control: no-store` so no cache on the way keeps it.
 */
import type { Context } from "hono";
import { readConfig } from "../../config";
import { chargePull } from "../../fairuse/budgets";
import { clock } from "../../lib/clock";
import { metrics } from "../../metrics/recorder";
import { withPrimaryRetry } from "../../middleware/db-session";
import { fairUseContext, registryRequester } from "../../middleware/fair-use";
import type { Digest } from "../../registry/reference";
import { namespaceOf } from "../../registry/repository-name";
import { objectPath, presignGet } from "../../storage/presign";
import type { AppEnv } from "../app-env";
import { pullSourceOf } from "./pull-source";

/** R2 signs with the region `auto` (R2's S3 API compatibility page). */
const R2_REGION = "auto";

/** The 307 to the blob's bytes in R2, or null when this request is served by the Worker. */
export async function blobRedirect(c: Context<AppEnv>, name: string, digest: Digest): Promise<Response | null> {
  if (c.req.method !== "GET" || c.req.header("Range") !== undefined) return null;
  // readConfig has refused a BLOB_REDIRECT without its secrets (the 503 of src/middleware/config-gate.ts).
  const config = readConfig(c.env);
  const { R2_ACCESS_KEY_ID: accessKeyId, R2_SECRET_ACCESS_KEY: secretAccessKey } = c.env;
  if (!config.BLOB_REDIRECT || !accessKeyId || !secretAccessKey) return null;
  // The link check, without opening the bytes: as a HEAD, which records the blob's use at most
  // once per touch interval (src/registry/blobs.ts touchDue).
  // A replica's miss is asked again of the primary (src/middleware/db-session.ts).
  const { blob } = await withPrimaryRetry(c, async () =>
    (await pullSourceOf(c, name)).openBlob(name, digest, { bytes: false }),
  );
  await chargePull(fairUseContext(c), registryRequester(c), namespaceOf(name), blob.size);
  const location = await presignGet({
    endpoint: config.R2_S3_ENDPOINT || `https://${config.R2_ACCOUNT_ID}.r2.cloudflarestorage.com`,
    path: objectPath(config.R2_BUCKET_NAME, blob.storageKey),
    region: R2_REGION,
    credentials: { accessKeyId, secretAccessKey },
    expiresSeconds: config.BLOB_REDIRECT_TTL_SECONDS,
    nowMs: clock.now(),
  });
  // As src/routes/v2/blobs.ts counts a body: the bytes this answer hands out, counted as it starts.
  metrics.count("quay_registry_image_pulled_estimated_bytes_total", { protocol: "v2" }, blob.size);
  return new Response(null, {
    status: 307,
    headers: { Location: location, "Docker-Content-Digest": blob.digest, "Cache-Control": "no-store" },
  });
}
