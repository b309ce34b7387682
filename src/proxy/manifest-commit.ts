/**
 * What the proxy cache writes into a cache repository, under the repository's Durable Object lock
 * (durable-objects/RepositoryDO.ts), where pushes, tag writes and garbage collection of that
 * repository are ordered too.
 *
 * The written exception to "a manifest is visible once every blob it references is linked"
 * (src/registry/commit-reads.ts, the links re-read under the lock): a manifest fetched from the upstream is
 * committed at once, its blobs and child manifests being fetched only when a client asks for
 * them (Quay: "only layers requested by the client are cached"). Only proxy-cache organizations
 * get it, and only from here: no push reaches a cache (src/routes/v2/auth.ts). Readers that meet
 * a missing blob treat it as absent: garbage collection removes links and blobs, never adds them;
 * usage counts only stored bytes (src/gc/storage.ts joins `blobs`); a blob GET fills it first
 * (src/proxy/blob-fill.ts).
 *
 * Quay logs no action for what its cache stores (data/registry_model/registry_proxy_model.py):
 * the pull that caused it is the `pull_repo` it logs, and so these writes commit no event of
 * their own (only the quota crossings the bytes they bring cause, src/quota/).
 */
import { eq, type SQLWrapper } from "drizzle-orm";
import type { Db } from "../db/client";
import { eventOutbox, tags } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import { eventStatement } from "../events/outbox";
import { crossingEvents, type QuotaSettings } from "../quota/enforcement";
import { chargeStatements, type ManifestBytes } from "../quota/usage";
import { namespaceOf } from "../registry/repository-name";
import { DomainError } from "../errors/domain";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import type { Committed } from "../events/outbox";
import type { Digest } from "../lib/digest";
import type { ParsedManifest } from "../registry/manifest-parse";
import type { WriteClients } from "../registry/core-db";
import { commitManifestStatements, commitScanStatements, type ManifestCommit } from "../registry/manifests";
import { commitWithScanQueue } from "../secscan/queue";
import { findAliveTag, retargetTagStatements } from "../registry/tags";
import { repositoryWriteGuard } from "../registry/write-guard";

/** Quay's temporary tag for a manifest cached by digest (`_create_manifest_with_temp_tag`); no tag a client writes starts with `$`. */
const CACHED_BY_DIGEST_PREFIX = "$proxy-";

export interface ProxiedManifest {
  repository: RepositoryRef;
  digest: Digest;
  size: number;
  parsed: ParsedManifest;
  /** The tag pulled, or null for a manifest pulled by digest (an index's child). */
  tag: string | null;
  /** When the tag expires unless pulled again (now + `expiration_s`), or null (`expiration_s` 0). */
  endMs: number | null;
  origin: EventOrigin;
  /** FEATURE_SECURITY_SCANNER was on: the commit queues the manifest's scan, as a push's does. */
  queueScan?: boolean;
}

/**
 * Records a manifest fetched from the upstream and points the tag pulled at it (or a hidden tag),
 * in one batch that also charges the bytes it brings to the namespace and repository and writes
 * the quota crossings they cause, as a push's commit does (src/registry/manifest-writes.ts). No
 * Reject refusal: a cache makes room before it commits (src/proxy/eviction.ts). The guard reads
 * `DB`; the rest is the namespace's core (`clients.core`), as in a push.
 */
export async function commitProxiedManifest(
  clients: WriteClients,
  commit: ProxiedManifest,
  settings: QuotaSettings,
  nowMs: number,
): Promise<Committed<null>> {
  const { repository, digest, tag, endMs } = commit;
  const guard = await repositoryWriteGuard(clients.db, repository);
  if (!guard) throw new DomainError("not_found", { subject: "repository", detail: { name: repository.name } });
  const core = clients.core;
  const namespace = namespaceOf(repository.name);
  const bytes: ManifestBytes = { digest, size: commit.size, blobs: commit.parsed.blobs };
  const crossings = guard.quota ? crossingEvents(guard.quota, settings, namespace, bytes, commit.origin, nowMs) : [];
  // As in a push: the crossings read the usage before the charge raises it, and the charge counts
  // the references before the manifest's own are inserted.
  const crossingWrites = crossings.map(({ event, onlyIf, computed }) =>
    eventStatement(core, event, { onlyIf, computed }).returning({ body: eventOutbox.body }).getSQL(),
  );
  const manifest: ManifestCommit = {
    repositoryId: repository.id,
    repositoryName: repository.name,
    digest,
    size: commit.size,
    parsed: commit.parsed,
    tag,
    expiresAtMs: endMs,
    labels: [],
    firstPush: false,
    origin: commit.origin,
    queueScan: commit.queueScan === true,
  };
  const writes: SQLWrapper[] = [...commitManifestStatements(core, manifest)];
  if (tag === null) {
    const name = `${CACHED_BY_DIGEST_PREFIX}${crypto.randomUUID()}`;
    writes.push(...retargetTagStatements(core, repository.id, name, digest, undefined, nowMs, { endMs, hidden: true }));
  } else {
    const alive = await findAliveTag(core, repository.id, tag, nowMs);
    if (alive?.digest === digest) writes.push(renewStatement(core, alive.id, endMs));
    // The upstream moved the tag: the cache follows, whatever the tag was (Quay overrides a tag's
    // own expiration and immutability in a cache organization).
    else writes.push(...retargetTagStatements(core, repository.id, tag, digest, alive, nowMs, { endMs }));
  }
  const charges = chargeStatements(namespace, repository.id, bytes);
  const statements = [...crossingWrites, ...charges, ...writes.map((write) => write.getSQL())];
  const results = await commitWithScanQueue(clients, statements, commitScanStatements(clients.db, manifest));
  const crossed = crossingWrites.flatMap((_, i) =>
    (results[i]!.results as { body: string }[]).map((row) => JSON.parse(row.body) as RegistryEvent),
  );
  return { value: null, events: crossed };
}

/**
 * Quay resets a cached tag's expiration to `expiration_s` from now on every pull that found it
 * unchanged upstream ("the tag expiration is refreshed … every time the tag is pulled"). Only the
 * alive row still pointing at `digest` is renewed: a tag moved meanwhile is left alone.
 */
export async function renewProxiedTag(
  db: Db,
  repository: RepositoryRef,
  tag: string,
  digest: Digest,
  endMs: number | null,
  nowMs: number,
): Promise<Committed<boolean>> {
  const alive = await findAliveTag(db, repository.id, tag, nowMs);
  if (alive?.digest !== digest) return { value: false, events: [] };
  await renewStatement(db, alive.id, endMs);
  return { value: true, events: [] };
}

function renewStatement(db: Db, tagId: number, endMs: number | null) {
  return db.update(tags).set({ lifetimeEndMs: endMs }).where(eq(tags.id, tagId));
}
