/**
 * The kinds of the event catalogue for builds, build triggers, security scans and the origin
 * connectors (issue #18; src/events/catalogue.ts spreads them into `CATALOGUE`). Quay's log kinds
 * where Quay has one (9 `build_dockerfile`, 23 `delete_repo_trigger`, 53 `setup_repo_trigger`,
 * 62 `toggle_repo_trigger`, 78 `start_build_trigger`, 79 `cancel_build`; quay-features-003.md §5);
 * Wharf's own for what Quay's build manager and security worker do without logging. The build
 * phases are also Quay's notification events (`build_queued` from `build_dockerfile`,
 * `build_start`, `build_success`, `build_failure`, `build_cancelled`), and `vulnerability_found`
 * is Quay's "Package Vulnerability Found" (src/notifications/spawn.ts).
 */
import { z } from "zod";

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, "must be a sha256 digest");

/** What every build event says of its build (Quay's build notification payload, trimmed). */
const buildFields = {
  /** The build's uuid (Quay's `build_id`). */
  build: z.string(),
  displayName: z.string(),
  dockerTags: z.array(z.string()).max(100),
  /** The trigger that started it, when one did (Quay's `trigger_id`, `trigger_kind`). */
  trigger: z.object({ uuid: z.string(), service: z.string() }).nullable(),
  /** Quay's `trigger_metadata` (commit, ref, default_branch, git_url, commit_info), when a trigger started it. */
  triggerMetadata: z.record(z.string(), z.unknown()).nullable(),
  /** Quay's `manual_user`: who asked for a manual build; null for a trigger's push. */
  manualUser: z.string().nullable(),
};

const trigger = z.object({ uuid: z.string(), service: z.enum(["custom-git", "github"]) });

export const BUILD_EVENTS = {
  /** A build queued (Quay's `build_dockerfile` log kind, its `build_queued` notification). */
  build_dockerfile: z.object(buildFields),
  /** A connector leased the build and started it (notification `build_start`); not logged. */
  build_started: z.object({ ...buildFields, connector: z.string() }),
  /** The build pushed its image (notification `build_success`); not logged, the push is. */
  build_succeeded: z.object({
    ...buildFields,
    manifestDigests: z.array(digest).max(100),
    imageId: z.string().nullable(),
  }),
  /** The build failed (notification `build_failure`); not logged. */
  build_failed: z.object({ ...buildFields, errorMessage: z.string().max(4096) }),
  /** A build cancelled through the API (Quay's `cancel_build`, notification `build_cancelled`). */
  cancel_build: z.object(buildFields),
  /** A trigger set up or changed (Quay's `setup_repo_trigger`). */
  setup_repo_trigger: z.object({
    trigger,
    pullRobot: z.string().nullable(),
    config: z.record(z.string(), z.unknown()),
  }),
  /** A trigger deleted (Quay's `delete_repo_trigger`). */
  delete_repo_trigger: z.object({ trigger }),
  /** A trigger enabled or disabled (Quay's `toggle_repo_trigger`). */
  toggle_repo_trigger: z.object({ trigger, enabled: z.boolean() }),
  /** A trigger run by hand (Quay's `start_build_trigger`), with the build it queued. */
  start_build_trigger: z.object({ trigger, build: z.string() }),
};

/** A vulnerability as `vulnerability_found` carries it (Quay's notification `vulnerability`). */
const vulnerability = z.object({
  id: z.string(),
  description: z.string().max(2048),
  link: z.string().max(2048),
  /** Quay's priority names: Critical, High, Medium, Low, Negligible, Unknown. */
  priority: z.string(),
  has_fix: z.boolean(),
  package: z.string(),
});

export const SECSCAN_EVENTS = {
  /** A manifest's scan ended (`status` Quay's); not logged. */
  manifest_scanned: z.object({
    digest,
    status: z.enum(["scanned", "failed", "unsupported"]),
    vulnerabilities: z.number().int().nonnegative(),
  }),
  /**
   * Vulnerabilities found in a manifest a repository holds (a first scan or a Clair
   * notification): one event per repository, the tags that point at it (100 at most) and the
   * vulnerabilities (50 at most, most severe first); not logged, notifies `vulnerability_found`.
   */
  vulnerability_found: z.object({
    digest,
    tags: z.array(z.string()).max(100),
    vulnerabilities: z.array(vulnerability).min(1).max(50),
  }),
};

const connector = z.object({ uuid: z.string(), name: z.string() });

export const CONNECTOR_EVENTS = {
  /** A superuser created an origin connector (Wharf's kind). */
  connector_create: z.object({ connector }),
  /** A superuser deleted an origin connector (Wharf's kind). */
  connector_delete: z.object({ connector }),
};
