/**
 * A repository notification's delivery as the NOTIFICATIONS queue carries it (src/notifications/
 * delivery.ts consumes it; spawn.ts queues it), checked with zod at both ends.
 */
import { z } from "zod";
import { isNotificationEvent, type NotificationEventName } from "./events";

/** One delivery of one notification: what the queue carries. */
export const deliverySchema = z.object({
  /** Unique per delivery, kept across retries: in-app notifications are keyed by it. */
  id: z.uuid(),
  notification: z.string(),
  event: z.string().refine(isNotificationEvent),
  payload: z.record(z.string(), z.unknown()),
});

export type Delivery = z.infer<typeof deliverySchema> & { event: NotificationEventName };
