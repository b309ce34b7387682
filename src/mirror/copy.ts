/**
 * Copies one upstream tag into the mirrored repository, as skopeo's `copy --all` does for Quay's
 * mirror worker: blobs first (streamed from upstream into R2, the digest checked as they land, so
 * nothing is held in memory), then each child manifest of an index by digest, then the tagged
 * manifest, each committed through the repository's Durable Object as the mirror robot (the one
 * writer of a MIRROR repository). A blob the registry already holds is linked, not fetched again.
 * What fails leaves no tag moved: the tag's manifest is committed last, after everything it needs.
 */
import { readConfig } from "../config";
import type { Db } from "../db/client";
import { DomainError } from "../errors/domain";
import { unwrap } from "../errors/outcome";
import type { EventOrigin } from "../events/envelope";
import { eventScope } from "../events/outbox";
import { findBlob, linkBlob, linkedDigests, putMonolithicBlob } from "../registry/blobs";
import { prepareManifest } from "../registry/manifests";
import { parseManifest } from "../registry/manifest-parse";
import { EMPTY_JSON_DIGEST } from "../registry/media-types";
import type { Digest, ManifestReference } from "../registry/reference";
import { repositoryObject } from "../registry/repository-object";
import type { BlobStore } from "../storage/blob-store";
import { type UpstreamRegistry, UpstreamError } from "../upstream/registry";

/** An index nests no deeper than this in practice (an index of indexes); deeper is refused. */
const MAX_DEPTH = 2;

export interface CopyTarget {
  env: Env;
  db: Db;
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

/** Links or fetches each blob the repository does not link yet. */
async function copyBlobs(target: CopyTarget, upstream: UpstreamRegistry, digests: Digest[]): Promise<void> {
  const { db, store, repository } = target;
  const linked = await linkedDigests(db, repository.id, digests);
  for (const digest of digests) {
    // The OCI empty config is supplied by the manifest commit itself (src/registry/manifests.ts).
    if (linked.has(digest) || digest === EMPTY_JSON_DIGEST) continue;
    if (await findBlob(db, digest)) {
      await linkBlob(db, repository.id, digest);
      continue;
    }
    const blob = await upstream.getBlob(target.upstreamRepository, digest);
    if (!blob) throw new UpstreamError("protocol", `blob ${digest} is not at the upstream`);
    await putMonolithicBlob(db, store, repository.id, digest, blob.body, blob.size);
  }
}

/** Copies the manifest `reference` names and all it needs; its digest. */
async function copyManifest(
  target: CopyTarget,
  upstream: UpstreamRegistry,
  reference: ManifestReference,
  depth: number,
): Promise<Digest> {
  const name = reference.kind === "tag" ? reference.tag : reference.digest;
  const manifest = await upstream.getManifest(target.upstreamRepository, name);
  if (!manifest) throw new UpstreamError("protocol", `manifest ${name} is not at the upstream`);
  const parsed = parseManifest(manifest.bytes, manifest.mediaType);
  if (parsed.manifests.length > 0 && depth >= MAX_DEPTH)
    throw new DomainError("invalid", { subject: "manifest", detail: { reason: "indexes nested too deep" } });
  for (const child of parsed.manifests)
    await copyManifest(target, upstream, { kind: "digest", digest: child }, depth + 1);
  await copyBlobs(target, upstream, parsed.blobs);
  const origin = robotOrigin(target.robot);
  const events = eventScope(target.env, origin, () => {});
  const commit = await prepareManifest(
    target.db,
    target.store,
    target.repository.name,
    reference.kind === "tag" ? reference : { kind: "digest", digest: manifest.digest },
    manifest.bytes,
    manifest.mediaType,
    { kind: "user", id: target.robot.id, name: target.robot.name },
    { maxTagExpirationSeconds: readConfig(target.env).MAXIMUM_TAG_EXPIRATION },
    events,
  );
  unwrap(await repositoryObject(target.env, target.repository.name).commitManifest(commit));
  return commit.digest;
}

/** Copies upstream tag `tag` into the repository under the same tag. */
export function copyTag(target: CopyTarget, upstream: UpstreamRegistry, tag: string): Promise<Digest> {
  return copyManifest(target, upstream, { kind: "tag", tag }, 0);
}

/** Removes tag `tag` from the repository, as the mirror robot. */
export async function removeTag(target: CopyTarget, tag: string): Promise<void> {
  const ref = { id: target.repository.id, name: target.repository.name };
  unwrap(
    await repositoryObject(target.env, target.repository.name).deleteMirroredTag(ref, tag, robotOrigin(target.robot)),
  );
}
