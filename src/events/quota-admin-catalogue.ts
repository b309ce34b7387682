/**
 * The kinds of the event catalogue for changes to a namespace's quota and its limits (Quay's
 * `org_create_quota` … `org_delete_quota_limit` log kinds, endpoints/api/namespacequota.py; Quay
 * names them `org_…` and Wharf emits them for a user's namespace too, when a superuser changes its
 * quota). The namespace is the envelope's; no repository. Each becomes an action-log entry
 * (metadata: src/events/quota-admin-logs.ts). Crossing a limit is src/events/quota-catalogue.ts.
 */
import { z } from "zod";

const bytes = z.number().int().positive();
const limitType = z.enum(["Warning", "Reject"]);
const percent = z.number().int().min(1).max(100);

export const QUOTA_ADMIN_EVENTS = {
  /** A quota set on a namespace that had none. */
  org_create_quota: z.object({ limitBytes: bytes }),
  /** The quota's size changed. */
  org_change_quota: z.object({ quotaId: z.number().int(), limitBytes: bytes, previousLimitBytes: bytes }),
  /** The quota removed, and its limits with it. */
  org_delete_quota: z.object({ quotaId: z.number().int(), limitBytes: bytes }),
  /** A Warning or Reject threshold added to the quota. */
  org_create_quota_limit: z.object({ quotaId: z.number().int(), type: limitType, thresholdPercent: percent }),
  /** A limit's type or threshold changed (both given, before and after). */
  org_change_quota_limit: z.object({
    quotaId: z.number().int(),
    limitId: z.number().int(),
    type: limitType,
    thresholdPercent: percent,
    previousType: limitType,
    previousThresholdPercent: percent,
  }),
  /** A limit removed. */
  org_delete_quota_limit: z.object({
    quotaId: z.number().int(),
    limitId: z.number().int(),
    type: limitType,
    thresholdPercent: percent,
  }),
};
