/**
 * Builds from a trigger (Quay's `prepare_build` and `start_build` for a trigger): a push's or a
 * manual run's metadata becomes a build queued through {@link queueBuild}, with the tags the
 * trigger's config names, its Dockerfile path and context, and its pull robot. The connector clones
 * `trigger_metadata.git_url` at `commit` with the trigger's deploy key (the build job's handler
 * reads it from build_triggers by the build's trigger).
 */
import { desc, eq } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client";
import { type Repository, type RepositoryBuild, repositoryBuilds } from "../db/schema";
import { invalid } from "../errors/domain";
import type { EventScope } from "../events/outbox";
import { repositoryEvent } from "../registry/repository-events";
import { type BuildJobConfig, queueBuild } from "./queue";
import { determineTags, type TriggerMetadata } from "./trigger-rules";
import { storedConfig, type TriggerRow } from "./triggers";

/** Quay's `RunParameters` of a manual start (no other member allowed). */
export const runParametersSchema = z.strictObject({
  branch_name: z.string().min(1).max(1024).optional(),
  commit_sha: z.string().max(64).optional(),
  refs: z
    .object({ kind: z.enum(["branch", "tag"]), name: z.string().min(1).max(1024) })
    .nullable()
    .optional(),
});

export type RunParameters = z.infer<typeof runParametersSchema>;

/** A build refused because its trigger is disabled (Quay's BuildTriggerDisabledException). */
export class TriggerDisabled extends Error {
  override readonly name = "TriggerDisabled";
}

const relative = (path: string) => path.replace(/^\/+/, "");

/** The job config of a trigger build: paths relative to the source's root, as docs/connector.md has them. */
function jobConfig(row: TriggerRow, metadata: TriggerMetadata, manualUser: string | null): BuildJobConfig {
  const config = storedConfig(row.trigger);
  const dockerfile = relative(config.dockerfile_path ?? "/Dockerfile");
  const slash = dockerfile.lastIndexOf("/");
  return {
    docker_tags: determineTags(config, metadata),
    build_subdir: slash < 0 ? "" : dockerfile.slice(0, slash),
    context: relative(config.context ?? "/"),
    dockerfile_path: dockerfile,
    trigger_metadata: metadata as unknown as Record<string, unknown>,
    is_manual: manualUser !== null,
    manual_user: manualUser,
    archive_url: null,
  };
}

/**
 * Queues the build of `metadata` for trigger `row` of `repository`; a run by hand (`manual`, the
 * caller) also records `start_build_trigger` in the same batch. A disabled trigger builds nothing.
 */
export async function queueTriggerBuild(
  db: Db,
  events: EventScope,
  repository: Repository,
  row: TriggerRow,
  metadata: TriggerMetadata,
  manual: { id: number; name: string } | null,
): Promise<RepositoryBuild> {
  const { trigger } = row;
  if (!trigger.enabled) throw new TriggerDisabled();
  const ref = { id: repository.id, name: repository.name };
  const triggerRef = { uuid: trigger.uuid, service: trigger.service };
  return queueBuild(
    db,
    events,
    {
      repository: ref,
      displayName: metadata.commit.slice(0, 7),
      config: jobConfig(row, metadata, manual?.name ?? null),
      resourceKey: null,
      pullRobot:
        trigger.pullRobotId !== null && row.pullRobot ? { id: trigger.pullRobotId, name: row.pullRobot } : null,
      trigger: { id: trigger.id, ...triggerRef },
      performerId: manual?.id ?? null,
    },
    (build) =>
      manual ? [repositoryEvent("start_build_trigger", ref, events.origin, { trigger: triggerRef, build })] : [],
  );
}

const COMMIT = /^[A-Fa-f0-9]{7,}$/;

/**
 * Quay's `manual_start`. A custom git trigger builds the `commit_sha` asked for. A GitHub trigger
 * builds a branch or tag (`refs`, `branch_name`, else the default branch) at the head Wharf last
 * saw pushed: Wharf holds no GitHub OAuth token to ask GitHub for it, so a ref never pushed since
 * the trigger was set up cannot be run by hand.
 */
export async function manualMetadata(db: Db, row: TriggerRow, params: RunParameters): Promise<TriggerMetadata> {
  const config = storedConfig(row.trigger);
  if (row.trigger.service === "custom-git") {
    const commit = params.commit_sha;
    if (commit === undefined) throw invalid("missing required parameter");
    if (!COMMIT.test(commit)) throw invalid(`'${commit}' does not match '^([A-Fa-f0-9]{7,})$'`);
    return { commit, git_url: config.build_source ?? "" };
  }
  const pushes = await recentPushes(db, row.trigger.id);
  const defaultBranch = pushes.find((m) => m.default_branch)?.default_branch;
  const kind = params.refs?.kind ?? "branch";
  const name = params.refs?.name ?? params.branch_name ?? defaultBranch ?? "master";
  const ref = kind === "tag" ? `refs/tags/${name}` : `refs/heads/${name}`;
  const last = pushes.find((m) => m.ref === ref);
  if (!last) throw invalid(kind === "tag" ? "Could not find tag in repository" : "Could not find branch in repository");
  return { ...last, ...(defaultBranch ? { default_branch: defaultBranch } : {}) };
}

/** The metadata of the trigger's latest builds (the refs it was pushed or run with), newest first. */
export async function recentPushes(db: Db, triggerId: number): Promise<TriggerMetadata[]> {
  const rows = await db
    .select({ jobConfig: repositoryBuilds.jobConfig })
    .from(repositoryBuilds)
    .where(eq(repositoryBuilds.triggerId, triggerId))
    .orderBy(desc(repositoryBuilds.startedAt), desc(repositoryBuilds.id))
    .limit(100)
    .all();
  const out: TriggerMetadata[] = [];
  for (const { jobConfig } of rows) {
    try {
      const metadata = (JSON.parse(jobConfig) as BuildJobConfig).trigger_metadata as unknown as TriggerMetadata;
      if (typeof metadata?.commit === "string" && typeof metadata.ref === "string") out.push(metadata);
    } catch {
      // A row whose config does not parse tells nothing of a push.
    }
  }
  return out;
}
