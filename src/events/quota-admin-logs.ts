/**
 * Quay's action-log metadata of the quota kinds (src/events/quota-admin-catalogue.ts), as its
 * namespacequota.py `log_action` calls write them (endpoints/api/test/test_namespacequota.py):
 * always `namespace`; `limit_bytes` with the human-readable `limit` for a quota; `type` and
 * `threshold_percent` for a limit; the values before a change as `previous_…`.
 */
import { humanBytes } from "../quota/byte-sizes";
import type { RegistryEvent } from "./catalogue";

type Metadata = Record<string, unknown>;
type EventOf<K extends RegistryEvent["kind"]> = Extract<RegistryEvent, { kind: K }>;

const sized = (limitBytes: number) => ({ limit_bytes: limitBytes, limit: humanBytes(limitBytes) });

export const QUOTA_ADMIN_METADATA = {
  org_create_quota: (e: EventOf<"org_create_quota">): Metadata => ({
    namespace: e.namespace,
    ...sized(e.data.limitBytes),
  }),
  org_change_quota: (e: EventOf<"org_change_quota">): Metadata => ({
    namespace: e.namespace,
    quota_id: e.data.quotaId,
    ...sized(e.data.limitBytes),
    previous_limit_bytes: e.data.previousLimitBytes,
    previous_limit: humanBytes(e.data.previousLimitBytes),
  }),
  org_delete_quota: (e: EventOf<"org_delete_quota">): Metadata => ({
    namespace: e.namespace,
    quota_id: e.data.quotaId,
    ...sized(e.data.limitBytes),
  }),
  org_create_quota_limit: (e: EventOf<"org_create_quota_limit">): Metadata => ({
    namespace: e.namespace,
    quota_id: e.data.quotaId,
    type: e.data.type,
    threshold_percent: e.data.thresholdPercent,
  }),
  org_change_quota_limit: (e: EventOf<"org_change_quota_limit">): Metadata => ({
    namespace: e.namespace,
    quota_id: e.data.quotaId,
    limit_id: e.data.limitId,
    type: e.data.type,
    threshold_percent: e.data.thresholdPercent,
    previous_type: e.data.previousType,
    previous_threshold_percent: e.data.previousThresholdPercent,
  }),
  org_delete_quota_limit: (e: EventOf<"org_delete_quota_limit">): Metadata => ({
    namespace: e.namespace,
    quota_id: e.data.quotaId,
    limit_id: e.data.limitId,
    type: e.data.type,
    threshold_percent: e.data.thresholdPercent,
  }),
};
