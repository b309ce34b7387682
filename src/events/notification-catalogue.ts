/**
 * The repository-notification kinds of the event catalogue (src/events/catalogue.ts spreads them
 * into `CATALOGUE`; docs/events.md, "Repository notifications"): Quay's action-log names
 * `add_repo_notification`, `delete_repo_notification` and `reset_repo_notification`, with what
 * Quay logs of them (the notification's uuid, event and method; never its config, which can hold
 * secrets). And the namespace notifications' (issue #16, Quay `endpoints/api/
 * namespacenotification.py`): `create_namespace_notification`, `delete_namespace_notification` and
 * `reset_namespace_notification`, in the namespace (no repository), with the same fields.
 */
import { z } from "zod";

const notification = z.object({ uuid: z.string(), event: z.string(), method: z.string() });

export const NOTIFICATION_EVENTS = {
  add_repo_notification: z.object({ notification }),
  delete_repo_notification: z.object({ notification }),
  /** Its failures set back to 0: a disabled notification delivers again. */
  reset_repo_notification: z.object({ notification }),
  create_namespace_notification: z.object({ notification }),
  delete_namespace_notification: z.object({ notification }),
  /** Its failures set back to 0: a disabled notification delivers again. */
  reset_namespace_notification: z.object({ notification }),
};
