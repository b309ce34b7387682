/**
 * Repository mirroring's kinds of the event catalogue (src/events/catalogue.ts spreads them into
 * `CATALOGUE`), named as Quay's log kinds (63-71, quay-features-003.md §5). Each is an action-log
 * entry of the mirrored repository; the three sync kinds are also Quay's notification events
 * (`repo_mirror_sync_started`, `_success`, `_failed`: src/notifications/spawn.ts).
 */
import { z } from "zod";

/** Quay's `emit_log` metadata (workers/repomirrorworker): what the sync did, in words. */
const syncReport = z.object({
  /** Quay's `verb`: `start`, `end`, `finish`, `lost` or `Cancelled`. */
  verb: z.string(),
  message: z.string().max(2048),
  /** The tag one tag's entry is about. */
  tag: z.string().nullable(),
  /** The tags a sync's entry is about, comma-separated (Quay's `", ".join(tags)`). */
  tags: z.string().max(8192).nullable(),
});

export const MIRROR_EVENTS = {
  /**
   * A change to the mirror's configuration through the API (Quay's `repo_mirror_config_changed`,
   * endpoints/api/mirror.py): which setting (`changed`) and its new value (`to`; a password is
   * `********` or null, never itself).
   */
  repo_mirror_config_changed: z.object({
    changed: z.string(),
    to: z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()]),
  }),
  repo_mirror_sync_started: syncReport,
  repo_mirror_sync_success: syncReport,
  repo_mirror_sync_failed: syncReport,
  repo_mirror_sync_tag_success: syncReport,
  repo_mirror_sync_tag_failed: syncReport,
};
