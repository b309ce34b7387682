/**
 * The exact aggregate behind `/metrics`: every increment a Worker isolate makes is summed here, in
 * the isolate, and added to the one MetricsDO (durable-objects/MetricsDO.ts) by a flush that runs
 * after a response, in `waitUntil` (src/app.ts `meter`; the queue and cron handlers await it).
 *
 * Batched per isolate: a response that leaves increments pending does not send them itself (one
 * RPC to one global object per counted request was the price of a pull, issue #20). It flushes
 * at once only when {@link FLUSH_AT_INCREMENTS} wait; otherwise the first such response arms a
 * timer in its own `waitUntil` that flushes everything pending {@link FLUSH_AFTER_MS} later, as
 * src/registry/pull-counts.ts sends pulls. A scrape of `/metrics` flushes its own isolate first
 * and sees the others' counts at most {@link FLUSH_AFTER_MS} late.
 *
 * Why still exact: nothing is sampled (Analytics Engine samples, and drops writes under load).
 * Every pending increment is covered by a live `waitUntil` that will send it: the timer armed
 * when it was counted or before (the timer is disarmed before its flush takes the counts, so an
 * increment made after that arms a new one), and the runtime keeps an isolate alive until its
 * `waitUntil` promises settle (up to 30 s after the response, more than the timer's wait), so an
 * isolate evicted after answering still sends what it counted, as before. Every flush sends in its
 * own request's context: a promise started by one request is never handed to another (Workers
 * refuse I/O "on behalf of a different request"), and the timer's flush runs inside the `waitUntil`
 * of the request that armed it. The object adds batches in any order and applies a batch's id
 * once, so a batch retried after an RPC that failed late (the object added it, the answer was
 * lost) is not counted twice.
 *
 * What could still be lost: increments of an isolate that dies abruptly (a crash, or the 30 s limit
 * on `waitUntil` passing while the object is unreachable). Batching widens that window from the
 * requests in flight to at most {@link FLUSH_AFTER_MS} (or {@link FLUSH_AT_INCREMENTS}
 * increments) of the isolate's traffic; a timer whose request was cut short is replaced after
 * twice its wait. A batch the object refused stays in the isolate and leaves first with the next
 * flush; at most {@link MAX_UNSENT} of them wait, older ones are merged back into the counts (sent
 * again under a new id: only a batch the object applied although its answer was lost, three times
 * over, could then count twice).
 */
import { readConfig } from "../config";
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
/** A response flushes at once when this many increments wait in the isolate… */
export const FLUSH_AT_INCREMENTS = 500;
/** …otherwise pending increments leave at most this long after the first of them was counted. */
export const FLUSH_AFTER_MS = 10_000;

interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

export interface FlushTiming {
  flushAtIncrements: number;
  flushAfterMs: number;
  now: () => number;
  /** Resolves after `ms`: a timed flush waits on it, inside the `waitUntil` of the request that armed it. */
  sleep: (ms: number) => Promise<void>;
}

const timing: FlushTiming = {
  flushAtIncrements: FLUSH_AT_INCREMENTS,
  flushAfterMs: FLUSH_AFTER_MS,
  now: () => clock.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class MetricsRecorder {
  #counters = new Map<string, number>();
  #gauges = new Map<string, { value: number; at: number }>();
  /** Batches whose send failed, oldest first: sent again as they are (same id) before anything newer. */
  #unsent: MetricsBatch[] = [];
  /** Increments counted since the last flush took the counts. */
  #increments = 0;
  /** When a timed flush was armed, or null when none is pending. */
  #armedAt: number | null = null;
  readonly #timing: FlushTiming;

  constructor(options: Partial<FlushTiming> = {}) {
    this.#timing = { ...timing, ...options };
  }

  /** Adds `n` (a non-negative integer) to a counter. */
  count<N extends MetricName>(name: N, labels: LabelsOf<N>, n = 1): void {
    if (!Number.isSafeInteger(n) || n <= 0) return;
    const key = seriesKey(name, labels);
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + n);
    this.#increments++;
  }

  /** Sets a gauge to its latest observed value. */
  observe<N extends MetricName>(name: N, labels: LabelsOf<N>, value: number): void {
    if (!Number.isFinite(value)) return;
    this.#gauges.set(seriesKey(name, labels), { value, at: clock.now() });
    this.#increments++;
  }

  get pending(): boolean {
    return this.#unsent.length > 0 || this.#counters.size > 0 || this.#gauges.size > 0;
  }

  /**
   * After a response: what is pending leaves through `ctx.waitUntil`, at once when
   * {@link FLUSH_AT_INCREMENTS} wait, else with the one timer armed for the isolate. A response
   * that counted nothing, or while a timer is armed, sends nothing.
   */
  flushSoon(ctx: WaitUntil, sink: MetricsSink, afterMs?: number): void {
    if (!this.pending) return;
    const { flushAtIncrements, now, sleep } = this.#timing;
    const flushAfterMs = afterMs ?? this.#timing.flushAfterMs;
    if (this.#increments >= flushAtIncrements || flushAfterMs === 0) {
      ctx.waitUntil(this.flush(sink));
      return;
    }
    const at = now();
    // A timer whose request was cut short never fires: after twice its time, arm another.
    if (this.#armedAt !== null && at - this.#armedAt <= 2 * flushAfterMs) return;
    this.#armedAt = at;
    ctx.waitUntil(
      sleep(flushAfterMs).then(() => {
        this.#armedAt = null;
        return this.flush(sink);
      }),
    );
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
    this.#increments = 0;
    return batch;
  }
}

/** The isolate's recorder: one per isolate, as src/registry/pull-counts.ts keeps one pull counter. */
export const metrics = new MetricsRecorder();

/** The MetricsDO instance holding the aggregate (one: see durable-objects/MetricsDO.ts on its load). */
export function metricsObject(env: Env) {
  return env.METRICS.get(env.METRICS.idFromName("metrics"));
}

/** Where `env`'s batches go: its MetricsDO, the stub made when a batch leaves (in that request's context). */
function metricsSink(env: Env): MetricsSink {
  return (batch) => metricsObject(env).add(batch);
}

/** Flushes the isolate's increments to `env`'s MetricsDO now. */
export function flushMetrics(env: Env): Promise<void> {
  return metrics.flush(metricsSink(env));
}

/** After a response: the isolate's increments leave batched (see the module comment), never per request. */
export function flushMetricsSoon(env: Env, ctx: WaitUntil): void {
  metrics.flushSoon(ctx, metricsSink(env), flushAfterMsOf(env));
}

/**
 * METRICS_FLUSH_SECONDS in ms. While the configuration is invalid (its 503s are counted too) the
 * key is read alone, so that another key's mistake does not change how metrics leave.
 */
function flushAfterMsOf(env: Env): number | undefined {
  try {
    return readConfig(env).METRICS_FLUSH_SECONDS * 1000;
  } catch {
    const seconds = Number((env as { METRICS_FLUSH_SECONDS?: unknown }).METRICS_FLUSH_SECONDS ?? Number.NaN);
    return Number.isFinite(seconds) && seconds >= 0 && seconds <= 25 ? seconds * 1000 : undefined;
  }
}

/** Counts a queue batch a consumer is handed, and its lag: how long its oldest message waited. */
export function observeQueueBatch(batch: MessageBatch<unknown>): void {
  if (batch.messages.length === 0) return;
  const oldest = Math.min(...batch.messages.map((m) => m.timestamp.getTime()));
  metrics.count("wharf_queue_messages_total", { queue: batch.queue }, batch.messages.length);
  metrics.observe("wharf_queue_lag_seconds", { queue: batch.queue }, Math.max(0, clock.now() - oldest) / 1000);
}
