/**
 * Manifest writes: committing a pushed manifest (with its tag, `push_repo`) and deleting one by
 * digest (`delete_manifest`). Both run under the repository's Durable Object lock
 * (durable-objects/RepositoryDO.ts), where tag writes and garbage collection also run, so what they
 * check there stays true until their batch commits; each commits its event with its change.
 */
import { and, eq, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { eventOutbox, manifests, tags } from "../db/schema";
import { DomainError } from "../errors/domain";
import { type Committed, eventStatement } from "../events/outbox";
import type { WriteClients } from "./core-db";
import {
  commitManifestStatements,
  commitScanStatements,
  type ManifestCommit,
  requireFound,
  resolveManifest,
} from "./manifests";
import { readForCommit } from "./commit-reads";
import type { Digest } from "./reference";
import { mayPushInState, readOnlyRepository } from "./repository-state";
import { repositoryEvent } from "./repository-events";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { immutableTag } from "./tag-writes";
import { aliveAt, retargetTagStatements } from "./tags";
import {
  type QuotaSettings,
  crossingEvents,
  isQuotaRefusal,
  quotaExceeded,
  refusalStatement,
  rejectBytes,
} from "../quota/enforcement";
import { chargeStatements, type ManifestBytes } from "../quota/usage";
import { namespaceOf } from "./repository-name";
import type { RegistryEvent } from "../events/catalogue";
import { commitWithScanQueue } from "../secscan/queue";

export interface ManifestWriteSettings extends QuotaSettings {
  /** PUSH_TEMP_TAG_EXPIRATION_SEC in milliseconds: how long a manifest pushed by digest is kept untagged. */
  tempTagMs: number;
}

/** Quay names the hidden tag that protects a manifest pushed by digest `$temp-…`; no tag can start with `$`. */
const TEMPORARY_TAG_PREFIX = "$temp-";

/**
 * Records a pushed manifest and, when pushed by tag, points the tag at it, in one D1 batch with
 * its `push_repo` event. Pushed by digest, it gets Quay's hidden temporary tag for `tempTagMs`
 * (PUSH_TEMP_TAG_EXPIRATION_SEC), so garbage collection spares it while the push goes on (an
 * index's children come before the index). Pushing the manifest a tag already points at leaves
 * the tag's history alone, as Quay does (the push is still one `push_repo`).
 *
 * The batch also charges the bytes the manifest brings to its namespace and repository
 * (src/quota/usage.ts), refuses them when they would pass the namespace's Reject limit, and
 * writes the quota crossings they cause (src/quota/enforcement.ts): all conditions the batch
 * evaluates itself, so a push that is refused leaves nothing, and concurrent pushes into one
 * namespace are charged and limited as if one after the other. None of it adds a D1 round trip:
 * the quota rules come with the write guard's read.
 *
 * The guard reads `DB` (state, mirror, policies, quota rules); everything else, the usage the
 * batch reads and charges included, is the namespace's core (`clients.core`: its shadow `users`
 * row counts the namespace's usage when that is a shard).
 */
export async function commitManifest(
  clients: WriteClients,
  commit: ManifestCommit,
  settings: ManifestWriteSettings,
  nowMs: number,
): Promise<Committed<{ tagMoved: boolean }>> {
  const repository: RepositoryRef = { id: commit.repositoryId, name: commit.repositoryName };
  // A repository deleted since the push began (deleteRepository, under this same lock) must not
  // get rows again: the push fails as if the name were unknown. One read also gives the state
  // (changed under this lock: READ_ONLY refuses) and the immutability policies. It goes in one
  // round trip with the reads below (src/registry/commit-reads.ts).
  const reads = await readForCommit(clients, repository, commit, nowMs);
  const guard = reads.guard;
  if (!guard) throw new DomainError("not_found", { subject: "repository", detail: { name: repository.name } });
  const core = clients.core;
  // In state MIRROR only the mirror's robot writes (Quay), whether through /v2 or the sync's ingest.
  const actor = commit.origin.actor;
  const writerId = actor.kind === "robot" || actor.kind === "user" ? actor.id : null;
  const mirrorSync = guard.state === "MIRROR" && commit.mirrorSync === true;
  if (!mirrorSync && !mayPushInState(guard.state, guard.mirrorRobotId, writerId))
    throw readOnlyRepository(repository.name, guard.state);
  // Checked before the lock too; again here because garbage collection removes manifests and a
  // blob DELETE unlinks blobs under this lock, so only this answer is certain. The proxy cache's
  // exception (ManifestCommit.referencesPending) commits before its references are all there.
  if (!commit.referencesPending) {
    requireFound(commit.parsed.manifests, reads.manifests);
    requireFound(commit.parsed.blobs, reads.linked);
  }
  const namespace = namespaceOf(repository.name);
  const bytes: ManifestBytes = { digest: commit.digest, size: commit.size, blobs: commit.parsed.blobs };
  const quota = guard.quota;
  const reject = quota ? rejectBytes(quota, settings) : null;
  const crossings = quota ? crossingEvents(quota, settings, namespace, bytes, commit.origin, nowMs) : [];
  // Order matters: the refusal and the crossings read the usage before the charge raises it, and
  // the charge counts the references before the manifest's own are inserted.
  const refusal = quota && reject !== null ? [refusalStatement(quota.namespaceId, namespace, bytes, reject)] : [];
  const crossingWrites = crossings.map(({ event, onlyIf, computed }) =>
    eventStatement(core, event, { onlyIf, computed }).returning({ body: eventOutbox.body }).getSQL(),
  );
  const charges = chargeStatements(namespace, repository.id, bytes);
  const writes: SQLWrapper[] = [...commitManifestStatements(core, commit)];
  let tagMoved = false;
  if (commit.tag !== null) {
    const alive = reads.alive;
    if (alive?.digest !== commit.digest) {
      if (alive?.immutable) throw immutableTag(commit.tag);
      // A tag an immutability policy covers is pushed immutable, and so cannot expire (quay.expires-after).
      const immutable = guard.immutableByPolicy(commit.tag);
      const endMs = immutable ? null : commit.expiresAtMs;
      const options = { endMs, immutable };
      writes.push(...retargetTagStatements(core, repository.id, commit.tag, commit.digest, alive, nowMs, options));
      tagMoved = true;
    }
  } else {
    const name = `${TEMPORARY_TAG_PREFIX}${crypto.randomUUID()}`;
    const temporary = { endMs: nowMs + settings.tempTagMs, hidden: true };
    writes.push(...retargetTagStatements(core, repository.id, name, commit.digest, undefined, nowMs, temporary));
  }
  const { userAgent } = commit.origin;
  const data = {
    digest: commit.digest,
    mediaType: commit.parsed.mediaType,
    tag: commit.tag,
    ...(userAgent === undefined ? {} : { userAgent }),
  };
  const event = repositoryEvent("push_repo", repository, commit.origin, data, nowMs);
  writes.push(eventStatement(core, event));
  const statements: SQL[] = [...refusal, ...crossingWrites, ...charges, ...writes.map((write) => write.getSQL())];
  const results = await commitWithScanQueue(clients, statements, commitScanStatements(clients.db, commit)).catch(
    (err: unknown) => {
      if (isQuotaRefusal(err)) throw quotaExceeded(namespace);
      throw err;
    },
  );
  // The crossings the batch wrote, as it wrote them (their usage computed by the batch).
  const crossed = crossingWrites.flatMap((_, i) =>
    (results[refusal.length + i]!.results as { body: string }[]).map((row) => JSON.parse(row.body) as RegistryEvent),
  );
  return { value: { tagMoved }, events: [...crossed, event] };
}

/** Tag names an event lists at most (a manifest can have thousands of tags). */
const LISTED_TAGS = 100;

/**
 * Deletes a manifest by digest (`DELETE /v2/<name>/manifests/<digest>`): ends every alive tag
 * pointing at it and hides it from /v2, as Quay does, with its `delete_manifest` event. Its row
 * stays for the tag history; garbage collection reclaims it later. Refused while an immutable tag
 * points at it.
 */
export async function deleteManifest(
  db: Db,
  repository: RepositoryRef,
  digest: Digest,
  origin: EventOrigin,
  nowMs: number,
): Promise<Committed<null>> {
  const manifest = await resolveManifest(db, repository.id, { kind: "digest", digest });
  const pointing = and(eq(tags.repositoryId, repository.id), eq(tags.manifestId, manifest.id), aliveAt(nowMs));
  const alive = await db
    .select({ name: tags.name, immutable: tags.immutable, hidden: tags.hidden })
    .from(tags)
    .where(pointing)
    .all();
  const immutable = alive.find((tag) => tag.immutable);
  if (immutable) throw immutableTag(immutable.name);
  const ended = alive.filter((tag) => !tag.hidden).map((tag) => tag.name);
  const data = { digest, tags: ended.sort().slice(0, LISTED_TAGS) };
  const event = repositoryEvent("delete_manifest", repository, origin, data, nowMs);
  await db.batch([
    db
      .update(tags)
      .set({ lifetimeEndMs: sql`max(${nowMs}, ${tags.lifetimeStartMs})` })
      .where(pointing),
    db.update(manifests).set({ deletedAt: nowMs }).where(eq(manifests.id, manifest.id)),
    eventStatement(db, event),
  ]);
  return { value: null, events: [event] };
}
