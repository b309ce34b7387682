/**
 * Quay's build and trigger JSON as the UI reads it (endpoints/api/build.py `build_status_view`,
 * `trigger_view`), with what a person reads for each phase. Fields Quay may leave out or null are
 * optional here, and every screen tolerates their absence.
 */

/** Quay's `user_view` of a pull robot or a trigger's connected user. */
export interface UserView {
  name: string;
  kind?: string;
  is_robot?: boolean;
}

/** Quay's `trigger_view` (`for_build` leaves out `pull_robot`). */
export interface Trigger {
  id: string;
  service: string;
  is_active?: boolean;
  build_source?: string | null;
  repository_url?: string | null;
  config?: TriggerConfig;
  can_invoke?: boolean;
  enabled?: boolean;
  disabled_reason?: string | null;
  pull_robot?: UserView | null;
}

/** Quay's trigger config (custom git and GitHub), with the credentials Quay shows once activated. */
export interface TriggerConfig {
  build_source?: string;
  dockerfile_path?: string;
  context?: string;
  branchtag_regex?: string;
  default_tag_from_ref?: boolean;
  latest_for_default_branch?: boolean;
  tag_templates?: string[];
  credentials?: { name: string; value: string }[];
  [field: string]: unknown;
}

/** Quay's `trigger_metadata` of a triggered build: the commit and who made it. */
export interface TriggerMetadata {
  commit?: string;
  ref?: string;
  default_branch?: string;
  git_url?: string;
  commit_info?: {
    url?: string;
    message?: string;
    date?: string;
    author?: { username?: string; url?: string; avatar_url?: string };
    committer?: { username?: string };
  };
  [field: string]: unknown;
}

export interface Build {
  id: string;
  phase: string;
  started?: string;
  display_name?: string;
  status?: Record<string, unknown>;
  subdirectory?: string;
  dockerfile_path?: string;
  context?: string;
  tags?: string[];
  manual_user?: string | null;
  is_writer?: boolean;
  trigger?: Trigger | null;
  trigger_metadata?: TriggerMetadata | null;
  resource_key?: string | null;
  pull_robot?: UserView | null;
  repository?: { namespace: string; name: string };
  error?: string | null;
  archive_url?: string;
}

/** One line of `GET …/build/{uuid}/logs` (Quay's `{message, type?, data?}`). */
export interface BuildLogEntry {
  message?: string;
  type?: string;
  data?: Record<string, unknown> | null;
}

export interface BuildLogPage {
  start?: number;
  total?: number;
  logs?: BuildLogEntry[];
}

/** Quay's BUILD_PHASE terminal phases: nothing changes after these, so polling stops. */
const TERMINAL = new Set(["complete", "error", "internalerror", "cancelled", "expired"]);
export const isTerminal = (phase: string) => TERMINAL.has(phase);

/** Quay's `cancel_repository_build`: a build is cancelled at once until it starts pushing. */
export const isCancellable = (phase: string) => !isTerminal(phase) && phase !== "pushing" && phase !== "cannot_load";

const PHASE_LABELS: Record<string, string> = {
  waiting: "Waiting",
  "build-scheduled": "Scheduled",
  unpacking: "Unpacking",
  pulling: "Pulling",
  building: "Building",
  pushing: "Pushing",
  "priming-cache": "Priming cache",
  "checking-cache": "Checking cache",
  complete: "Complete",
  error: "Failed",
  internalerror: "Internal error",
  cancelled: "Cancelled",
  expired: "Expired",
  cannot_load: "Status unavailable",
};

export const phaseLabel = (phase: string) => PHASE_LABELS[phase] ?? phase;

/** The badge's colour class for a phase: green done, red failed, grey cancelled, blue running. */
export function phaseClass(phase: string): string {
  if (phase === "complete") return "badge badge-phase-complete";
  if (phase === "error" || phase === "internalerror" || phase === "expired") return "badge badge-phase-error";
  if (phase === "cancelled") return "badge badge-phase-cancelled";
  if (phase === "waiting" || phase === "build-scheduled") return "badge badge-phase-waiting";
  return "badge badge-phase-running";
}

/** Quay's service names, as a person reads them. */
export const serviceLabel = (service: string) =>
  service === "custom-git" ? "Custom Git" : service === "github" ? "GitHub" : service;

/** A commit's short form, as Quay's UI shows it. */
export const shortSha = (sha: string) => sha.slice(0, 7);

/** Only an http(s) URL becomes a link: a `javascript:` URL from a webhook payload never does. */
export function safeHref(url: unknown): string | undefined {
  if (typeof url !== "string") return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** `/repository/{ns}/{name}/build/{uuid}`: Quay's build page URL (notifications link to it). */
export const buildHref = (repository: string, uuid: string) =>
  `/repository/${repository.split("/").map(encodeURIComponent).join("/")}/build/${encodeURIComponent(uuid)}`;

/** `/repository/{ns}/{name}/manifest/{digest}?tab=securityreport`: Quay's security report URL. */
export const securityReportHref = (repository: string, digest: string) =>
  `/repository/${repository.split("/").map(encodeURIComponent).join("/")}/manifest/${encodeURIComponent(digest).replace("%3A", ":")}?tab=securityreport`;
