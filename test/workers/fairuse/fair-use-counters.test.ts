/**
 * The fair-use token bucket (src/fairuse/token-bucket.ts) and its Durable Object
 * (durable-objects/FairUseDO.ts): refill, the Retry-After a refusal gives, a cost larger than the
 * whole budget, leases, one key's bucket apart from another's, a changed policy, and the alarm that
 * empties a full key. Time is passed in; the alarm runs on demand.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { take } from "../../../src/fairuse/token-bucket";

const T0 = 1_700_000_000_000;
const perMinute = (capacity: number) => ({ capacity, periodMs: 60_000 });
const stub = (key: string) => env.FAIR_USE.get(env.FAIR_USE.idFromName(key));

describe("the token bucket", () => {
  it("admits a full bucket's worth, then refuses with the wait until one more unit refills", () => {
    let bucket = null;
    for (let i = 0; i < 6; i++) {
      const r = take(bucket, perMinute(6), 1, 0, T0);
      expect(r.take).toEqual({ admitted: true, granted: 1 });
      bucket = r.bucket;
    }
    // 6 a minute: one every 10 s.
    expect(take(bucket, perMinute(6), 1, 0, T0).take).toEqual({ admitted: false, retryAfterMs: 10_000 });
    expect(take(bucket, perMinute(6), 1, 0, T0 + 4_000).take).toEqual({ admitted: false, retryAfterMs: 6_000 });
    expect(take(bucket, perMinute(6), 1, 0, T0 + 10_000).take).toEqual({ admitted: true, granted: 1 });
  });

  it("never refills above capacity however long it rested", () => {
    const spent = take(null, perMinute(6), 6, 0, T0).bucket;
    const rested = take(spent, perMinute(6), 1, 100, T0 + 3_600_000);
    expect(rested.take).toEqual({ admitted: true, granted: 6 });
  });

  it("serves a cost above the whole budget from a full bucket, leaving it in debt", () => {
    const r = take(null, perMinute(1000), 2500, 0, T0);
    expect(r.take).toEqual({ admitted: true, granted: 2500 });
    expect(r.bucket.tokens).toBe(-1500);
    // Refilling the debt and the next unit: 1501 units at 1000 a minute.
    expect(take(r.bucket, perMinute(1000), 1, 0, T0).take).toEqual({ admitted: false, retryAfterMs: 90_060 });
  });

  it("grants a lease only from what is there", () => {
    expect(take(null, perMinute(10), 1, 4, T0).take).toEqual({ admitted: true, granted: 5 });
    const low = take(null, perMinute(10), 8, 0, T0).bucket;
    expect(take(low, perMinute(10), 1, 4, T0).take).toEqual({ admitted: true, granted: 2 });
  });
});

describe("FairUseDO", () => {
  it("keeps each key's buckets apart, and each dimension's", async () => {
    const noisy = stub("ns:noisy-counters");
    const quiet = stub("ns:quiet-counters");
    for (let i = 0; i < 3; i++)
      expect(await noisy.take("requests", perMinute(3), 1, 0, T0)).toMatchObject({ admitted: true });
    expect(await noisy.take("requests", perMinute(3), 1, 0, T0)).toEqual({ admitted: false, retryAfterMs: 20_000 });
    expect(await quiet.take("requests", perMinute(3), 1, 0, T0)).toEqual({ admitted: true, granted: 1 });
    expect(await noisy.take("bytes", { capacity: 100, periodMs: 3_600_000 }, 60, 0, T0)).toEqual({
      admitted: true,
      granted: 60,
    });
  });

  it("takes a changed policy at the next charge (a superuser's override)", async () => {
    const key = stub("ns:override-counters");
    for (let i = 0; i < 2; i++) await key.take("requests", perMinute(2), 1, 0, T0);
    expect(await key.take("requests", perMinute(2), 1, 0, T0)).toMatchObject({ admitted: false });
    // Raised to 120 a minute: two a second refill, and the spent bucket is what it was.
    expect(await key.take("requests", perMinute(120), 1, 0, T0 + 500)).toEqual({ admitted: true, granted: 1 });
  });

  it("empties itself with the alarm once every bucket is full again", async () => {
    // An alarm in the past would run at once: this test's time is the system's.
    const T0 = Date.now();
    const key = stub("ns:alarm-counters");
    await key.take("requests", perMinute(60), 30, 0, T0);
    await key.take("bytes", { capacity: 3_600, periodMs: 3_600_000 }, 100, 0, T0);
    const alarm = await runInDurableObject(key, (_, state) => state.storage.getAlarm());
    // The bytes refill last: 100 bytes at one a second.
    expect(alarm).toBe(T0 + 100_000);
    expect(await key.bucket("requests")).toMatchObject({ tokens: 30 });
    expect(await runDurableObjectAlarm(key)).toBe(true);
    expect(await key.bucket("requests")).toBeNull();
    expect(await key.bucket("bytes")).toBeNull();
  });
});
