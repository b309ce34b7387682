/**
 * Queueing a Dockerfile build (Quay's `start_build` in endpoints/building.py): the build's row,
 * its job for the connectors and its `build_dockerfile` event commit in one batch, so a build is
 * never queued without its job nor its notification. Every way a build starts goes through
 * {@link queueBuild}: the API's requestRepoBuild, a trigger's webhook, a trigger run by hand.
 */
import type { Db } from "../db/client";
import { runBatch } from "../db/client";
import { type RepositoryBuild, repositoryBuilds } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import type { RepositoryRef } from "../events/envelope";
import { eventStatement, type EventScope } from "../events/outbox";
import { clock } from "../lib/clock";
import { queueJobStatement } from "../connector/job-queue";
import { repositoryEvent } from "../registry/repository-events";
import { eq } from "drizzle-orm";

/** Quay's job config of a build (`job_config` JSON), as stored in `jobConfig`. */
export interface BuildJobConfig {
  docker_tags: string[];
  /** The Dockerfile's directory in the source (Quay's `build_subdir`, `dockerfile_path`'s directory). */
  build_subdir: string;
  /** The build context's directory in the source. */
  context: string;
  /** The Dockerfile's path in the source, when not `<build_subdir>/Dockerfile`. */
  dockerfile_path?: string;
  trigger_metadata: Record<string, unknown>;
  is_manual: boolean;
  manual_user: string | null;
  archive_url: string | null;
}

export interface BuildRequest {
  repository: RepositoryRef;
  displayName: string;
  config: BuildJobConfig;
  /** The filedrop (`file_id`) the source was uploaded as, if any. */
  resourceKey: string | null;
  pullRobot: { id: number; name: string } | null;
  trigger: { id: number; uuid: string; service: "custom-git" | "github" } | null;
  /** The account that asked (a manual build); null for a trigger's push. */
  performerId: number | null;
}

/**
 * Queues the build `request` describes: its row (phase `waiting`), its `build` job and its
 * `build_dockerfile` event (which notifies `build_queued`), in one batch, then publishes the event.
 * The caller has checked the caller's rights, the tags and the source. `alsoEvents` are events of
 * the same change that name the new build (a trigger run by hand: `start_build_trigger`), committed
 * and published with it.
 */
export async function queueBuild(
  db: Db,
  scope: EventScope,
  request: BuildRequest,
  alsoEvents: (buildUuid: string) => RegistryEvent[] = () => [],
): Promise<RepositoryBuild> {
  const uuid = crypto.randomUUID();
  const now = clock.now();
  const event = repositoryEvent(
    "build_dockerfile",
    request.repository,
    scope.origin,
    buildEventFields(uuid, request),
    now,
  );
  const more = alsoEvents(uuid);
  await runBatch(db, [
    db.insert(repositoryBuilds).values({
      uuid,
      repositoryId: request.repository.id,
      phase: "waiting",
      displayName: request.displayName,
      jobConfig: JSON.stringify(request.config),
      resourceKey: request.resourceKey,
      pullRobotId: request.pullRobot?.id ?? null,
      triggerId: request.trigger?.id ?? null,
      performerId: request.performerId,
      startedAt: now,
    }),
    queueJobStatement(db, { kind: "build", subject: uuid, repositoryId: request.repository.id, availableAt: now }),
    eventStatement(db, event),
    ...more.map((e) => eventStatement(db, e)),
  ]);
  scope.publish([event, ...more]);
  const row = await db.select().from(repositoryBuilds).where(eq(repositoryBuilds.uuid, uuid)).get();
  if (!row) throw new Error(`build ${uuid} vanished after its insert`);
  return row;
}

/** The fields every build event carries (src/events/build-catalogue.ts `buildFields`). */
export function buildEventFields(uuid: string, request: Pick<BuildRequest, "displayName" | "config" | "trigger">) {
  return {
    build: uuid,
    displayName: request.displayName,
    dockerTags: request.config.docker_tags,
    trigger: request.trigger ? { uuid: request.trigger.uuid, service: request.trigger.service } : null,
    triggerMetadata: request.config.is_manual ? null : request.config.trigger_metadata,
    manualUser: request.config.manual_user,
  };
}
