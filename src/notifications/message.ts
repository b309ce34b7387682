/**
 * A notification's delivery as the NOTIFICATIONS queue carries it (src/notifications/delivery.ts
 * consumes it; spawn.ts and namespace-spawn.ts queue it), checked with zod at both ends. `scope`
 * says which kind of notification it is for: a repository's, or a namespace's (Quay's
 * `notification_type: "namespace"`); messages queued before namespaces had notifications carry
 * none and are a repository's.
 */
import { z } from "zod";
import { isNotificationEvent, type NotificationEventName } from "./events";
import { isNamespaceEvent, type NamespaceEventName } from "./namespace-events";

/** One delivery of one notification: what the queue carries. */
export const deliverySchema = z.object({
  /** Unique per delivery, kept across retries: in-app notifications are keyed by it. */
  id: z.uuid(),
  notification: z.string(),
  scope: z.enum(["repository", "namespace"]).default("repository"),
  event: z.string().refine((name) => isNotificationEvent(name) || isNamespaceEvent(name)),
  payload: z.record(z.string(), z.unknown()),
});

/** A delivery; `scope` may be left out for a repository's (the schema reads it so). */
export type Delivery = Omit<z.infer<typeof deliverySchema>, "scope" | "event"> & {
  scope?: "repository" | "namespace";
  event: NotificationEventName | NamespaceEventName;
};
