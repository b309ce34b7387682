/**
 * The metrics' aggregate itself (src/metrics/recorder.ts, durable-objects/MetricsDO.ts) and the
 * places off the request path that count: increments are coalesced into one RPC at a time and a
 * batch retried after a late failure is added once; the queue handler records each batch's lag and
 * size; garbage collection's deletes count the blobs and bytes they reclaim; notification
 * deliveries count their failures and what they give up to the dead-letter queue.
 */
import { createExecutionContext, createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../src/index";
import { deleteIfUnchanged } from "../../../src/gc/r2-sweep";
import { type MetricsBatch, MetricsRecorder, flushMetrics, metricsObject } from "../../../src/metrics/recorder";
import { MemoryBlobStore } from "../../../src/storage/memory-blob-store";
import { consumeDeliveries } from "../helpers/notifications";

afterEach(() => vi.restoreAllMocks());

/** A series' value in the aggregate, after this isolate's increments have been sent. */
async function seriesValue(key: string): Promise<number> {
  await flushMetrics(env);
  const { counters, gauges } = await metricsObject(env).read();
  return [...counters, ...gauges].find((s) => s.key === key)?.value ?? 0;
}

describe("the recorder", () => {
  it("never hands one caller's flush to another: each sends what was pending when it began", async () => {
    // Workers refuse I/O on behalf of a different request: a request's waitUntil must not await a
    // promise another request started.
    const recorder = new MetricsRecorder();
    const sent: MetricsBatch[] = [];
    let release: () => void = () => {};
    const sink = async (batch: MetricsBatch) => {
      sent.push(batch);
      if (sent.length === 1) await new Promise<void>((resolve) => (release = resolve));
    };
    recorder.count("quay_gc_storage_blobs_deleted_total", {}, 2);
    const first = recorder.flush(sink);
    await Promise.resolve();
    recorder.count("quay_gc_storage_blobs_deleted_total", {}, 3);
    recorder.count("quay_gc_storage_blobs_deleted_total", {}, 4);
    const second = recorder.flush(sink);
    expect(second).not.toBe(first);
    await second;
    release();
    await first;
    expect(sent.map((b) => b.counters)).toEqual([
      [["quay_gc_storage_blobs_deleted_total", 2]],
      [["quay_gc_storage_blobs_deleted_total", 7]],
    ]);
    expect(new Set(sent.map((b) => b.id)).size).toBe(2);
    expect(recorder.pending).toBe(false);
  });

  it("adds a batch once though its RPC failed after the object applied it", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const key = "wharf_gc_reclaimed_bytes_total";
    const before = await seriesValue(key);
    const recorder = new MetricsRecorder();
    const ids: string[] = [];
    const lateFailure = async (batch: MetricsBatch) => {
      ids.push(batch.id);
      await metricsObject(env).add(batch);
      if (ids.length === 1) throw new Error("connection lost after the add");
    };
    recorder.count(key, {}, 5);
    await recorder.flush(lateFailure);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect(await seriesValue(key)).toBe(before + 5);
  });

  it("keeps what the object refused for the next flush", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const recorder = new MetricsRecorder();
    recorder.count("wharf_gc_reclaimed_bytes_total", {}, 1);
    await recorder.flush(async () => {
      throw new Error("object unreachable");
    });
    expect(recorder.pending).toBe(true);
    const sent: MetricsBatch[] = [];
    await recorder.flush(async (batch) => void sent.push(batch));
    expect(sent.map((b) => b.counters)).toEqual([[["wharf_gc_reclaimed_bytes_total", 1]]]);
  });
});

describe("off the request path", () => {
  it("the queue handler records a batch's size and how long its oldest message waited", async () => {
    const key = 'wharf_queue_messages_total{queue="wharf-events"}';
    const before = await seriesValue(key);
    const sent = Date.now() - 120_000;
    const batch = createMessageBatch("wharf-events", [
      { id: "p1", timestamp: new Date(sent), attempts: 1, body: { type: "health_probe" } },
      { id: "p2", timestamp: new Date(sent + 60_000), attempts: 1, body: { type: "health_probe" } },
    ]);
    await worker.queue(batch, env, createExecutionContext());
    expect(await seriesValue(key)).toBe(before + 2);
    const lag = await seriesValue('wharf_queue_lag_seconds{queue="wharf-events"}');
    expect(lag).toBeGreaterThanOrEqual(120);
    expect(lag).toBeLessThan(180);
  });

  it("garbage collection's deletes count the blobs and the bytes reclaimed", async () => {
    const store = new MemoryBlobStore(() => 1_000);
    const put = async (key: string, size: number) => {
      const bytes = new Uint8Array(size);
      const hex = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("");
      await store.putVerified(key, bytes, hex);
    };
    await put("gc/a", 300);
    await put("gc/b", 45);
    const [blobs, bytes] = ["quay_gc_storage_blobs_deleted_total", "wharf_gc_reclaimed_bytes_total"];
    const before = [await seriesValue(blobs), await seriesValue(bytes)];
    // `gc/missing` is gone already and `gc/b` is kept (written after the cut-off): neither counts.
    expect(await deleteIfUnchanged(store, ["gc/a", "gc/missing"], 1_000)).toBe(1);
    expect(await deleteIfUnchanged(store, ["gc/b"], 999)).toBe(0);
    expect([await seriesValue(blobs), await seriesValue(bytes)]).toEqual([before[0]! + 1, before[1]! + 300]);
  });

  it("a notification delivery that cannot run on its last attempt counts as dead-lettered", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const key = 'wharf_queue_dead_lettered_total{queue="wharf-notifications"}';
    const before = await seriesValue(key);
    vi.spyOn(env.DB, "prepare").mockImplementation(() => {
      throw new Error("D1 unreachable");
    });
    const delivery = { id: crypto.randomUUID(), notification: crypto.randomUUID(), event: "repo_push", payload: {} };
    const early = await consumeDeliveries([delivery], 3);
    const last = await consumeDeliveries([delivery], 11);
    vi.restoreAllMocks();
    expect(early.retryMessages).toHaveLength(1);
    expect(last.retryMessages).toHaveLength(1);
    expect(await seriesValue(key)).toBe(before + 1);
  });
});
