/**
 * One repository's mirror sync (Quay's `perform_mirror`, workers/repomirrorworker), run by the
 * EVENTS queue consumer for a `mirror_sync` job that the Cron Trigger queued for a due mirror
 * ({@link queueDueMirrors}, Quay's REPO_MIRROR_INTERVAL scan) or sync-now queued at once:
 * 1. claim the mirror (src/mirror/claims.ts): one sync per repository at a time;
 * 2. `repo_mirror_sync_started`; list the upstream's tags and keep those the rule's globs match;
 * 3. copy them one at a time, in order, skipping a tag whose upstream digest equals the local one,
 *    each `repo_mirror_sync_tag_success` or `_tag_failed`, and stop between tags once cancelled;
 * 4. remove the repository's tags that no longer match (Quay's `delete_obsolete_tags`);
 * 5. release the claim with SUCCESS or FAIL (retries, next start) and `repo_mirror_sync_success`
 *    or `_failed` (or `_failed` with verb `Cancelled` after a cancel, which released it already).
 * The three sync kinds also become the repository's notifications (src/notifications/spawn.ts).
 * Quay rolls back failed tags (REPO_MIRROR_ROLLBACK off): here a failed tag never moved.
 */
import { and, eq } from "drizzle-orm";
import { database, type Db } from "../db/client";
import { manifests, repoMirrorConfigs, repositories, tags, users } from "../db/schema";
import type { EventKind, RegistryEvent } from "../events/catalogue";
import { systemOrigin } from "../events/envelope";
import { eventStatement, publishEvents } from "../events/outbox";
import { decryptSecret } from "../identity/secrets";
import { clock } from "../lib/clock";
import { queueJob } from "../queues/jobs";
import { writableCoreDb } from "../registry/core-db";
import { TAG_PATTERN } from "../registry/reference";
import { repositoryEvent } from "../registry/repository-events";
import { aliveAt } from "../registry/tags";
import { R2BlobStore } from "../storage/r2-blob-store";
import { upstreamRegistry } from "../upstream/client";
import type { UpstreamConfig, UpstreamRegistry } from "../upstream/registry";
import { cancelled, claimMirror, dueMirrors, releaseMirror } from "./claims";
import type { ExternalRegistryConfig } from "./config-view";
import { type CopyTarget, copyTag, removeTag } from "./copy";
import { parseExternalReference } from "./external-reference";
import { tagRuleMatcher } from "./tag-globs";
import { loggableError } from "../lib/loggable-error";

type SyncKind = Extract<EventKind, `repo_mirror_sync_${string}`>;
export type UpstreamFactory = (config: UpstreamConfig) => UpstreamRegistry;

/** Queues a `mirror_sync` job for each mirror due at `nowMs` (the Cron Trigger's step). */
export async function queueDueMirrors(env: Env, nowMs: number): Promise<number> {
  const due = await dueMirrors(database(env.DB), nowMs);
  for (const mirror of due) await queueJob(env, { type: "mirror_sync", repositoryId: mirror.repositoryId });
  return due.length;
}

/** Records one sync event (an action-log entry; the three sync kinds notify) and publishes it. */
async function emit(
  env: Env,
  db: Db,
  repository: { id: number; name: string },
  kind: SyncKind,
  report: { verb: string; message: string; tag?: string | null; tags?: string | null },
): Promise<void> {
  const data = {
    verb: report.verb,
    message: report.message.slice(0, 2048),
    tag: report.tag ?? null,
    tags: report.tags?.slice(0, 8192) ?? null,
  };
  const event: RegistryEvent = repositoryEvent(kind, repository, systemOrigin("mirror"), data, clock.now());
  await db.batch([eventStatement(db, event)]);
  await publishEvents(env, [event]);
}

/** The local tags (alive, visible) and their digests. */
async function localDigests(db: Db, repositoryId: number, nowMs: number): Promise<Map<string, string>> {
  const rows = await db
    .select({ name: tags.name, digest: manifests.digest })
    .from(tags)
    .innerJoin(manifests, eq(manifests.id, tags.manifestId))
    .where(and(eq(tags.repositoryId, repositoryId), eq(tags.hidden, false), aliveAt(nowMs)))
    .all();
  return new Map(rows.map((r) => [r.name, r.digest]));
}

/**
 * Runs the sync of repository `repositoryId` if its mirror is eligible and this run wins the
 * claim; the final status, or null when there was nothing to run.
 */
export async function runMirrorSync(
  env: Env,
  repositoryId: number,
  upstreamFor: UpstreamFactory = (config) => upstreamRegistry(env, config),
): Promise<"SUCCESS" | "FAIL" | "CANCEL" | null> {
  const db = database(env.DB);
  const token = await claimMirror(db, repositoryId, clock.now());
  if (!token) return null;
  const row = await db
    .select({ config: repoMirrorConfigs, name: repositories.name, robotName: users.username })
    .from(repoMirrorConfigs)
    .innerJoin(repositories, eq(repositories.id, repoMirrorConfigs.repositoryId))
    .leftJoin(users, eq(users.id, repoMirrorConfigs.robotUserId))
    .where(eq(repoMirrorConfigs.repositoryId, repositoryId))
    .get();
  if (!row) return null;
  const { config } = row;
  const repository = { id: repositoryId, name: row.name };
  const globs = JSON.parse(config.ruleValue) as string[];
  const pattern = `'${config.externalReference}' with tag pattern '${globs.join(",")}'`;
  const fail = async (message: string, tagsText: string) => {
    await emit(env, db, repository, "repo_mirror_sync_failed", { verb: "end", message, tags: tagsText });
    await releaseMirror(db, repositoryId, token, "FAIL", clock.now());
    return "FAIL" as const;
  };

  await emit(env, db, repository, "repo_mirror_sync_started", { verb: "start", message: pattern });
  const reference = parseExternalReference(config.externalReference);
  if ("problem" in reference || config.robotUserId === null || row.robotName === null) {
    const why = "problem" in reference ? "Source registry location is not allowed" : "no mirror robot";
    return fail(`${pattern}: ${why}`, "");
  }
  const settings = JSON.parse(config.externalRegistryConfig) as ExternalRegistryConfig;
  const username = config.sealedUsername && (await decryptSecret(env, config.sealedUsername));
  const password = config.sealedPassword && (await decryptSecret(env, config.sealedPassword));
  const upstream = upstreamFor({
    host: reference.host,
    // A Worker cannot skip certificate checks: verify_tls false means plain HTTP (README).
    insecure: settings.verify_tls === false,
    credentials: username ? { username, password: password ?? "" } : undefined,
  });

  let matching: string[];
  try {
    const all = (await upstream.listTags(reference.repository)) ?? [];
    const matches = tagRuleMatcher(globs);
    // An upstream's list is input: only names a tag can have are considered (distribution's grammar).
    matching = [
      ...new Set(all.filter((tag) => typeof tag === "string" && TAG_PATTERN.test(tag) && matches(tag))),
    ].sort();
  } catch (err) {
    return fail(`${pattern}: ${String(err instanceof Error ? err.message : err)}`, "");
  }

  // The repository's tags and blob links are in its namespace's core database (shadows made there).
  const core = await writableCoreDb(env, repository);
  const target: CopyTarget = {
    env,
    db,
    core,
    store: new R2BlobStore(env.BLOBS),
    repository,
    upstreamRepository: reference.repository,
    robot: { id: config.robotUserId, name: row.robotName },
  };
  const local = await localDigests(core, repositoryId, clock.now());
  const failed: string[] = [];
  let wasCancelled = false;
  for (const tag of matching) {
    if (await cancelled(db, repositoryId)) {
      wasCancelled = true;
      break;
    }
    const source = `${config.externalReference}:${tag}`;
    try {
      const head = local.has(tag) ? await upstream.headManifest(reference.repository, tag) : null;
      if (head && head.digest === local.get(tag)) continue;
      await copyTag(target, upstream, tag);
      await emit(env, db, repository, "repo_mirror_sync_tag_success", {
        verb: "finish",
        message: `Source '${source}' successful sync`,
        tag,
      });
    } catch (err) {
      failed.push(tag);
      console.error(
        JSON.stringify({ msg: "mirror tag failed", repository: repository.name, tag, err: loggableError(err) }),
      );
      await emit(env, db, repository, "repo_mirror_sync_tag_failed", {
        verb: "finish",
        message: `Source '${source}' failed to sync`,
        tag,
      });
    }
  }
  if (wasCancelled || (await cancelled(db, repositoryId))) {
    await emit(env, db, repository, "repo_mirror_sync_failed", {
      verb: "Cancelled",
      message: pattern,
      tags: matching.join(", "),
    });
    return "CANCEL";
  }
  // Quay's delete_obsolete_tags: the repository holds only what the rule matches.
  const wanted = new Set(matching);
  for (const tag of local.keys()) {
    if (wanted.has(tag)) continue;
    try {
      await removeTag(target, tag);
    } catch (err) {
      console.error(
        JSON.stringify({ msg: "mirror tag not removed", repository: repository.name, tag, err: loggableError(err) }),
      );
    }
  }
  if (failed.length > 0) {
    const partial = failed.length < matching.length;
    const listed = partial ? matching.map((t) => (failed.includes(t) ? `${t}(FAILED)` : t)).join(", ") : "";
    return fail(partial ? `${pattern}: PARTIAL SYNC` : pattern, listed);
  }
  const tagsText = matching.length === 0 ? "No tags matched" : matching.join(", ");
  await emit(env, db, repository, "repo_mirror_sync_success", { verb: "end", message: pattern, tags: tagsText });
  await releaseMirror(db, repositoryId, token, "SUCCESS", clock.now());
  return "SUCCESS";
}
