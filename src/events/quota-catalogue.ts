/**
 * The quota kinds of the event catalogue (src/events/catalogue.ts spreads them into `CATALOGUE`):
 * a namespace's usage crossing one of its quota's limits (Quay's `quota_warning` and `quota_error`
 * notification events, `notifications/notificationevent.py`). They have no repository: the
 * namespace is the envelope's. They are notices, not anyone's action, so they become no action-log
 * entry (Quay logs none: src/events/logs-metadata.ts). Namespace notifications, the in-app
 * notification and the mail to the namespace's administrators are made from them.
 */
import { z } from "zod";

const crossing = z.object({
  quotaId: z.number().int(),
  limitId: z.number().int(),
  /** The limit's `threshold_percent`. */
  thresholdPercent: z.number().int().positive(),
  /** The namespace's usage after the change that crossed the threshold. */
  usageBytes: z.number().int().nonnegative(),
  /** The quota's `limit_bytes`. */
  limitBytes: z.number().int().positive(),
});

export const QUOTA_EVENTS = {
  /** Usage rose to or past a Warning limit's threshold (from below it). */
  quota_warning: crossing,
  /** Usage reached a Reject limit's threshold: further pushes that add bytes are refused. */
  quota_error: crossing,
};
