/**
 * The metrics `/metrics` serves (Prometheus text exposition 0.0.4). Quay's names where Quay has the
 * metric (util/metrics/prometheus.py, endpoints/metrics.py, data/registry_model/blobuploader.py,
 * with the `_total` prometheus_client appends to a counter), with Quay's labels and values; Wharf's
 * own under `wharf_`. Every label value comes from a closed set (protocol, a media type the registry
 * accepted, an error code, a queue name, a notification method): no repository or user names, so a
 * tenant cannot grow the series without bound.
 */
export type MetricType = "counter" | "gauge";

export interface MetricDefinition {
  type: MetricType;
  help: string;
  /** In the order the series key writes them. */
  labels: readonly string[];
}

export const METRICS = {
  quay_registry_image_pushes_total: {
    type: "counter",
    help: "number of images that have been uploaded via the registry",
    labels: ["protocol", "status", "media_type"],
  },
  quay_registry_image_pulls_total: {
    type: "counter",
    help: "number of images that have been downloaded via the registry",
    labels: ["protocol", "ref", "status"],
  },
  quay_registry_image_pushed_bytes_total: {
    type: "counter",
    help: "number of bytes pushed to the registry",
    labels: [],
  },
  quay_registry_image_pulled_estimated_bytes_total: {
    type: "counter",
    help: "number of bytes that have been downloaded via the registry",
    labels: ["protocol"],
  },
  quay_gc_storage_blobs_deleted_total: {
    type: "counter",
    help: "number of storage blobs deleted",
    labels: [],
  },
  wharf_gc_reclaimed_bytes_total: {
    type: "counter",
    help: "bytes of blob storage deleted by garbage collection",
    labels: [],
  },
  wharf_http_errors_total: {
    type: "counter",
    help: "error responses (status 400 and above) by surface, status and error code",
    labels: ["surface", "status", "code"],
  },
  wharf_queue_messages_total: {
    type: "counter",
    help: "queue messages handed to a consumer, by queue",
    labels: ["queue"],
  },
  wharf_queue_lag_seconds: {
    type: "gauge",
    help: "age in seconds of the oldest message in the latest batch a consumer handled, by queue",
    labels: ["queue"],
  },
  wharf_queue_dead_lettered_total: {
    type: "counter",
    help: "queue messages a consumer gave up on, which the queue moves to its dead-letter queue, by queue",
    labels: ["queue"],
  },
  wharf_notification_delivery_failures_total: {
    type: "counter",
    help: "notification deliveries that failed, by method",
    labels: ["method"],
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;

/** The labels a metric takes, each a string. */
export type LabelsOf<N extends MetricName> = { [L in (typeof METRICS)[N]["labels"][number]]: string };

/** A label value as the exposition format writes it: backslash, double quote and newline escaped. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** The series' key and exposition name: `name{a="x",b="y"}`, labels in the catalogue's order. */
export function seriesKey<N extends MetricName>(name: N, labels: LabelsOf<N>): string {
  const names: readonly string[] = METRICS[name].labels;
  if (names.length === 0) return name;
  const values = labels as Record<string, string>;
  return `${name}{${names.map((l) => `${l}="${escapeLabel(values[l] ?? "")}"`).join(",")}}`;
}

/** The metric name of a series key. */
export function metricOfSeries(key: string): string {
  const brace = key.indexOf("{");
  return brace === -1 ? key : key.slice(0, brace);
}
