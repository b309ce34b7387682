/** /v2/<name>/manifests/<reference>: distribution-spec "Pulling manifests", "Pushing Manifests", "Deleting". */
import { Hono } from "hono";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { readBounded } from "../../lib/http";
import { principalSubject, requireAccess } from "../../middleware/access";
import { pushCores, withPrimaryRetry } from "../../middleware/db-session";
import { requestEvents, requestOrigin } from "../../middleware/event-scope";
import { RegistryError } from "./errors";
import { unwrap } from "../../errors/outcome";
import { bareMediaType } from "../../registry/media-types";
import { MAX_MANIFEST_BYTES, prepareManifest, unusableReference } from "../../registry/manifests";
import { pullSourceOf } from "./pull-source";
import { countPull } from "../../registry/pull-counts";
import { metrics } from "../../metrics/recorder";
import { userAgentOf } from "../../lib/client-address";
import { findRepository } from "../../registry/repositories";
import { forgetManifest } from "../../registry/pull-cache";
import { repositoryObject } from "../../registry/repository-object";
import { lookupReference, parseName, parseReference, refuseReservedName } from "./params";

export const manifestRoutes = new Hono<AppEnv>();

/** Reads a manifest body of at most {@link MAX_MANIFEST_BYTES}; 413 beyond (spec: "Pushing Manifests"). */
function readManifestBody(request: Request): Promise<Uint8Array> {
  return readBounded(
    request,
    MAX_MANIFEST_BYTES,
    () =>
      new RegistryError("SIZE_INVALID", { limit: MAX_MANIFEST_BYTES }, { status: 413, message: "manifest too large" }),
  );
}

manifestRoutes.on(["GET", "HEAD"], "/:name{.+}/manifests/:reference", requireAccess("pull"), async (c) => {
  const name = parseName(c);
  const written = c.req.param("reference");
  const reference = lookupReference(written);
  // A replica's miss is asked again of the primary (src/middleware/db-session.ts).
  const { manifest, bytes } = await withPrimaryRetry(c, async () =>
    (await pullSourceOf(c, name)).openManifest(name, {
      reference,
      written,
      accept: c.req.header("Accept"),
      bytes: c.req.method === "GET",
    }),
  );
  const headers = {
    "Content-Type": manifest.mediaType,
    "Content-Length": String(manifest.size),
    "Docker-Content-Digest": manifest.digest,
    ETag: `"${manifest.digest}"`,
  };
  if (bytes) {
    countPull(c.env, c.executionCtx, {
      repository: { id: manifest.repositoryId, name },
      digest: manifest.digest,
      tag: reference?.kind === "tag" ? reference.tag : null,
      actor: principalSubject(c.var.principal),
      clientIp: c.req.header("CF-Connecting-IP") ?? null,
      userAgent: userAgentOf(c.req.raw),
    });
  }
  return new Response(bytes, { status: 200, headers });
});

manifestRoutes.put("/:name{.+}/manifests/:reference", refuseReservedName(), requireAccess("push"), async (c) => {
  const name = parseName(c);
  const reference = parseReference(c.req.param("reference"));
  const bytes = await readManifestBody(c.req.raw);
  const contentType = bareMediaType(c.req.header("Content-Type"));
  const commit = await prepareManifest(
    c.var.db,
    pushCores(c),
    c.var.store,
    name,
    reference,
    bytes,
    contentType,
    principalSubject(c.var.principal),
    {
      maxTagExpirationSeconds: readConfig(c.env).MAXIMUM_TAG_EXPIRATION,
      securityScanner: readConfig(c.env).FEATURE_SECURITY_SCANNER,
    },
    requestEvents(c),
  );
  unwrap(await repositoryObject(c.env, name).commitManifest(commit));
  const headers: Record<string, string> = {
    Location: `/v2/${name}/manifests/${commit.digest}`,
    "Docker-Content-Digest": commit.digest,
  };
  if (commit.parsed.subject) headers["OCI-Subject"] = commit.parsed.subject;
  // Quay's image_pushes, as endpoints/v2/manifest.py counts a manifest written.
  metrics.count("quay_registry_image_pushes_total", {
    protocol: "v2",
    status: "201",
    media_type: commit.parsed.mediaType,
  });
  return new Response(null, { status: 201, headers });
});

manifestRoutes.delete("/:name{.+}/manifests/:reference", requireAccess("delete"), async (c) => {
  const name = parseName(c);
  const raw = c.req.param("reference");
  const reference = lookupReference(raw);
  const repository = await findRepository(c.var.db, name);
  if (!repository) throw new RegistryError("NAME_UNKNOWN", { name });
  if (!reference) throw unusableReference(raw);
  const stub = repositoryObject(c.env, name);
  const ref = { id: repository.id, name: repository.name };
  unwrap(
    reference.kind === "digest"
      ? await stub.deleteManifest(ref, reference.digest, requestOrigin(c))
      : await stub.deleteTag(ref, reference.tag, requestOrigin(c)),
  );
  // This isolate stops answering from the cached fact at once; others within FACT_TTL (pull-cache.ts).
  if (reference.kind === "digest") await forgetManifest(name, reference.digest);
  return new Response(null, { status: 202 });
});
