/**
 * Quay's build JSON (endpoints/api/build.py `build_status_view`, `trigger_view(for_build=True)`,
 * `user_view`), as `GET …/build/`, `…/build/{uuid}`, `…/status` and the superuser's build views
 * answer it. What the caller may see follows its rights on the repository, as Quay's: the
 * trigger's source and the trigger metadata to readers, the trigger's config to admins, the
 * archive URL to writers.
 */
import { quayDate } from "../identity/app-tokens";
import { type BuildRecord, jobConfigOf } from "./builds";
import { storedConfig } from "./triggers";

/** The caller's rights on the build's repository (Quay's Read/Modify/AdministerRepositoryPermission). */
export interface BuildViewer {
  canRead: boolean;
  canWrite: boolean;
  canAdmin: boolean;
}

/** Quay's `_get_build_status` phase: an internal error with no retries left shows as `expired`. */
export function displayedPhase(phase: BuildRecord["build"]["phase"]): string {
  return phase === "internalerror" ? "expired" : phase;
}

/**
 * Where a trigger's source lives (Quay's `get_repository_url`): a GitHub repository's page; a
 * custom git trigger's handler answers None.
 */
export function repositoryUrl(service: string, buildSource: unknown): string | null {
  if (typeof buildSource !== "string" || buildSource === "" || service !== "github") return null;
  return `https://github.com/${buildSource}`;
}

/** Quay's `user_view` of a robot (a build's or a trigger's pull robot). */
export const robotView = (name: string) => ({ name, kind: "user", is_robot: true });

/** A repository admin's rights (the trigger routes' callers: Quay's `require_repo_admin`). */
export const ADMIN_VIEWER: BuildViewer = { canRead: true, canWrite: true, canAdmin: true };

function triggerView(record: BuildRecord, viewer: BuildViewer) {
  const trigger = record.trigger;
  if (!trigger) return null;
  const config = storedConfig(trigger);
  const canRead = viewer.canRead || viewer.canAdmin;
  return {
    id: trigger.uuid,
    service: trigger.service,
    is_active: trigger.isActive,
    build_source: canRead ? (config.build_source ?? null) : null,
    repository_url: canRead ? repositoryUrl(trigger.service, config.build_source) : null,
    config: viewer.canAdmin ? config : {},
    can_invoke: viewer.canAdmin,
    enabled: trigger.enabled,
    disabled_reason: trigger.disabledReason,
  };
}

/** The Dockerfile's path as Quay's job config holds it (`/Dockerfile`, `/sub/Dockerfile`). */
export function dockerfilePathOf(config: ReturnType<typeof jobConfigOf>): string {
  if (config.dockerfile_path) return withSlash(config.dockerfile_path);
  const dir = (config.build_subdir ?? "").replace(/^\/+|\/+$/g, "");
  return dir ? `/${dir}/Dockerfile` : "/Dockerfile";
}

const withSlash = (path: string) => (path.startsWith("/") ? path : `/${path}`);

/**
 * The build's JSON; `fileUrl` is the download link of its uploaded file, which Quay shows writers
 * as `archive_url` (the caller signs it: ./filedrop.ts `filedropDownloadUrl`).
 */
export function buildView(record: BuildRecord, viewer: BuildViewer, fileUrl?: string) {
  const { build, repository } = record;
  const config = jobConfigOf(build);
  const dockerfilePath = dockerfilePathOf(config);
  const view: Record<string, unknown> = {
    id: build.uuid,
    phase: displayedPhase(build.phase),
    started: quayDate(build.startedAt),
    display_name: build.displayName,
    // Quay's live status (heartbeat, command counts) comes from its build manager's Redis; the
    // connector reports phases and log lines only.
    status: {},
    // Quay answers the Dockerfile's path in both fields (its job config's `build_subdir`).
    subdirectory: dockerfilePath,
    dockerfile_path: dockerfilePath,
    context: withSlash(config.context ?? ""),
    tags: config.docker_tags ?? [],
    manual_user: config.manual_user ?? null,
    is_writer: viewer.canWrite,
    trigger: triggerView(record, viewer),
    trigger_metadata: viewer.canRead ? (config.trigger_metadata ?? null) : null,
    resource_key: build.resourceKey,
    pull_robot: record.pullRobot ? robotView(record.pullRobot) : null,
    repository: { namespace: repository.namespace, name: repository.name.slice(repository.namespace.length + 1) },
    error: build.error,
  };
  if (viewer.canWrite && build.resourceKey && fileUrl) view.archive_url = fileUrl;
  else if (viewer.canWrite && !build.resourceKey && config.archive_url) view.archive_url = config.archive_url;
  return view;
}
