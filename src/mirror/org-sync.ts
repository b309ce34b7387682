/**
 * An organization mirror's discovery (Quay's `perform_org_mirror_discovery`,
 * workers/repomirrorworker), run by the EVENTS queue consumer for an `org_mirror_sync` job that the
 * Cron Trigger queued for a due mirror ({@link queueDueOrgMirrors}) or sync-now / cancel queued:
 * 1. a cancelled mirror: its repositories' mirrors are cancelled (Quay's `propagate_status_to_repos`)
 *    and `org_mirror_sync_failed` says how many; nothing is listed;
 * 2. otherwise claim it (one discovery per organization at a time, claims as src/mirror/claims.ts),
 *    `org_mirror_sync_started`, list the source namespace (src/mirror/org-sources.ts) and keep the
 *    names `repository_filters` match (the repository mirror's glob matcher);
 * 3. each name not yet discovered becomes a repository of the organization (the configured
 *    visibility, the robot its creator) in state MIRROR with a repository mirror of every tag
 *    (`*`, Quay's org worker copies all tags) from `<host>/<namespace>/<name>`, the organization's
 *    credentials, interval and timeout; `org_mirror_repo_created` (or `_failed`, kept with its
 *    message). Names found before are left as they are, as Quay's `sync_discovered_repos` does;
 * 4. the repository mirror engine (src/mirror/sync.ts) syncs them: new ones are queued at once,
 *    and after a sync-now every one is set SYNC_NOW and queued (Quay propagates SYNC_NOW);
 * 5. `org_mirror_sync_success` ("Discovery completed: N repos discovered, M new") and release, or
 *    `org_mirror_sync_failed` and a spent retry.
 * At most {@link CREATE_BATCH} repositories are created per run (a queue invocation's subrequests
 * are bounded); the rest are created by the next run, due at once.
 */
import { and, eq, ne, sql } from "drizzle-orm";
import { database, type Db } from "../db/client";
import { orgMirrorConfigs, orgMirrorRepositories, repoMirrorConfigs, users } from "../db/schema";
import { type EventKind, newEvent, type RegistryEvent } from "../events/catalogue";
import { systemOrigin } from "../events/envelope";
import { eventStatement, publishEvents } from "../events/outbox";
import { clock } from "../lib/clock";
import { queueJob } from "../queues/jobs";
import { MAX_SYNC_RETRIES } from "./configs";
import { claimOrgMirror, dueOrgMirrors, releaseOrgMirror } from "./org-claims";
import { type OrgMirrorRegistryConfig, unsealedCredentials } from "./org-configs";
import { createMirroredRepository, type DiscoveryContext } from "./org-repositories";
import { listSourceRepositories, SourceError } from "./org-sources";
import { tagRuleMatcher } from "./tag-globs";

/** Repositories created per discovery run at most. */
export const CREATE_BATCH = 25;

type DiscoveryKind = Extract<
  EventKind,
  `org_mirror_sync_${"started" | "success" | "failed"}` | `org_mirror_repo_${string}`
>;
export type SourceLister = typeof listSourceRepositories;

/** Queues an `org_mirror_sync` job for each organization mirror due at `nowMs` (the Cron Trigger's step). */
export async function queueDueOrgMirrors(env: Env, nowMs: number): Promise<number> {
  const due = await dueOrgMirrors(database(env.DB), nowMs);
  for (const mirror of due) await queueJob(env, { type: "org_mirror_sync", orgMirrorId: mirror.id });
  return due.length;
}

type Discovery = DiscoveryContext;

/** Records one discovery event (Quay's `_emit_org_config_log`: performer the robot) and publishes it. */
async function emit(d: Discovery, kind: DiscoveryKind, message: string, repositoryName?: string): Promise<void> {
  const event: RegistryEvent = newEvent(
    kind,
    { namespace: d.org.name, repository: null },
    d.origin,
    {
      message: message.slice(0, 2048),
      org_mirror_config_id: d.config.id,
      external_registry_url: d.config.registryUrl,
      external_namespace: d.config.externalNamespace,
      ...(repositoryName === undefined ? {} : { repository_name: repositoryName }),
    },
    clock.now(),
  );
  await d.db.batch([eventStatement(d.db, event)]);
  await publishEvents(d.env, [event]);
}

/** The repository mirrors of the organization mirror's discovered repositories. */
const discoveredMirrors = (orgMirrorId: number) =>
  sql`${repoMirrorConfigs.repositoryId} in (select ${orgMirrorRepositories.repositoryId} from ${orgMirrorRepositories} where ${orgMirrorRepositories.orgMirrorId} = ${orgMirrorId})`;

/** Quay's `propagate_status_to_repos(CANCEL)`: every discovered repository's mirror stops until a sync-now. */
async function propagateCancel(db: Db, orgMirrorId: number): Promise<number> {
  const rows = await db
    .update(repoMirrorConfigs)
    .set({
      syncStatus: "CANCEL",
      syncStartDate: null,
      syncExpirationDate: null,
      syncRetriesRemaining: 0,
      syncTransactionId: sql`lower(hex(randomblob(16)))`,
    })
    .where(and(discoveredMirrors(orgMirrorId), ne(repoMirrorConfigs.syncStatus, "CANCEL")))
    .returning({ repositoryId: repoMirrorConfigs.repositoryId });
  return rows.length;
}

/** Quay's `propagate_status_to_repos(SYNC_NOW)`: every mirror not syncing now syncs at once. */
async function propagateSyncNow(env: Env, db: Db, orgMirrorId: number, nowMs: number): Promise<void> {
  const rows = await db
    .update(repoMirrorConfigs)
    .set({
      syncStatus: "SYNC_NOW",
      syncStartDate: nowMs,
      syncExpirationDate: null,
      syncRetriesRemaining: MAX_SYNC_RETRIES,
      syncTransactionId: sql`lower(hex(randomblob(16)))`,
    })
    .where(and(discoveredMirrors(orgMirrorId), ne(repoMirrorConfigs.syncStatus, "SYNCING")))
    .returning({ repositoryId: repoMirrorConfigs.repositoryId });
  for (const row of rows) await queueJob(env, { type: "mirror_sync", repositoryId: row.repositoryId });
}

/**
 * Runs organization mirror `orgMirrorId`'s discovery when it is eligible and this run wins the
 * claim (or its cancel); the final status, or null when there was nothing to run.
 */
export async function runOrgMirrorSync(
  env: Env,
  orgMirrorId: number,
  lister: SourceLister = listSourceRepositories,
): Promise<"SUCCESS" | "FAIL" | "CANCEL" | null> {
  const db = database(env.DB);
  const found = await db
    .select({ config: orgMirrorConfigs, orgName: users.username })
    .from(orgMirrorConfigs)
    .innerJoin(users, eq(users.id, orgMirrorConfigs.organizationId))
    .where(eq(orgMirrorConfigs.id, orgMirrorId))
    .get();
  if (!found) return null;
  const robot = found.config.robotUserId
    ? await db
        .select({ id: users.id, name: users.username })
        .from(users)
        .where(eq(users.id, found.config.robotUserId))
        .get()
    : undefined;
  const d: Discovery = {
    env,
    db,
    org: { id: found.config.organizationId, name: found.orgName },
    config: found.config,
    origin: robot ? { actor: { kind: "robot", id: robot.id, name: robot.name }, ip: null } : systemOrigin("mirror"),
  };
  if (found.config.syncStatus === "CANCEL") {
    const cancelled = await propagateCancel(db, orgMirrorId);
    await emit(d, "org_mirror_sync_failed", `Sync cancelled: ${cancelled} repos set to cancelled`);
    return "CANCEL";
  }
  const wasSyncNow = found.config.syncStatus === "SYNC_NOW";
  const token = await claimOrgMirror(db, orgMirrorId, clock.now());
  if (!token) return null;
  const fail = async (message: string) => {
    await emit(d, "org_mirror_sync_failed", message);
    await releaseOrgMirror(db, orgMirrorId, token, "FAIL", clock.now());
    return "FAIL" as const;
  };

  await emit(d, "org_mirror_sync_started", `Starting repository discovery for organization '${d.org.name}'`);
  const { config } = d;
  if (!robot) return fail("Failed to create registry adapter: no mirror robot");
  const credentials = await unsealedCredentials(env, config);
  if (!credentials) return fail("Failed to decrypt source registry credentials");

  let names: string[];
  try {
    const listed = await lister(env, {
      type: config.registryType,
      url: config.registryUrl,
      namespace: config.externalNamespace,
      ...credentials,
    });
    const filters = JSON.parse(config.repositoryFilters) as string[];
    const matches = filters.length === 0 ? () => true : tagRuleMatcher(filters);
    names = [...new Set(listed.filter(matches))];
  } catch (err) {
    if (!(err instanceof SourceError)) throw err;
    return fail(`Failed to fetch repositories from source: ${err.message}`);
  }

  // One query for every name found before (a chunked IN would cost a subrequest per 90 names).
  const rows = await db
    .select({ name: orgMirrorRepositories.repositoryName })
    .from(orgMirrorRepositories)
    .where(eq(orgMirrorRepositories.orgMirrorId, orgMirrorId))
    .all();
  const known = new Set(rows.map((row) => row.name));
  const fresh = names.filter((name) => !known.has(name));
  let created = 0;
  for (const name of fresh.slice(0, CREATE_BATCH)) {
    // A cancel (or a deletion) between repositories ends the run (Quay checks between tags).
    const now = await db
      .select({ status: orgMirrorConfigs.syncStatus, token: orgMirrorConfigs.syncTransactionId })
      .from(orgMirrorConfigs)
      .where(eq(orgMirrorConfigs.id, orgMirrorId))
      .get();
    // The cancel queued its own run, which carries it to the repository mirrors.
    if (now?.token !== token) return "CANCEL";
    const outcome = await createMirroredRepository(d, name, robot, {
      ...credentials,
      registry: JSON.parse(config.externalRegistryConfig) as OrgMirrorRegistryConfig,
    });
    if (outcome.ok) {
      created++;
      await emit(d, "org_mirror_repo_created", `Created repository '${d.org.name}/${name}'`, name);
      if (!wasSyncNow) await queueJob(env, { type: "mirror_sync", repositoryId: outcome.repositoryId });
    } else {
      await emit(d, "org_mirror_repo_failed", `Failed to create repository '${name}': ${outcome.message}`, name);
    }
  }
  if (wasSyncNow) await propagateSyncNow(env, db, orgMirrorId, clock.now());
  await emit(d, "org_mirror_sync_success", `Discovery completed: ${names.length} repos discovered, ${created} new`);
  await releaseOrgMirror(db, orgMirrorId, token, "SUCCESS", clock.now(), fresh.length > CREATE_BATCH);
  return "SUCCESS";
}
