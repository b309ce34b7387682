/**
 * Content from an upstream registry into Wharf, as the proxy cache (src/proxy/) and repository
 * mirroring (src/mirror/) both need it: a blob streamed into R2 under its content address and
 * linked to a repository, exactly as a pushed blob is (src/registry/uploads.ts `putWholeBlob`: R2
 * or the upload session verifies digest and size while the bytes pass, never buffering them), and
 * a manifest committed through the repository's Durable Object exactly as a /v2 manifest PUT
 * commits (src/registry/manifests.ts `prepareManifest`, then `RepositoryDO.commitManifest`: the
 * same checks, tag immutability, `push_repo` event), by whoever the caller names.
 */
import type { Db } from "../db/client";
import type { Repository } from "../db/schema";
import { DomainError, isBodyEndedEarly } from "../errors/domain";
import { unwrap } from "../errors/outcome";
import type { EventScope } from "../events/outbox";
import { type Digest, sha256Digest } from "../lib/digest";
import { hex } from "../lib/encoding";
import { type BlobInfo, findBlob, linkBlob, sha256OfStream, touchBlobs } from "../registry/blobs";
import { MAX_MANIFEST_BYTES, prepareManifest, type UpstreamCommitOptions } from "../registry/manifests";
import type { ManifestReference } from "../registry/reference";
import { type CoreResolver, writableCores } from "../registry/core-db";
import { ensureRepository, findRepository, keptForPush, type RepositoryCreator } from "../registry/repositories";
import { repositoryObject } from "../registry/repository-object";
import { putWholeBlob } from "../registry/uploads";
import type { BlobStore } from "../storage/blob-store";
import { readConfig } from "../config";
import { type UpstreamBlob, UpstreamError } from "./registry";

/** Where upstream content is written and by whom. */
export interface IngestScope {
  env: Env;
  /** `DB`: the repositories (created there), their owners, the quota rules. */
  db: Db;
  /**
   * The client over a repository's core (blobs, links, manifests); by default the database the
   * directory puts the namespace's core in, with the shard's shadows made (src/registry/core-db.ts).
   */
  coreOf?: CoreResolver;
  store: BlobStore;
  /** Who the writes are by (the mirror's robot, the proxy's actor) and how their events leave. */
  events: EventScope;
}

/** The scope's resolver of a repository's core client. */
export function coresOf(scope: IngestScope): CoreResolver {
  return scope.coreOf ?? writableCores(scope.env);
}

/**
 * Repository `name`, created when absent and `createAs` is given, as a first push creates one
 * (private, its creator's grants, `create_repo`; `{ kind: "system" }` for Wharf itself, with no
 * creator grant). Without `createAs`, an absent repository is not found.
 */
export async function ingestRepository(
  scope: IngestScope,
  name: string,
  createAs?: RepositoryCreator,
): Promise<Repository> {
  if (createAs) return (await ensureRepository(scope.db, coresOf(scope), name, createAs, scope.events)).repository;
  const found = await findRepository(scope.db, name);
  const kept = found && (await keptForPush(scope.db, coresOf(scope), found));
  if (!kept) throw new DomainError("not_found", { subject: "repository", detail: { name } });
  return kept.repository;
}

/**
 * Stores `blob` (from {@link UpstreamRegistry.getBlob}) as `digest` and links it to `repository`,
 * as a finished upload does. The bytes stream into R2 with their digest and size verified on the
 * way; content the repository's core database already holds is hashed as it streams by and
 * linked, not stored again. `expectedSize` is the descriptor's size, when the caller has one;
 * `repository.firstPushActivityAt` is the mark as its core has it (an upload session keeps it).
 * Failures of the upstream's bytes are {@link UpstreamError}s (`protocol`: not the digest or size
 * announced; `unreachable`: the stream broke off); nothing is recorded then.
 */
export async function ingestBlob(
  scope: IngestScope,
  repository: Pick<Repository, "id" | "name" | "firstPushActivityAt">,
  digest: Digest,
  blob: UpstreamBlob,
  expectedSize?: number,
): Promise<BlobInfo> {
  if (expectedSize !== undefined && blob.size !== expectedSize) {
    await blob.body.cancel().catch(() => {});
    throw new UpstreamError("protocol", `blob ${digest}: the upstream sent ${blob.size} bytes, not ${expectedSize}`);
  }
  // Known content (touch, then look, so that what is found outlives garbage collection's grace:
  // src/registry/blobs.ts) is linked without a second object, but only once the upstream's bytes
  // hash to its digest, as a push of known content is (`putMonolithicBlob`): a digest is no proof
  // of possession, and an upstream naming another namespace's private layer must not get it linked.
  const core = await coresOf(scope)(repository);
  await touchBlobs(core.db, [digest]);
  const known = await findBlob(core.db, digest);
  if (known) {
    const hashed = await sha256OfStream(blob.body).catch(() => null);
    if (hashed === null) throw new UpstreamError("unreachable", `blob ${digest}: the upstream's stream broke off`);
    if (hashed !== digest)
      throw new UpstreamError("protocol", `blob ${digest}: the upstream's bytes are not the digest announced`);
    await linkBlob(core.db, repository.id, digest);
    return known;
  }
  try {
    return await putWholeBlob(scope.env, core, scope.store, repository, digest, blob.body, blob.size);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    if (isBodyEndedEarly(err))
      throw new UpstreamError("unreachable", `blob ${digest}: the upstream's stream ended before ${blob.size} bytes`);
    if (err.kind === "invalid" && (err.subject === "digest" || err.subject === "size"))
      throw new UpstreamError("protocol", `blob ${digest}: the upstream's bytes are not the ${err.subject} announced`);
    throw err;
  }
}

export interface UpstreamManifestCommit extends UpstreamCommitOptions {
  /** The repository's name in Wharf. */
  repository: string;
  /** The tag to point at the manifest; null commits it by digest (with a push's temporary tag). */
  tag: string | null;
  /** The manifest as read from the upstream ({@link UpstreamRegistry.getManifest}). */
  manifest: { bytes: Uint8Array; mediaType: string; digest?: Digest };
  /** Create the repository when absent, as this creator (see {@link ingestRepository}). */
  createAs?: RepositoryCreator;
}

/**
 * Commits upstream manifest bytes into a repository as a /v2 manifest PUT would: the same
 * validation (every referenced blob and child manifest linked, unless `referencesPending`, the
 * proxy cache's exception for proxy organizations only: the caller checks the organization), tag
 * immutability, repository state (`mirrorSync` lets a MIRROR repository take it), quotas as the
 * push path has them, and one `push_repo` event by the scope's actor. Returns the digest and
 * whether the tag moved.
 */
export async function commitUpstreamManifest(
  scope: IngestScope,
  commit: UpstreamManifestCommit,
): Promise<{ digest: Digest; tagMoved: boolean }> {
  const { bytes, mediaType } = commit.manifest;
  if (bytes.byteLength > MAX_MANIFEST_BYTES)
    throw new UpstreamError("too-large", `manifest of ${commit.repository}: more than ${MAX_MANIFEST_BYTES} bytes`);
  // The caller names the creator; prepareManifest itself only creates for manifests that reference nothing.
  const creator: RepositoryCreator = commit.createAs ?? { kind: "anonymous" };
  if (commit.createAs) await ingestRepository(scope, commit.repository, commit.createAs);
  const digest = sha256Digest(hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))));
  if (commit.manifest.digest && digest !== commit.manifest.digest)
    throw new UpstreamError(
      "protocol",
      `manifest of ${commit.repository}: the bytes are not ${commit.manifest.digest}`,
    );
  const reference: ManifestReference =
    commit.tag === null ? { kind: "digest", digest } : { kind: "tag", tag: commit.tag };
  const config = readConfig(scope.env);
  const limits = {
    maxTagExpirationSeconds: config.MAXIMUM_TAG_EXPIRATION,
    securityScanner: config.FEATURE_SECURITY_SCANNER,
  };
  const { referencesPending, mirrorSync, tagExpiresAtMs } = commit;
  const prepared = await prepareManifest(
    scope.db,
    coresOf(scope),
    scope.store,
    commit.repository,
    reference,
    bytes,
    mediaType,
    creator,
    limits,
    scope.events,
    { referencesPending, mirrorSync, tagExpiresAtMs },
  );
  const { tagMoved } = unwrap(await repositoryObject(scope.env, commit.repository).commitManifest(prepared));
  return { digest: prepared.digest, tagMoved };
}
