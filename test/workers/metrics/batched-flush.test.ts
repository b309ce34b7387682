/**
 * The metrics leave a Worker isolate batched (src/metrics/recorder.ts `flushSoon`): a response
 * sends nothing itself unless many increments wait; the first one arms a timer in its own
 * waitUntil, and every increment is covered by a timer until it has been sent.
 */
import { describe, expect, it } from "vitest";
import { type MetricsBatch, MetricsRecorder } from "../../../src/metrics/recorder";

const COUNTER = "quay_gc_storage_blobs_deleted_total";

/** A recorder on a hand-driven clock and timers, with what its flushes sent and its waitUntils. */
function harness(flushAtIncrements = 5, flushAfterMs = 1000) {
  let now = 0;
  const timers: (() => void)[] = [];
  const recorder = new MetricsRecorder({
    flushAtIncrements,
    flushAfterMs,
    now: () => now,
    sleep: () => new Promise<void>((resolve) => timers.push(resolve)),
  });
  const sent: MetricsBatch[] = [];
  const sink = async (batch: MetricsBatch) => {
    sent.push(batch);
  };
  const waiting: Promise<unknown>[] = [];
  const ctx = { waitUntil: (promise: Promise<unknown>) => void waiting.push(promise) };
  const total = () => sent.flatMap((b) => b.counters).reduce((sum, [, n]) => sum + n, 0);
  return {
    recorder,
    sent,
    waiting,
    total,
    respond: () => recorder.flushSoon(ctx, sink),
    advance(ms: number) {
      now += ms;
    },
    /** Fires the timers armed so far and waits for what they flush. */
    async fire() {
      for (const resolve of timers.splice(0)) resolve();
      await Promise.all(waiting.splice(0));
    },
  };
}

describe("the batched metrics flush", () => {
  it("sends nothing per response: one timer per isolate sends what many responses counted, once", async () => {
    const h = harness();
    for (let i = 0; i < 4; i++) {
      h.recorder.count(COUNTER, {});
      h.respond();
    }
    expect(h.sent).toEqual([]);
    expect(h.waiting).toHaveLength(1);
    await h.fire();
    expect(h.sent).toHaveLength(1);
    expect(h.total()).toBe(4);
    expect(h.recorder.pending).toBe(false);
  });

  it("flushes at once when enough increments wait", async () => {
    const h = harness(5);
    for (let i = 0; i < 5; i++) h.recorder.count(COUNTER, {});
    h.respond();
    await Promise.all(h.waiting.splice(0));
    expect(h.total()).toBe(5);
    expect(h.recorder.pending).toBe(false);
  });

  it("covers an increment made after a timer's flush with a new timer", async () => {
    const h = harness();
    h.recorder.count(COUNTER, {}, 2);
    h.respond();
    await h.fire();
    h.recorder.count(COUNTER, {}, 3);
    h.respond();
    expect(h.waiting).toHaveLength(1);
    await h.fire();
    expect(h.total()).toBe(5);
  });

  it("arms another timer when the armed one never fired (its request was cut short)", async () => {
    const h = harness(100, 1000);
    h.recorder.count(COUNTER, {});
    h.respond();
    h.waiting.length = 0; // the request that armed it is gone
    h.advance(1500);
    h.recorder.count(COUNTER, {});
    h.respond();
    expect(h.waiting).toHaveLength(0);
    h.advance(600);
    h.respond();
    expect(h.waiting).toHaveLength(1);
    await h.fire();
    expect(h.total()).toBe(2);
  });

  it("arms nothing for a response that leaves nothing pending", () => {
    const h = harness();
    h.respond();
    expect(h.waiting).toEqual([]);
  });
});
