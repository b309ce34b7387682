/**
 * Reading builds (Quay's data/model/build.py): one by uuid with what its views need (its
 * repository, trigger and pull robot), a repository's newest first (`limit`, `since`), and the
 * phases Quay groups them by. Writes are queue.ts (queueing), cancel.ts and build-job.ts (the
 * connector's reports).
 */
import { and, desc, eq, gte } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import {
  type BuildTrigger,
  buildTriggers,
  type RepositoryBuild,
  repositories,
  repositoryBuilds,
  users,
} from "../db/schema";
import type { BuildJobConfig } from "./queue";

export type BuildPhase = RepositoryBuild["phase"];

/** Phases after which nothing changes (Quay's BUILD_PHASE.is_terminal_phase, with Wharf's `expired`). */
export const TERMINAL_PHASES: readonly BuildPhase[] = ["complete", "error", "internalerror", "cancelled", "expired"];

/** Quay's PHASES_NOT_ALLOWED_TO_CANCEL_FROM: once pushing, a build runs to its end. */
export const UNCANCELLABLE_PHASES: readonly BuildPhase[] = ["pushing", ...TERMINAL_PHASES];

/** The phases a connector moves a build through, in order (Quay's builder reports them so). */
export const RUNNING_PHASES: readonly BuildPhase[] = [
  "waiting",
  "build-scheduled",
  "unpacking",
  "pulling",
  "building",
  "pushing",
];

export const isTerminal = (phase: BuildPhase) => TERMINAL_PHASES.includes(phase);

/** A build with its repository's name, its trigger and its pull robot's name. */
export interface BuildRecord {
  build: RepositoryBuild;
  repository: { id: number; name: string; namespace: string };
  trigger: BuildTrigger | null;
  pullRobot: string | null;
}

const pullRobot = alias(users, "pull_robot");

function recordQuery(db: Db) {
  return db
    .select({
      build: repositoryBuilds,
      repository: { id: repositories.id, name: repositories.name, namespace: repositories.namespace },
      trigger: buildTriggers,
      pullRobot: pullRobot.username,
    })
    .from(repositoryBuilds)
    .innerJoin(repositories, eq(repositories.id, repositoryBuilds.repositoryId))
    .leftJoin(buildTriggers, eq(buildTriggers.id, repositoryBuilds.triggerId))
    .leftJoin(pullRobot, eq(pullRobot.id, repositoryBuilds.pullRobotId));
}

/** The build `uuid`, or undefined. */
export async function findBuild(db: Db, uuid: string): Promise<BuildRecord | undefined> {
  const row = await recordQuery(db).where(eq(repositoryBuilds.uuid, uuid)).get();
  return row ?? undefined;
}

/** The build `uuid` if it belongs to repository `repositoryId` (Quay: 404 for another repository's). */
export async function findRepositoryBuild(db: Db, repositoryId: number, uuid: string) {
  const record = await findBuild(db, uuid);
  return record && record.repository.id === repositoryId ? record : undefined;
}

/** Quay's list_repository_builds: newest first, at most `limit`, started at or after `sinceMs`. */
export async function listBuilds(db: Db, repositoryId: number, limit: number, sinceMs: number | null) {
  const where = and(
    eq(repositoryBuilds.repositoryId, repositoryId),
    sinceMs === null ? undefined : gte(repositoryBuilds.startedAt, sinceMs),
  );
  return recordQuery(db)
    .where(where)
    .orderBy(desc(repositoryBuilds.startedAt), desc(repositoryBuilds.id))
    .limit(limit)
    .all();
}

/** The trigger's builds, newest first, at most `limit` (Quay's `list_trigger_builds`). */
export function listTriggerBuilds(db: Db, triggerId: number, limit: number): Promise<BuildRecord[]> {
  return recordQuery(db)
    .where(eq(repositoryBuilds.triggerId, triggerId))
    .orderBy(desc(repositoryBuilds.startedAt), desc(repositoryBuilds.id))
    .limit(limit)
    .all();
}

/** The build's job config; a row written by hand that does not parse reads as Quay's `{}`. */
export function jobConfigOf(build: RepositoryBuild): Partial<BuildJobConfig> {
  try {
    const parsed = JSON.parse(build.jobConfig) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as Partial<BuildJobConfig>) : {};
  } catch {
    return {};
  }
}

/** The digests a build pushed. */
export function manifestDigestsOf(build: RepositoryBuild): string[] {
  try {
    const parsed = JSON.parse(build.manifestDigests) as unknown;
    return Array.isArray(parsed) ? parsed.filter((d): d is string => typeof d === "string") : [];
  } catch {
    return [];
  }
}
