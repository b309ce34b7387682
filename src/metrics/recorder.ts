/**
 * The exact aggregate behind `/metrics`: every increment a Worker isolate makes is summed here, in
 * the isolate, and added to the one MetricsDO (durable-objects/MetricsDO.ts) by a flush that runs
 * after the response, in `waitUntil` (src/app.ts `meter`; the queue and cron handlers await it).
 *
 * Why exact: nothing is sampled (Analytics Engine samples, and drops writes under load). Each
 * request's increments are flushed by that request's own `waitUntil`, and the runtime keeps an
 * isolate alive until its `waitUntil` promises settle, so an isolate evicted after answering still
 * sends what it counted. Every flush sends on its own: a promise started by one request is never
 * handed to another (Workers refuse I/O "on behalf of a different request", and a request must
 * not wait on a stranger's RPC), so two requests finishing together make two RPCs, each with what
 * was pending when it began. The object adds batches in any order and applies a batch's id once,
 * so a batch retried after an RPC that failed late (the object added it, the answer was lost) is
 * not counted twice.
 *
 * What could still be lost: increments of an isolate that dies abruptly (a crash, or the 30 s limit
 * on `waitUntil` after the response passing while the object is unreachable). A batch the object
 * refused stays in the isolate and leaves first with the next flush; at most {@link MAX_UNSENT} of
 * them wait, older ones are merged back into the counts (sent again under a new id: only a batch
 * the object applied although its answer was lost, three times over, could then count twice).
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

/** RPC attempts per batch and flush before the batch waits for the next flush. */
const ATTEMPTS = 3;
/** Refused batches kept whole (same id) for the next flush; older ones merge back into the counts. */
const MAX_UNSENT = 16;

export class MetricsRecorder {
  #counters = new Map<string, number>();
  #gauges = new Map<string, { value: number; at: number }>();
  /** Batches whose send failed, oldest first: sent again as they are (same id) before anything newer. */
  #unsent: MetricsBatch[] = [];

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
    return this.#unsent.length > 0 || this.#counters.size > 0 || this.#gauges.size > 0;
  }

  /**
   * Sends everything counted so far, in this caller's own RPCs; resolves once they are sent, or a
   * batch failed {@link ATTEMPTS} times (it and the rest wait for the next flush).
   */
  async flush(sink: MetricsSink): Promise<void> {
    const batches = [...this.#unsent];
    this.#unsent = [];
    if (this.#counters.size > 0 || this.#gauges.size > 0) batches.push(this.#take());
    for (let i = 0; i < batches.length; i++) {
      if (!(await this.#send(sink, batches[i]!))) {
        this.#keep(batches.slice(i));
        return;
      }
    }
  }

  async #send(sink: MetricsSink, batch: MetricsBatch): Promise<boolean> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        await sink(batch);
        return true;
      } catch (err) {
        console.error(JSON.stringify({ msg: "metrics flush failed", attempt, err: loggableError(err) }));
      }
    }
    return false;
  }

  /** Keeps refused batches for the next flush, bounded: the oldest past the bound merge into the counts. */
  #keep(batches: MetricsBatch[]): void {
    this.#unsent = [...batches, ...this.#unsent];
    while (this.#unsent.length > MAX_UNSENT) {
      const oldest = this.#unsent.shift()!;
      for (const [key, n] of oldest.counters) this.#counters.set(key, (this.#counters.get(key) ?? 0) + n);
      for (const [key, value, at] of oldest.gauges)
        if ((this.#gauges.get(key)?.at ?? -1) < at) this.#gauges.set(key, { value, at });
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
