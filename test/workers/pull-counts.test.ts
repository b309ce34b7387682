/** The per-isolate pull counter (src/registry/pull-counts.ts): when pulls leave, how they are packed, what a failed send keeps. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { PullCounter, type PullRecord, type PullsMessage } from "../../src/registry/pull-counts";

function fakeQueue(failures = 0) {
  const sends: PullsMessage[][] = [];
  let failing = failures;
  const queue = {
    async sendBatch(messages: Iterable<{ body: PullsMessage }>) {
      if (failing-- > 0) throw new Error("queue unavailable");
      sends.push([...messages].map((m) => m.body));
    },
  } as unknown as Queue;
  return { queue, sends, sent: () => sends.flat().flatMap((m) => m.pulls) };
}

/** A clock and a sleep the test moves by hand. */
function manualTime() {
  let now = 1_000_000;
  const timers: { ms: number; fire: () => void }[] = [];
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    sleep: (ms: number) => new Promise<void>((resolve) => timers.push({ ms, fire: resolve })),
    timers,
    fireAll: () => {
      for (const timer of timers.splice(0)) timer.fire();
    },
  };
}

function context() {
  const promises: Promise<unknown>[] = [];
  return { waitUntil: (p: Promise<unknown>) => void promises.push(p), settled: () => Promise.all(promises) };
}

/** Lets every flush under way finish (the fake queue answers at once); armed timers stay armed. */
const flushed = () => new Promise((resolve) => setTimeout(resolve, 5));

let serial = 0;
function pull(extra: Partial<PullRecord> = {}): PullRecord {
  serial++;
  return {
    repositoryId: 1,
    repository: "org/app",
    namespace: "org",
    digest: `sha256:${String(serial).padStart(64, "0")}`,
    tag: "latest",
    actor: { kind: "anonymous" },
    clientIp: "192.0.2.1",
    at: serial,
    ...extra,
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("PullCounter", () => {
  it("holds pulls until a batch is full, then sends each once, in order, in one message", async () => {
    const { queue, sends, sent } = fakeQueue();
    const time = manualTime();
    const counter = new PullCounter(queue, { flushAtPulls: 5, flushAfterMs: 10_000, ...time });
    const ctx = context();
    const pulls = Array.from({ length: 12 }, () => pull());
    for (const p of pulls.slice(0, 4)) counter.record(ctx, p);
    await flushed();
    expect(sends).toEqual([]);
    expect(counter.waiting).toBe(4);

    counter.record(ctx, pulls[4]!);
    for (const p of pulls.slice(5)) counter.record(ctx, p);
    await flushed();
    // Only the two full batches have left; the timer the first pull armed has not gone off.
    expect(sends).toEqual([
      [{ type: "pulls", pulls: pulls.slice(0, 5) }],
      [{ type: "pulls", pulls: pulls.slice(5, 10) }],
    ]);
    expect(counter.waiting).toBe(2);
    expect(sent()).toEqual(pulls.slice(0, 10));
  });

  it("sends what waits once the first waiting pull's timer goes off, arming one timer per batch", async () => {
    const { queue, sent } = fakeQueue();
    const time = manualTime();
    const counter = new PullCounter(queue, { flushAtPulls: 100, flushAfterMs: 10_000, ...time });
    const ctx = context();
    const pulls = [pull(), pull(), pull()];
    for (const p of pulls) counter.record(ctx, p);
    expect(time.timers.map((t) => t.ms)).toEqual([10_000]);
    expect(sent()).toEqual([]);
    time.fireAll();
    await ctx.settled();
    expect(sent()).toEqual(pulls);
    expect(counter.waiting).toBe(0);

    counter.record(ctx, pull());
    expect(time.timers).toHaveLength(1);
  });

  it("sends at once when the oldest waiting pull is old (its timer lost), and re-arms a lost timer", async () => {
    const { queue, sent } = fakeQueue();
    const time = manualTime();
    const counter = new PullCounter(queue, { flushAtPulls: 100, flushAfterMs: 10_000, ...time });
    const ctx = context();
    const first = pull();
    counter.record(ctx, first);
    time.advance(10_000);
    const second = pull();
    counter.record(ctx, second);
    await flushed();
    expect(sent()).toEqual([first, second]);

    // The first timer never fired (its request was cut short): after twice its time, another.
    time.advance(10_001);
    counter.record(ctx, pull());
    expect(time.timers.map((t) => t.ms)).toEqual([10_000, 10_000]);
  });

  it("packs pulls into messages of at most 64 KiB and sends at most three messages a call", async () => {
    const { queue, sends, sent } = fakeQueue();
    const counter = new PullCounter(queue, { flushAtPulls: 300, flushAfterMs: 10_000, ...manualTime() });
    const ctx = context();
    const pulls = Array.from({ length: 300 }, () => pull({ repository: `org/${"x".repeat(1000)}` }));
    for (const p of pulls) counter.record(ctx, p);
    await flushed();
    const messages = sends.flat();
    expect(messages.length).toBeGreaterThan(3);
    for (const message of messages) expect(JSON.stringify(message).length).toBeLessThanOrEqual(64 * 1024 + 100);
    for (const call of sends) expect(call.length).toBeLessThanOrEqual(3);
    expect(sent()).toEqual(pulls);
  });

  it("keeps the pulls of a failed send for the next flush, and says so", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { queue, sent } = fakeQueue(1);
    const counter = new PullCounter(queue, { flushAtPulls: 3, flushAfterMs: 10_000, ...manualTime() });
    const ctx = context();
    const pulls = [pull(), pull(), pull(), pull()];
    for (const p of pulls.slice(0, 3)) counter.record(ctx, p);
    await flushed();
    expect(sent()).toEqual([]);
    expect(counter.waiting).toBe(3);
    expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({ msg: "pulls not queued", kept: 3, dropped: 0 });

    counter.record(ctx, pulls[3]!);
    await flushed();
    expect(sent()).toEqual(pulls);
    expect(counter.waiting).toBe(0);
  });
});
