/** /v2/<name>/manifests/<reference>: distribution-spec "Pulling manifests", "Pushing Manifests", "Deleting". */
import { Hono } from "hono";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { readBounded } from "../../lib/http";
import { principalSubject, requireAccess } from "../../middleware/access";
import { requestEvents, requestOrigin } from "../../middleware/event-scope";
import { RegistryError } from "./errors";
import { unwrap } from "../../errors/outcome";
import { bareMediaType } from "../../registry/media-types";
import {
  lookupManifest,
  manifestBody,
  manifestUnknown,
  MAX_MANIFEST_BYTES,
  prepareManifest,
} from "../../registry/manifests";
import { negotiateManifest } from "../../registry/negotiate";
import { findRepository } from "../../registry/repositories";
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

/** A reference that is neither a tag nor a sha256 digest names no manifest (see lookupReference). */
function unusableReference(reference: string | undefined): RegistryError {
  return new RegistryError("MANIFEST_UNKNOWN", { reference: reference ?? null });
}

manifestRoutes.on(["GET", "HEAD"], "/:name{.+}/manifests/:reference", requireAccess("pull"), async (c) => {
  const name = parseName(c);
  const raw = c.req.param("reference");
  const reference = lookupReference(raw);
  const stored = reference && (await lookupManifest(c.var.db, { name }, reference));
  if (!stored) {
    if (!(await findRepository(c.var.db, name))) throw new RegistryError("NAME_UNKNOWN", { name });
    throw reference ? manifestUnknown(reference) : unusableReference(raw);
  }
  const manifest = await negotiateManifest(c.var.db, c.var.store, stored, c.req.header("Accept"));
  const headers = {
    "Content-Type": manifest.mediaType,
    "Content-Length": String(manifest.size),
    "Docker-Content-Digest": manifest.digest,
    ETag: `"${manifest.digest}"`,
  };
  if (c.req.method === "HEAD") return new Response(null, { status: 200, headers });
  return new Response(await manifestBody(c.var.store, manifest), { status: 200, headers });
});

manifestRoutes.put("/:name{.+}/manifests/:reference", refuseReservedName(), requireAccess("push"), async (c) => {
  const name = parseName(c);
  const reference = parseReference(c.req.param("reference"));
  const bytes = await readManifestBody(c.req.raw);
  const contentType = bareMediaType(c.req.header("Content-Type"));
  const commit = await prepareManifest(
    c.var.db,
    c.var.store,
    name,
    reference,
    bytes,
    contentType,
    principalSubject(c.var.principal),
    { maxTagExpirationSeconds: readConfig(c.env).MAXIMUM_TAG_EXPIRATION },
    requestEvents(c),
  );
  unwrap(await repositoryObject(c.env, name).commitManifest(commit));
  const headers: Record<string, string> = {
    Location: `/v2/${name}/manifests/${commit.digest}`,
    "Docker-Content-Digest": commit.digest,
  };
  if (commit.parsed.subject) headers["OCI-Subject"] = commit.parsed.subject;
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
  return new Response(null, { status: 202 });
});
