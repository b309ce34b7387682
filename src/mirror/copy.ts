/**
 * Copies one upstream tag into the mirrored repository, as skopeo's `copy --all` does for Quay's
 * mirror worker, through the ingest the proxy cache shares (src/upstream/ingest.ts): blobs first
 * (streamed from upstream into R2, digest and size checked as they land, nothing held in memory),
 * then each child manifest of an index by digest, then the tagged manifest, each committed through
 * the repository's Durable Object as the mirror robot (the one writer of a MIRROR repository). A
 * blob the registry already holds is read and hashed, then linked (not stored again).
 * What fails leaves no tag moved: the tag's manifest is committed last, after everything it needs.
 */
import type { Db } from "../db/client";
import { DomainError } from "../errors/domain";
import { unwrap } from "../errors/outcome";
import type { EventOrigin } from "../events/envelope";
import { eventScope } from "../events/outbox";
import { linkedDigests } from "../registry/blobs";
import { namespaceOf } from "../registry/repository-name";
import { requireUploadRoom } from "../quota/enforcement";
import { readConfig } from "../config";
import { parseManifest } from "../registry/manifest-parse";
import { EMPTY_JSON_DIGEST } from "../registry/media-types";
import type { Digest } from "../registry/reference";
import { repositoryObject } from "../registry/repository-object";
import type { BlobStore } from "../storage/blob-store";
import { commitUpstreamManifest, type IngestScope, ingestBlob, ingestRepository } from "../upstream/ingest";
import { type UpstreamRegistry, UpstreamError } from "../upstream/registry";

/** An index nests no deeper than this in practice (an index of indexes); deeper is refused. */
const MAX_DEPTH = 2;

export interface CopyTarget {
  env: Env;
  /** `DB`: the repository (the directory), its namespace's quota rules. */
  db: Db;
  /** The client over the repository's core (src/registry/core-db.ts `writableCoreDb`). */
  core: Db;
  store: BlobStore;
  /** The mirrored repository (Wharf's name). */
  repository: { id: number; name: string };
  /** The repository's path at the upstream. */
  upstreamRepository: string;
  robot: { id: number; name: string };
}

const robotOrigin = (robot: CopyTarget["robot"]): EventOrigin => ({
  actor: { kind: "robot", id: robot.id, name: robot.name },
  ip: null,
});

const scopeOf = (target: CopyTarget): IngestScope => ({
  env: target.env,
  db: target.db,
  store: target.store,
  events: eventScope(target.env, robotOrigin(target.robot), () => {}),
});

/** Links or fetches each blob the repository does not link yet (the shared ingest, src/upstream/ingest.ts). */
async function copyBlobs(target: CopyTarget, upstream: UpstreamRegistry, digests: Digest[]): Promise<void> {
  const linked = await linkedDigests(target.core, target.repository.id, digests);
  const missing = digests.filter((d) => !linked.has(d) && d !== EMPTY_JSON_DIGEST);
  if (missing.length === 0) return;
  // As a push's upload start (Quay's start_blob_upload): a namespace at its Reject limit takes no
  // more layers, which its manifest would be refused with, and the next sync fetch all again.
  await requireUploadRoom(target.db, target.core, readConfig(target.env), namespaceOf(target.repository.name));
  const scope = scopeOf(target);
  const repository = await ingestRepository(scope, target.repository.name);
  for (const digest of missing) {
    const blob = await upstream.getBlob(target.upstreamRepository, digest);
    if (!blob) throw new UpstreamError("protocol", `blob ${digest} is not at the upstream`);
    await ingestBlob(scope, repository, digest, blob);
  }
}

/** Copies the manifest `reference` names (with what it needs) and tags it `tag` when given; its digest. */
async function copyManifest(
  target: CopyTarget,
  upstream: UpstreamRegistry,
  reference: string,
  tag: string | null,
  depth: number,
): Promise<Digest> {
  const manifest = await upstream.getManifest(target.upstreamRepository, reference);
  if (!manifest) throw new UpstreamError("protocol", `manifest ${reference} is not at the upstream`);
  const parsed = parseManifest(manifest.bytes, manifest.mediaType);
  if (parsed.manifests.length > 0 && depth >= MAX_DEPTH)
    throw new DomainError("invalid", { subject: "manifest", detail: { reason: "indexes nested too deep" } });
  for (const child of parsed.manifests) await copyManifest(target, upstream, child, null, depth + 1);
  await copyBlobs(target, upstream, parsed.blobs);
  const committed = await commitUpstreamManifest(scopeOf(target), {
    repository: target.repository.name,
    tag,
    manifest,
    mirrorSync: true,
  });
  return committed.digest;
}

/** Copies upstream tag `tag` into the repository under the same tag. */
export function copyTag(target: CopyTarget, upstream: UpstreamRegistry, tag: string): Promise<Digest> {
  return copyManifest(target, upstream, tag, tag, 0);
}

/** Removes tag `tag` from the repository, as the mirror robot. */
export async function removeTag(target: CopyTarget, tag: string): Promise<void> {
  const ref = { id: target.repository.id, name: target.repository.name };
  unwrap(
    await repositoryObject(target.env, target.repository.name).deleteMirroredTag(ref, tag, robotOrigin(target.robot)),
  );
}
