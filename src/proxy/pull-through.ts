/**
 * The proxy cache's pull seam: a {@link PullSource} for the repositories of a proxy-cache
 * organization, wrapping what the registry holds (src/registry/pull.ts `storedPulls`). Quay's
 * behaviour (data/registry_model/registry_proxy_model.py; the seeds' "proxy cache" chapter):
 * - A manifest by tag asks the upstream for the tag's digest (a HEAD). Unchanged: the cached
 *   copy is served and the tag's expiration starts over; changed or not cached: the manifest is
 *   fetched, committed into the cache repository (created by the first pull, private, with no
 *   creator grant) and served.
 * - The upstream down (or the tag gone from it): the cached tag is served while alive, that is
 *   within `expiration_s` of its last successful pull; after it the pull fails with an error
 *   that says so (MANIFEST_UNKNOWN, as Quay answers).
 * - A manifest by digest is served from the cache when there, else fetched and kept under a
 *   hidden tag expiring like the others.
 * - A blob that a cached manifest names and the registry does not hold is fetched once, stored,
 *   then served from storage (src/proxy/blob-fill.ts); a digest no cached manifest names is
 *   unknown, as in any repository.
 * Every upstream request goes through the outbound guard (the client's); the upstream sees the
 * repository as `<configured namespace>/<rest>` (src/proxy/upstream.ts).
 */
import { readConfig } from "../config";
import type { Db } from "../db/client";
import type { ProxyCacheConfig, Repository } from "../db/schema";
import { DomainError } from "../errors/domain";
import { unwrap } from "../errors/outcome";
import type { EventScope } from "../events/outbox";
import { clock } from "../lib/clock";
import { digestHex, type Digest } from "../lib/digest";
import { manifestReferences, manifests } from "../db/schema";
import { and, eq, isNull, sql } from "drizzle-orm";
import { parseManifest } from "../registry/manifest-parse";
import { type CoreClient, writableCore } from "../registry/core-db";
import { lookupManifest } from "../registry/manifests";
import { storedPulls, type PullSource } from "../registry/pull";
import type { ManifestReference } from "../registry/reference";
import { createRepository, findRepository, reservedComponent, reservedNameError } from "../registry/repositories";
import { repositoryObject } from "../registry/repository-object";
import { namespaceOf } from "../registry/repository-name";
import { findAliveTag } from "../registry/tags";
import type { BlobStore } from "../storage/blob-store";
import { contentKey } from "../storage/keys";
import { UpstreamError, type UpstreamRegistry } from "../upstream/registry";
import type { BlobFill } from "./blob-fill";
import { upstreamConfigOf } from "./config";
import { makeRoomFor } from "./eviction";
import { openUpstream, upstreamRepository } from "./upstream";

/** What a push into a cache organization meets once its token outlived the change (src/middleware/access.ts). */
export const PROXY_CACHE_PUSH_DENIED = "pushes into a proxy cache organization are not allowed";

/**
 * A pull renews a tag's expiration only once it has run down by this much (or by a tenth of
 * `expiration_s`, when shorter): at most one write a minute per hot tag instead of one per pull.
 */
export const RENEW_SLACK_MS = 60_000;

/** Manifest bytes older than this are written again when cached (prepareManifest's rule, under the GC's grace). */
const REWRITE_AFTER_MS = 5 * 60 * 1000;

export interface ProxyPullContext {
  env: Env;
  /** `DB`: the cache's repositories (created there by their first pull). */
  db: Db;
  /** The request's client over the cache organization's core (src/middleware/db-session.ts). */
  core: CoreClient;
  store: BlobStore;
  events: EventScope;
  config: ProxyCacheConfig;
}

export function proxiedPulls(context: ProxyPullContext): PullSource {
  const { env, db, store, events, config } = context;
  let core = context.core;
  let stored = storedPulls(core.db, db, store);
  let client: Promise<{ upstream: UpstreamRegistry; namespace: string | null }> | undefined;
  const upstream = () => {
    client ??= upstreamConfigOf(env, config).then((c) => ({ upstream: openUpstream(env, c), namespace: c.namespace }));
    return client;
  };
  const expirationMs = config.expirationS * 1000;
  const endFrom = (nowMs: number) => (expirationMs > 0 ? nowMs + expirationMs : null);

  /** Fetches the manifest `digest` upstream and commits it into the cache repository, under `tag`. */
  async function cache(repository: string, found: Repository | undefined, digest: Digest, tag: string | null) {
    const { upstream: registry, namespace } = await upstream();
    const fetched = await askUpstream(() => registry.getManifest(upstreamRepository(repository, namespace), digest));
    if (!fetched || fetched instanceof UpstreamError || fetched.digest !== digest)
      throw upstreamManifestUnavailable(tag === null ? { kind: "digest", digest } : { kind: "tag", tag }, fetched);
    const parsed = parseManifest(fetched.bytes, fetched.mediaType);
    await makeRoomFor(env, db, core.db, namespaceOf(repository), fetched.bytes, events.origin, config.createdAt);
    const key = contentKey(digest);
    // As a push does (src/registry/manifests.ts `prepareManifest`): bytes older than the garbage
    // collector's sweep may be about to go, so they are written again and outlive this commit.
    const writtenAt = await store.writtenAt(key);
    if (writtenAt === null || writtenAt < clock.now() - REWRITE_AFTER_MS)
      await store.putVerified(key, fetched.bytes, digestHex(digest));
    const target = found ?? (await cacheRepository(db, repository, events));
    const ref = { id: target.id, name: target.name };
    // The commit writes where the directory puts the organization's core, which a namespace not
    // placed when this request began may be placed on now (src/db/core-shards.ts): what this
    // request serves next is read there.
    const written = await writableCore(env, ref);
    if (written.shard !== core.shard) {
      core = written;
      stored = storedPulls(core.db, db, store);
    }
    const commit = { repository: ref, digest, size: fetched.bytes.byteLength, parsed, tag, origin: events.origin };
    const queueScan = readConfig(env).FEATURE_SECURITY_SCANNER;
    unwrap(
      await repositoryObject(env, repository).commitProxiedManifest({
        ...commit,
        endMs: endFrom(clock.now()),
        queueScan,
      }),
    );
  }

  return {
    async openManifest(repository, request) {
      const { reference } = request;
      if (!reference) return stored.openManifest(repository, request);
      const found = await findRepository(db, repository);
      if (reference.kind === "digest") {
        const held = found && (await lookupManifest(core.db, { id: found.id }, reference));
        if (!held) await cache(repository, found, reference.digest, null);
        return stored.openManifest(repository, request);
      }
      const nowMs = clock.now();
      const cached = found && (await findAliveTag(core.db, found.id, reference.tag, nowMs));
      const { upstream: registry, namespace } = await upstream();
      const head = await askUpstream(() =>
        registry.headManifest(upstreamRepository(repository, namespace), reference.tag),
      );
      if (head && !(head instanceof UpstreamError)) {
        if (cached && cached.digest === head.digest) {
          const endMs = endFrom(nowMs);
          // A tenth of a short expiration, so that a cache of seconds still renews on every pull.
          const slack = Math.min(RENEW_SLACK_MS, expirationMs / 10);
          const due = cached.lifetimeEndMs !== null && (endMs === null || cached.lifetimeEndMs < endMs - slack);
          if (due) {
            const ref = { id: found!.id, name: found!.name };
            unwrap(await repositoryObject(env, repository).renewProxiedTag(ref, reference.tag, head.digest, endMs));
          }
        } else {
          await cache(repository, found, head.digest, reference.tag);
        }
        return stored.openManifest(repository, request);
      }
      // Quay: upstream unreachable (or the tag gone from it), the cache answers while the tag is alive.
      if (cached) return stored.openManifest(repository, request);
      throw upstreamManifestUnavailable(reference, head);
    },

    async openBlob(repository, digest, request) {
      try {
        return await stored.openBlob(repository, digest, request);
      } catch (err) {
        if (!(err instanceof DomainError && err.kind === "not_found")) throw err;
        const found = await findRepository(db, repository);
        if (!found || !(await namedByManifest(core.db, found.id, digest))) throw err;
        const { namespace } = await upstream();
        const fill: BlobFill = {
          repositoryId: found.id,
          repositoryName: found.name,
          digest,
          upstreamRepository: upstreamRepository(repository, namespace),
        };
        unwrap(await proxyBlobObject(env, namespaceOf(repository), digest).fill(config, fill, events.origin));
        return stored.openBlob(repository, digest, request);
      }
    },
  };
}

/** The lock of `digest` in the cache organization `namespace` (durable-objects/ProxyBlobDO.ts). */
function proxyBlobObject(env: Env, namespace: string, digest: Digest) {
  return env.PROXY_BLOB.get(env.PROXY_BLOB.idFromName(`${namespace}@${digest}`));
}

/** The upstream's answer, or the UpstreamError it failed with (other errors propagate). */
async function askUpstream<T>(ask: () => Promise<T>): Promise<T | UpstreamError> {
  try {
    return await ask();
  } catch (err) {
    if (err instanceof UpstreamError) {
      console.warn(JSON.stringify({ msg: "proxy cache upstream failed", kind: err.kind, err: err.message }));
      return err;
    }
    throw err;
  }
}

/** MANIFEST_UNKNOWN, saying why: the upstream has no such manifest, or could not be asked and nothing alive is cached. */
function upstreamManifestUnavailable(reference: ManifestReference, answer: unknown): DomainError {
  const failed = answer instanceof UpstreamError;
  const detail = reference.kind === "tag" ? { tag: reference.tag } : { digest: reference.digest };
  return new DomainError("not_found", {
    subject: "manifest",
    message: failed
      ? "the upstream registry is unavailable and no unexpired cached copy exists"
      : "manifest unknown to the upstream registry",
    detail: failed ? { ...detail, upstream: answer.kind } : detail,
  });
}

/** The cache repository, created by its first pull as Quay does (private; the puller gets no grant). */
async function cacheRepository(db: Db, name: string, events: EventScope): Promise<Repository> {
  const reserved = reservedComponent(name);
  if (reserved) throw reservedNameError(name, reserved);
  const outcome = await createRepository(
    db,
    { name, visibility: "private", description: null, kind: "image", creator: null },
    events,
  );
  if (outcome.ok) return outcome.repository;
  const winner = outcome.reason === "exists" ? await findRepository(db, name) : undefined;
  if (!winner) throw new DomainError("not_found", { subject: "repository", detail: { name } });
  return winner;
}

/** Whether a live manifest of the repository names `digest` as a blob: only those are fetched. */
async function namedByManifest(db: Db, repositoryId: number, digest: Digest): Promise<boolean> {
  const row = await db
    .select({ one: sql<number>`1` })
    .from(manifestReferences)
    .innerJoin(manifests, eq(manifests.id, manifestReferences.manifestId))
    .where(
      and(
        eq(manifests.repositoryId, repositoryId),
        isNull(manifests.deletedAt),
        eq(manifestReferences.digest, digest),
        eq(manifestReferences.kind, "blob"),
      ),
    )
    .limit(1)
    .get();
  return row !== undefined;
}
