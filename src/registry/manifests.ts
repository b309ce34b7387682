/**
 * Manifests: validation and storage on push, resolution on pull. A push's commit is
 * manifest-writes.ts's, run by the repository's Durable Object ({@link commitManifestStatements} are
 * its statements); pulls read D1 and R2 only.
 */
import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { chunksForStatement } from "../db/chunks";
import { manifestReferences, manifests, repositories, tags, type Manifest } from "../db/schema";
import { scanQueueStatements } from "../secscan/queue";
import { DomainError } from "../errors/domain";
import type { BlobStore } from "../storage/blob-store";
import { ContentCache } from "../storage/content-cache";
import type { SharedBytes } from "./pull-cache";
import { contentKey } from "../storage/keys";
import { hex } from "../lib/encoding";
import { findBlob, linkBlob, recordBlob, touchAndFindLinked } from "./blobs";
import { EMPTY_JSON_BYTES, EMPTY_JSON_DIGEST, isIndexMediaType } from "./media-types";
import { parseManifest, type ParsedManifest } from "./manifest-parse";
import { digestHex, sha256Digest, type Digest } from "../lib/digest";
import type { ManifestReference } from "./reference";
import type { EventOrigin } from "../events/envelope";
import type { EventScope } from "../events/outbox";
import {
  ensureRepository,
  findRepository,
  inRepository,
  keptForPush,
  type RepositoryCreator,
  type RepositorySelector,
} from "./repositories";
import type { CoreResolver } from "./core-db";
import { aliveAt, manifestIdOf } from "./tags";
import { expiresAfterMs } from "./expires-after";
import { pushedLabels, pushedLabelStatements, type PushedLabel } from "./labels";
import { keepManifestBytes, pushedConfigLabels } from "./push-memory";
import { clock } from "../lib/clock";

/** distribution-spec: registries SHOULD accept manifests of at least 4 MB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface ManifestCommit {
  repositoryId: number;
  /** The repository's name when the push began: the Durable Object checks it still names `repositoryId`. */
  repositoryName: string;
  digest: Digest;
  size: number;
  parsed: ParsedManifest;
  tag: string | null;
  /**
   * When the pushed tag expires, from `quay.expires-after` in the image's labels or the
   * manifest's annotations, counted from the push; null for none.
   */
  expiresAtMs: number | null;
  /** The labels the image and its manifest carry (source `manifest`), recorded with the manifest. */
  labels: PushedLabel[];
  /** The repository's first manifest, as far as the push saw: the commit ends its first push. */
  firstPush: boolean;
  /** Who pushed, from where: the commit's `push_repo` event names them. */
  origin: EventOrigin;
  /**
   * The proxy cache's written exception (issue #16, proxy organizations only): committed although
   * the blobs and child manifests it references are not all in the repository yet, since a cache
   * stores only what clients ask for. Set only through src/upstream/ingest.ts, never by a /v2 push.
   */
  referencesPending?: boolean;
  /** A mirror's sync (src/upstream/ingest.ts): the repository's MIRROR state lets it commit. */
  mirrorSync?: boolean;
  /** FEATURE_SECURITY_SCANNER was on: the commit queues the manifest's scan (src/secscan/queue.ts). */
  queueScan?: boolean;
}

/** How a manifest from an upstream registry is committed (src/upstream/ingest.ts); a /v2 push sets none. */
export interface UpstreamCommitOptions {
  referencesPending?: boolean;
  mirrorSync?: boolean;
  /** When the tag expires instead of `quay.expires-after` (the proxy cache's `expiration_s`); null: never. */
  tagExpiresAtMs?: number | null;
}

export interface PushLimits {
  /** MAXIMUM_TAG_EXPIRATION in seconds: a longer `quay.expires-after` is ignored. */
  maxTagExpirationSeconds: number;
  /** FEATURE_SECURITY_SCANNER: every committed manifest is queued for a scan. */
  securityScanner?: boolean;
}

/**
 * Validates a pushed manifest and stores its bytes; returns what the repository's Durable Object
 * must commit. Every blob and child manifest it references must already be in the repository, so
 * a repository that does not exist yet is created only for a manifest that references nothing
 * but the OCI empty config: a refused push leaves nothing behind, not even an empty repository.
 */
export async function prepareManifest(
  db: Db,
  coreOf: CoreResolver,
  store: BlobStore,
  repositoryName: string,
  reference: ManifestReference,
  bytes: Uint8Array,
  contentType: string,
  creator: RepositoryCreator,
  limits: PushLimits,
  events: EventScope,
  upstream: UpstreamCommitOptions = {},
): Promise<ManifestCommit> {
  const digest = sha256Digest(hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))));
  if (reference.kind === "digest" && reference.digest !== digest) {
    throw new DomainError("invalid", {
      subject: "digest",
      detail: { reason: "manifest digest does not match the reference", digest },
    });
  }
  const parsed = parseManifest(bytes, contentType);
  // The repository is DB's (the directory); what the manifest needs is read in its core, whose
  // shadow rows coreOf makes first (a repository with no core row yet is no new repository).
  const found = await findRepository(db, repositoryName);
  let target = found && (await keptForPush(db, coreOf, found));
  if (!target) {
    const missing = [...parsed.blobs, ...parsed.manifests].find((d) => d !== EMPTY_JSON_DIGEST);
    if (missing) throw new DomainError("not_found", { subject: "manifest_reference", detail: { digest: missing } });
    target = await ensureRepository(db, coreOf, repositoryName, creator, events);
  }
  const { repository } = target;
  const core = target.core.db;
  if (!upstream.referencesPending) {
    await requireBlobs(core, store, repository.id, parsed.blobs);
    await requireManifests(core, repository.id, parsed.manifests);
  }
  await keepManifestBytes(store, contentKey(digest), bytes, digestHex(digest));
  // Quay reads the labels of the config on push (`get_manifest_labels`) and applies
  // `quay.expires-after` from them; an index has neither labels nor expiry.
  const pushMs = clock.now();
  const imageLabels = await pushedConfigLabels(core, store, parsed);
  const labels = await pushedLabels(repository.id, digest, parsed, imageLabels);
  const annotations = isIndexMediaType(parsed.mediaType) ? null : parsed.annotations;
  return {
    repositoryId: repository.id,
    repositoryName,
    digest,
    size: bytes.byteLength,
    parsed,
    tag: reference.kind === "tag" ? reference.tag : null,
    expiresAtMs:
      upstream.tagExpiresAtMs !== undefined
        ? upstream.tagExpiresAtMs
        : expiresAfterMs(imageLabels, annotations, pushMs, limits.maxTagExpirationSeconds),
    labels,
    firstPush: repository.firstPushActivityAt !== null,
    origin: events.origin,
    ...(upstream.referencesPending ? { referencesPending: true } : {}),
    ...(upstream.mirrorSync ? { mirrorSync: true } : {}),
    ...(limits.securityScanner ? { queueScan: true } : {}),
  };
}

async function requireBlobs(db: Db, store: BlobStore, repositoryId: number, digests: Digest[]): Promise<void> {
  // Touch, then check: a blob still linked after the touch outlives the grace period, long enough
  // for this push to commit the references that then protect it (the argument: touchBlobs).
  const linked = await touchAndFindLinked(db, repositoryId, digests);
  for (const digest of digests) {
    if (linked.has(digest)) continue;
    // The OCI empty descriptor's `{}` is known content: supply it rather than refuse the artifact.
    if (digest === EMPTY_JSON_DIGEST) {
      await ensureEmptyJson(db, store, repositoryId);
      continue;
    }
    throw new DomainError("not_found", { subject: "manifest_reference", detail: { digest } });
  }
}

async function ensureEmptyJson(db: Db, store: BlobStore, repositoryId: number): Promise<void> {
  const digest = EMPTY_JSON_DIGEST as Digest;
  if (await findBlob(db, digest)) return linkBlob(db, repositoryId, digest);
  const key = contentKey(digest);
  await store.putVerified(key, EMPTY_JSON_BYTES, digestHex(digest));
  await recordBlob(db, { digest, size: EMPTY_JSON_BYTES.byteLength, storageKey: key }, repositoryId);
}

export async function requireManifests(db: Db, repositoryId: number, digests: Digest[]): Promise<void> {
  const queries = liveManifestsQueries(db, repositoryId, digests);
  requireFound(digests, (await Promise.all(queries)).flat());
}

/** The repository's live manifests among `digests`: one select per chunk (a commit batches them). */
export function liveManifestsQueries(db: Db, repositoryId: number, digests: readonly Digest[]) {
  // The repository's id, and each digest.
  return chunksForStatement(digests, { perValue: 1, fixed: 1 }).map((chunk) =>
    db
      .select({ digest: manifests.digest })
      .from(manifests)
      .where(
        and(
          eq(manifests.repositoryId, repositoryId),
          isNull(manifests.deletedAt),
          sql`${manifests.digest} in ${chunk}`,
        ),
      ),
  );
}

/** MANIFEST_BLOB_UNKNOWN (Quay's answer to a reference not there) for the first of `digests` not found. */
export function requireFound(digests: readonly Digest[], found: readonly { digest: string }[]): void {
  const present = new Set(found.map((row) => row.digest));
  const missing = digests.find((digest) => !present.has(digest));
  if (missing) throw new DomainError("not_found", { subject: "manifest_reference", detail: { digest: missing } });
}

/**
 * The statements that record a manifest and its references, all in the namespace's registry core.
 * A manifest deleted earlier comes back to life when pushed again. References are chunked
 * (src/db/chunks.ts).
 */
export function commitManifestStatements(db: Db, commit: ManifestCommit) {
  const { repositoryId, digest, size, parsed } = commit;
  const upsert = db
    .insert(manifests)
    .values({
      repositoryId,
      digest,
      size,
      mediaType: parsed.mediaType,
      artifactType: parsed.artifactType,
      configMediaType: parsed.configMediaType,
      configDigest: parsed.configDigest,
      subjectDigest: parsed.subject,
      annotations: parsed.annotations ? JSON.stringify(parsed.annotations) : null,
    })
    .onConflictDoUpdate({ target: [manifests.repositoryId, manifests.digest], set: { deletedAt: null } });
  const refs = [
    ...parsed.blobs.map((d) => ({ digest: d, kind: "blob" as const })),
    ...parsed.manifests.map((d) => ({ digest: d, kind: "manifest" as const })),
  ];
  // A row binds its digest and kind, and the manifest's id sub-select its repository and digest.
  const inserts = chunksForStatement(refs, { perValue: 4 }).map((chunk) =>
    db
      .insert(manifestReferences)
      .values(chunk.map((r) => ({ ...r, manifestId: manifestIdOf(repositoryId, digest) })))
      .onConflictDoNothing(),
  );
  // The first manifest makes the repository one garbage collection keeps however empty it gets
  // later (src/gc/empty-repositories.ts); a repository read without the mark needs no statement.
  const firstPushEnds = commit.firstPush
    ? [db.update(repositories).set({ firstPushActivityAt: null }).where(eq(repositories.id, repositoryId))]
    : [];
  return [
    upsert,
    ...inserts,
    ...pushedLabelStatements(db, repositoryId, digest, commit.labels),
    ...firstPushEnds,
  ] as const;
}

/**
 * The statements queueing the manifest's security scan (src/secscan/queue.ts), none when
 * FEATURE_SECURITY_SCANNER was off: `DB`'s tables, which the commit runs with its own batch
 * (`commitWithScanQueue`).
 */
export function commitScanStatements(db: Db, commit: ManifestCommit): SQL[] {
  if (!commit.queueScan) return [];
  const { digest, repositoryId, parsed } = commit;
  return scanQueueStatements(db, {
    digest,
    repositoryId,
    mediaType: parsed.mediaType,
    configMediaType: parsed.configMediaType,
  });
}

/**
 * The live manifest a tag or digest names in the repository, in one D1 query, or undefined.
 * A tag resolves through its alive row (Quay: end null or in the future).
 */
export async function lookupManifest(
  db: Db,
  repository: RepositorySelector,
  reference: ManifestReference,
): Promise<Manifest | undefined> {
  const selected = inRepository(repository, manifests.repositoryId);
  const query =
    reference.kind === "digest"
      ? db
          .select({ manifest: manifests })
          .from(manifests)
          .innerJoin(repositories, eq(repositories.id, manifests.repositoryId))
          .where(and(selected, eq(manifests.digest, reference.digest), isNull(manifests.deletedAt)))
      : db
          .select({ manifest: manifests })
          .from(tags)
          .innerJoin(manifests, eq(manifests.id, tags.manifestId))
          .innerJoin(repositories, eq(repositories.id, manifests.repositoryId))
          .where(
            and(
              selected,
              eq(tags.name, reference.tag),
              eq(tags.repositoryId, manifests.repositoryId),
              aliveAt(clock.now()),
            ),
          );
  return (await query.get())?.manifest;
}

/** The manifest a tag or digest names in the repository, or MANIFEST_UNKNOWN. */
export async function resolveManifest(db: Db, repositoryId: number, reference: ManifestReference): Promise<Manifest> {
  const row = await lookupManifest(db, { id: repositoryId }, reference);
  if (!row) throw manifestUnknown(reference);
  return row;
}

export function manifestUnknown(reference: ManifestReference): DomainError {
  return new DomainError("not_found", {
    subject: "manifest",
    detail: reference.kind === "tag" ? { tag: reference.tag } : { digest: reference.digest },
  });
}

/**
 * What a reference that is neither a tag nor a sha256 digest answers on GET, HEAD and DELETE:
 * no manifest can be stored there, so MANIFEST_UNKNOWN (404) rather than a syntax error, as
 * distribution does and the conformance suite checks (`.INVALID_MANIFEST_NAME`).
 */
export function unusableReference(written: string | undefined): DomainError {
  return new DomainError("not_found", { subject: "manifest", detail: { reference: written ?? null } });
}

/** The manifest's bytes (at most 4 MiB), from the isolate's cache or R2. */
export async function manifestBody(store: BlobStore, manifest: Manifest): Promise<Uint8Array> {
  const bytes = await storedManifestBody(store, manifest);
  if (!bytes) throw new Error(`manifest ${manifest.digest} has no bytes in storage`);
  return bytes;
}

/**
 * The manifest's bytes, or null when storage holds none: a manifest row known from a cached fact
 * (src/registry/pull-cache.ts) may have been deleted and collected since.
 */
export async function storedManifestBody(
  store: BlobStore,
  manifest: Manifest,
  shared?: SharedBytes,
): Promise<Uint8Array | null> {
  const cached = manifestBytes.get(manifest.digest) ?? (await shared?.get(manifest.digest));
  if (cached) {
    manifestBytes.set(manifest.digest, cached);
    return cached;
  }
  const object = await store.get(contentKey(manifest.digest as Digest));
  if (!object) return null;
  const bytes = new Uint8Array(await new Response(object.body).arrayBuffer());
  manifestBytes.set(manifest.digest, bytes);
  shared?.put(manifest.digest, bytes);
  return bytes;
}

/** Empties the isolate's manifest bytes, as a new isolate starts (tests). */
export function resetManifestBytes(): void {
  manifestBytes.clear();
}

/**
 * Hot manifests stay in the isolate: pulls re-read them constantly (a manifest GET for every
 * image pull) and their bytes under a digest never change. 16 MB per isolate, entries ≤ 256 KB.
 */
const manifestBytes = new ContentCache(16 * 1024 * 1024, 256 * 1024);
