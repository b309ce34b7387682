/**
 * Organization mirroring's kinds of the event catalogue (src/events/catalogue.ts spreads them into
 * `CATALOGUE`), named and shaped as Quay's log kinds (endpoints/api/org_mirror.py `log_action`,
 * workers/repomirrorworker `_emit_org_config_log`; Quay's migration adds them). Each is an
 * action-log entry of the organization (no repository); the fields are Quay's metadata keys, so
 * the entry's metadata is the data as it is (src/events/logs-metadata.ts, fallback).
 */
import { z } from "zod";

const reference = z.string().max(2048);

/** Quay's `_emit_org_config_log` metadata: what discovery did, in words, and which source. */
const discoveryReport = z.object({
  message: z.string().max(2048),
  org_mirror_config_id: z.number().int(),
  external_registry_url: reference,
  external_namespace: z.string().max(255),
  /** The discovered repository an entry is about (`org_mirror_repo_created`, `_failed`). */
  repository_name: z.string().max(255).optional(),
});

export const ORG_MIRROR_EVENTS = {
  /** `POST /organization/{orgname}/mirror` (createOrgMirrorConfig). */
  org_mirror_enabled: z.object({
    external_registry_type: z.enum(["harbor", "quay"]),
    external_registry_url: reference,
    external_namespace: z.string().max(255),
    sync_interval: z.number().int(),
    robot_username: z.string(),
  }),
  /** `PUT …/mirror`: the fields the body named, and the source before and after (`url/namespace`). */
  org_mirror_config_changed: z.object({
    updated_fields: z.array(z.string()).max(32),
    old_external_reference: reference,
    external_reference: reference,
  }),
  /** `DELETE …/mirror`. */
  org_mirror_disabled: z.object({ external_reference: reference }),
  /** `POST …/mirror/sync-now`. */
  org_mirror_sync_now_requested: z.object({ external_reference: reference }),
  /** `POST …/mirror/sync-cancel`. */
  org_mirror_sync_cancelled: z.object({ external_reference: reference }),
  /** A discovery starting, ending well, ending in failure or cancelled (src/mirror/org-sync.ts). */
  org_mirror_sync_started: discoveryReport,
  org_mirror_sync_success: discoveryReport,
  org_mirror_sync_failed: discoveryReport,
  /** A discovered repository created in the organization with its repository mirror, or not. */
  org_mirror_repo_created: discoveryReport,
  org_mirror_repo_failed: discoveryReport,
};
