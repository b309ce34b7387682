/**
 * The events a namespace notification responds to, with Quay's names, payloads, summaries and
 * levels (Quay `endpoints/api/namespacenotification.py` VALID_NAMESPACE_EVENTS;
 * `notifications/notificationevent.py` QuotaWarningEvent, QuotaErrorEvent;
 * `notifications/__init__.py` build_namespace_event_data). Quota-enforce emits the crossings
 * (src/events/quota-catalogue.ts); what Quay's payload adds to them (the usage in percent, the
 * sizes written out) is derived here.
 */
import type { EventData } from "../events/catalogue";

export const NAMESPACE_EVENTS = ["quota_warning", "quota_error"] as const;

export type NamespaceEventName = (typeof NAMESPACE_EVENTS)[number];

export function isNamespaceEvent(name: string): name is NamespaceEventName {
  return (NAMESPACE_EVENTS as readonly string[]).includes(name);
}

/** Quay's refusal of any other event, naming the valid ones in sorted order. */
export function invalidEventMessage(name: string): string {
  return `Invalid event '${name}'. Must be one of: ${[...NAMESPACE_EVENTS].sort().join(", ")}`;
}

/**
 * Quay's `build_namespace_event_data`: the namespace, its page (`<origin>/organization/<name>`,
 * for users too, as Quay builds it) and the event's fields.
 */
export function namespaceEventData(origin: string, namespace: string, extra: Record<string, unknown>) {
  return { namespace, homepage: `${origin}/organization/${namespace}`, ...extra };
}

const UNITS = ["bytes", "KB", "MB", "GB", "TB", "PB"];

/**
 * A size as Quay's payloads write it: powers of 1024 with two decimals and the decimal unit names
 * (858993459 is "819.20 MB", 1073741824 "1.00 GB"; its sample data).
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(2)} ${UNITS[unit]}`;
}

type Crossing = EventData<"quota_warning">;

/**
 * The payload fields of a crossing: Quay's `threshold_percent`, `usage_bytes`, `limit_bytes` (the
 * quota's size) and `usage_percent` (whole percent, rounded down, as Quay's `int(...)`), with the
 * sizes written out as its sample data shows them.
 */
export function crossingFields(crossing: Crossing) {
  return {
    threshold_percent: crossing.thresholdPercent,
    usage_bytes: crossing.usageBytes,
    limit_bytes: crossing.limitBytes,
    usage_percent: Math.floor((crossing.usageBytes * 100) / crossing.limitBytes),
    usage_bytes_formatted: formatBytes(crossing.usageBytes),
    limit_bytes_formatted: formatBytes(crossing.limitBytes),
  };
}

/** Quay's sample data (`get_sample_data`), which the test endpoint sends: its figures as Quay writes them. */
const SAMPLES: Record<NamespaceEventName, Record<string, unknown>> = {
  quota_warning: {
    threshold_percent: 80,
    usage_bytes: 858993459,
    limit_bytes: 1073741824,
    usage_percent: 80,
    usage_bytes_formatted: "819.20 MB",
    limit_bytes_formatted: "1.00 GB",
  },
  quota_error: {
    threshold_percent: 100,
    usage_bytes: 1127428915,
    limit_bytes: 1073741824,
    usage_percent: 105,
    usage_bytes_formatted: "1.05 GB",
    limit_bytes_formatted: "1.00 GB",
  },
};

export function namespaceSamplePayload(event: NamespaceEventName, origin: string, namespace: string) {
  return namespaceEventData(origin, namespace, SAMPLES[event]);
}

/** Quay's one-line summaries (mail subjects, Slack text). */
export function namespaceEventSummary(event: NamespaceEventName, payload: Record<string, unknown>): string {
  const namespace = String(payload.namespace);
  return event === "quota_warning"
    ? `Namespace ${namespace} storage usage has reached ${String(payload.threshold_percent)}% of its quota limit`
    : `Namespace ${namespace} storage usage has exceeded its quota limit (${String(payload.usage_percent)}%)`;
}

/** Quay's levels: a warning is `warning`, a reject limit reached is `error`. */
export function namespaceEventLevel(event: NamespaceEventName): "warning" | "error" {
  return event === "quota_warning" ? "warning" : "error";
}
