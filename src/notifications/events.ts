/**
 * The events a repository notification can respond to, with Quay's names, configs and payloads
 * (Quay `notifications/notificationevent.py`; the seeds' "Repository events description"). Wharf
 * fires `repo_push`, the mirror and the build events (src/notifications/spawn.ts, build-payloads.ts)
 * and `repo_image_expiry` (src/notifications/expiry.ts).
 */
import { z } from "zod";
import { invalid } from "../errors/domain";
import { compileTagPattern, tagPatternProblem } from "../lib/tag-pattern";

export const BUILD_EVENTS = ["build_queued", "build_start", "build_success", "build_failure", "build_cancelled"];
export const MIRROR_EVENTS = ["repo_mirror_sync_started", "repo_mirror_sync_success", "repo_mirror_sync_failed"];

export const NOTIFICATION_EVENTS = [
  "repo_push",
  "repo_image_expiry",
  "vulnerability_found",
  ...BUILD_EVENTS,
  ...MIRROR_EVENTS,
] as const;

export type NotificationEventName = (typeof NOTIFICATION_EVENTS)[number];

export function isNotificationEvent(name: string): name is NotificationEventName {
  return (NOTIFICATION_EVENTS as readonly string[]).includes(name);
}

/**
 * Quay's security priorities by index (`util/secscan` PRIORITY_LEVELS): the `level` filter names
 * the least severe priority to notify by its index, 0 the most severe.
 */
const PRIORITIES = ["Critical", "High", "Medium", "Low", "Negligible", "Unknown"];

/** A count of days that Quay's UI sends as a number or a numeric string. */
const days = z.coerce.number().int().min(1).max(3650);

/**
 * The event's config, checked: Quay keeps whatever object it is given and fails later; Wharf
 * refuses at creation what could never work (an expiry without its days, a filter that is no
 * pattern), and keeps unknown keys as Quay does.
 */
export function checkEventConfig(event: NotificationEventName, config: Record<string, unknown>): void {
  if (event === "repo_image_expiry" && !days.safeParse(config.days).success)
    throw invalid("repo_image_expiry needs eventConfig.days, a whole number of days from 1 to 3650");
  if (event === "vulnerability_found" && config.level !== undefined) {
    const level = z.coerce.number().int().min(0).max(5).safeParse(config.level);
    if (!level.success) throw invalid("eventConfig.level must be a priority index from 0 (Critical) to 5 (Unknown)");
  }
  const refRegex = config["ref-regex"];
  if (BUILD_EVENTS.includes(event) && refRegex !== undefined && refRegex !== null && refRegex !== "") {
    const problem = typeof refRegex === "string" ? tagPatternProblem(refRegex) : "it must be a string";
    if (problem) throw invalid(`Invalid ref-regex: ${problem}`);
  }
}

/** The days of a `repo_image_expiry` config (checked at creation). */
export function expiryDays(config: Record<string, unknown>): number {
  return days.parse(config.days);
}

/** Where a payload says the repository lives: Quay's SERVER_HOSTNAME and scheme. */
export interface RepositoryPlace {
  /** `scheme://host[:port]` */
  origin: string;
  /** `namespace/name` */
  repository: string;
}

/** Quay's `build_repository_event_data`: the fields every repository event's payload has. */
export function repositoryEventData(place: RepositoryPlace, extra: Record<string, unknown>, subpage = "") {
  const slash = place.repository.indexOf("/");
  const host = new URL(place.origin).host;
  return {
    repository: place.repository,
    namespace: place.repository.slice(0, slash),
    name: place.repository.slice(slash + 1),
    docker_url: `${host}/${place.repository}`,
    homepage: `${place.origin}/repository/${place.repository}${subpage}`,
    ...extra,
  };
}

const SAMPLE_TRIGGER = {
  default_branch: "master",
  ref: "refs/heads/somebranch",
  commit: "42d4a62c53350993ea41069e9f2cfdefb0df097d",
};

/** The payload `POST …/notification/{uuid}/test` sends: Quay's sample data of each event. */
export function samplePayload(event: NotificationEventName, place: RepositoryPlace, config: Record<string, unknown>) {
  if (event === "repo_push")
    return repositoryEventData(place, { updated_tags: ["latest", "foo"], pruned_image_count: 3 });
  if (event === "repo_image_expiry")
    return repositoryEventData(place, { tags: ["latest", "v1"], expiring_in: `${config.days ?? null} days` });
  if (event === "vulnerability_found") {
    const level = Number(config.level ?? 0);
    return repositoryEventData(place, {
      tags: ["latest", "prod", "foo", "bar", "baz"],
      image: "some-image-id",
      vulnerability: {
        id: "CVE-FAKE-CVE",
        description: "A futurist vulnerability",
        link: "http://url/to/vuln/info",
        priority: PRIORITIES[level] ?? "Unknown",
      },
    });
  }
  if (BUILD_EVENTS.includes(event)) {
    const build = {
      build_id: "fake-build-id",
      build_name: "some-fake-build",
      docker_tags: ["latest", "foo", "bar"],
      trigger_id: "1245634",
      trigger_kind: "GitHub",
      trigger_metadata: SAMPLE_TRIGGER,
      ...(event === "build_failure" ? { error_message: "This is a fake error message" } : {}),
      ...(event === "build_success" || event === "build_cancelled" ? { image_id: "1245657346" } : {}),
      ...(event === "build_queued" ? { is_manual: false } : {}),
    };
    return repositoryEventData(place, build, "/build/fake-build-id");
  }
  return repositoryEventData(place, { message: "TEST NOTIFICATION" });
}

/** Quay's one-line summary of an event (mail subjects, Slack and in-app text). */
export function eventSummary(event: NotificationEventName, payload: Record<string, unknown>): string {
  const repository = String(payload.repository);
  switch (event) {
    case "repo_push":
      return `Repository ${repository} updated`;
    case "repo_image_expiry":
      return `Repository ${repository} image(s) expiring`;
    case "vulnerability_found":
      return `Vulnerability detected in repository ${repository}`;
    default:
      return `${event.replaceAll("_", " ")} for repository ${repository}`;
  }
}

export type EventLevel = "info" | "warning" | "error" | "success" | "primary";

/** Quay's `get_level` of each event: how severe it is (Slack's colour). */
export function eventLevel(event: NotificationEventName, payload: Record<string, unknown>): EventLevel {
  if (event === "repo_push") return "primary";
  if (event === "build_success" || event === "repo_mirror_sync_success") return "success";
  if (event === "build_failure" || event === "repo_mirror_sync_failed") return "error";
  if (event === "vulnerability_found") {
    const priority = (payload.vulnerability as { priority?: unknown } | undefined)?.priority;
    if (priority === "Critical") return "error";
    return priority === "Medium" || priority === "High" ? "warning" : "info";
  }
  return "info";
}

/**
 * Quay's `should_perform`: the event filters. `vulnerability_found` with a `level` notifies only
 * vulnerabilities at least that severe; a build event with a `ref-regex` only builds of a git ref
 * it matches from its start (Python's `re.match`), through the non-backtracking matcher. Every
 * other event always notifies.
 */
export function shouldNotify(
  event: NotificationEventName,
  config: Record<string, unknown>,
  payload: Record<string, unknown>,
): boolean {
  if (event === "vulnerability_found" && config.level !== undefined && config.level !== null) {
    if ("vulnerable_index_report_created" in payload) return true;
    const priority = (payload.vulnerability as { priority?: unknown } | undefined)?.priority;
    const index = PRIORITIES.indexOf(String(priority ?? "Unknown"));
    return index >= 0 && index <= Number(config.level);
  }
  const refRegex = config["ref-regex"];
  if (BUILD_EVENTS.includes(event) && typeof refRegex === "string" && refRegex !== "") {
    const ref = (payload.trigger_metadata as { ref?: unknown } | undefined)?.ref;
    if (typeof ref !== "string") return false;
    try {
      return compileTagPattern(refRegex, { from: "start" }).test(ref);
    } catch {
      return false;
    }
  }
  return true;
}
