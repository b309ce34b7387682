import { z } from "zod";

const object = z.record(z.string(), z.unknown());

/**
 * Quay's `NotificationCreateRequest` (`endpoints/api/repositorynotification.py`, and the same schema in
 * `namespacenotification.py`): event, method, config and eventConfig required; title optional.
 */
export const notificationCreateBody = z.object({
  event: z.string().max(64),
  method: z.string().max(64),
  config: object,
  eventConfig: object,
  title: z.string().max(255).nullable().optional(),
});
