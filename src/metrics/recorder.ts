/**
 * The exact aggregate behind `/metrics`: every increment a Worker isolate makes is summed here, in
 * the isolate, and added to the one MetricsDO (durable-objects/MetricsDO.ts) by a flush that runs
 * after the response, in `waitUntil` (src/app.ts `meter`; the queue and cron handlers await it).
 *
 * Why exact: nothing is sampled (Analytics Engine samples, and drops writes under load). Each
 * request's increments are flushed by that request's own `waitUntil`, and the runtime keeps an
 * isolate alive until its `waitUntil` promises settle, so an isolate evicted after answering still
 * sends what it counted. Flushes are coalesced: while one RPC is in flight, later increments pile up
 * and the same drain sends them next, so an isolate makes one RPC at a time, whatever its traffic.
 * A batch carries an id and the object ignores an id it has applied, so a batch retried after an
 * RPC that failed late (the object added it, the answer was lost) is not counted twice.
 *
 * What could still be lost: increments of an isolate that dies abruptly (a crash, or the 30 s limit
 * on `waitUntil` after the response passing while the object is unreachable). A batch the object
 * refused stays in the isolate and leaves with the next flush; it costs memory bounded by the
 * number of series (increments of a series merge), never a growing list.
 */
import { clock } from "../lib/clock";
import { type LabelsOf, type MetricName, seriesKey } from "./catalogue";
import { loggableError } from "../lib/loggable-error";

export interface MetricsBatch {
  /** Unique per batch: the object applies an id once. */
  id: string;
  counters: [key: string, increment: number][];
  /** A gauge's latest value and when it was observed (unix ms): the latest observation wins. */
  gauges: [key: string, value: number, at: number][];
}

/** Where batches go: the MetricsDO's RPC. */
export type MetricsSink = (batch: MetricsBatch) => Promise<void>;

/** RPC attempts per drain before the batch waits for the next flush. */
const ATTEMPTS = 3;

export class MetricsRecorder {
  #counters = new Map<string, number>();
  #gauges = new Map<string, { value: number; at: number }>();
  /** A batch whose send failed: sent again as it is (same id) before anything newer. */
  #unsent: MetricsBatch | null = null;
  #draining: Promise<void> | null = null;

  /** Adds `n` (a non-negative integer) to a counter. */
  count<N extends MetricName>(name: N, labels: LabelsOf<N>, n = 1): void {
    if (!Number.isSafeInteger(n) || n <= 0) return;
    const key = seriesKey(name, labels);
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + n);
  }

  /** Sets a gauge to its latest observed value. */
  observe<N extends MetricName>(name: N, labels: LabelsOf<N>, value: number): void {
    if (!Number.isFinite(value)) return;
    this.#gauges.set(seriesKey(name, labels), { value, at: clock.now() });
  }

  get pending(): boolean {
    return this.#unsent !== null || this.#counters.size > 0 || this.#gauges.size > 0;
  }

  /**
   * Sends everything counted so far, and whatever is counted while that is in flight; resolves
   * once nothing is left (or the sink failed {@link ATTEMPTS} times: what it refused waits).
   */
  flush(sink: MetricsSink): Promise<void> {
    if (this.#draining) return this.#draining;
    if (!this.pending) return Promise.resolve();
    this.#draining = this.#drain(sink);
    return this.#draining;
  }

  async #drain(sink: MetricsSink): Promise<void> {
    // Starts after `#draining` is set, so a flush called meanwhile joins this drain.
    await Promise.resolve();
    let failures = 0;
    for (;;) {
      // The check and the release are one synchronous step: an increment made after it starts a new drain.
      if (!this.pending || failures >= ATTEMPTS) {
        this.#draining = null;
        return;
      }
      const batch = this.#unsent ?? this.#take();
      this.#unsent = batch;
      try {
        await sink(batch);
        this.#unsent = null;
      } catch (err) {
        failures++;
        console.error(JSON.stringify({ msg: "metrics flush failed", attempt: failures, err: loggableError(err) }));
      }
    }
  }

  #take(): MetricsBatch {
    const batch: MetricsBatch = {
      id: crypto.randomUUID(),
      counters: [...this.#counters],
      gauges: [...this.#gauges].map(([key, g]) => [key, g.value, g.at]),
    };
    this.#counters.clear();
    this.#gauges.clear();
    return batch;
  }
}

/** The isolate's recorder: one per isolate, as src/registry/pull-counts.ts keeps one pull counter. */
export const metrics = new MetricsRecorder();

/** The MetricsDO instance holding the aggregate (one: see durable-objects/MetricsDO.ts on its load). */
export function metricsObject(env: Env) {
  return env.METRICS.get(env.METRICS.idFromName("metrics"));
}

/** Flushes the isolate's increments to `env`'s MetricsDO. */
export function flushMetrics(env: Env): Promise<void> {
  return metrics.flush((batch) => metricsObject(env).add(batch));
}

/** Counts a queue batch a consumer is handed, and its lag: how long its oldest message waited. */
export function observeQueueBatch(batch: MessageBatch<unknown>): void {
  if (batch.messages.length === 0) return;
  const oldest = Math.min(...batch.messages.map((m) => m.timestamp.getTime()));
  metrics.count("wharf_queue_messages_total", { queue: batch.queue }, batch.messages.length);
  metrics.observe("wharf_queue_lag_seconds", { queue: batch.queue }, Math.max(0, clock.now() - oldest) / 1000);
}
