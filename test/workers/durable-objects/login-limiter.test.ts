/**
 * The login limiter's rules (src/identity/login-backoff.ts) and its Durable Object
 * (durable-objects/LoginLimiterDO.ts): backoff, attempts in flight, trusted addresses, and the
 * alarm that forgets. Time is passed in (the alarm reads the test clock); the alarm runs on demand.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  admit,
  backoffMs,
  emptyState,
  FAILURE_MEMORY_MS,
  recordFailure,
  recordSuccess,
  TICKET_MS,
  TRUST_MS,
  type LoginPolicy,
} from "../../../src/identity/login-backoff";
import { freezeClock } from "../helpers/clock";

const account: LoginPolicy = { kind: "account", freeFailures: 3, maxBackoffMs: 60_000 };
const address: LoginPolicy = { kind: "address", freeFailures: 3, maxBackoffMs: 60_000 };
const T0 = 1_700_000_000_000;

describe("backoff", () => {
  it("is free for the first failures, then 1 s doubling per failure up to the cap", () => {
    expect([0, 1, 2].map((f) => backoffMs(f, account))).toEqual([0, 0, 0]);
    expect([3, 4, 5, 6, 7, 8, 9, 10].map((f) => backoffMs(f, account))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000,
    ]);
    expect(backoffMs(5_000, account)).toBe(60_000);
  });

  it("refuses everything while the wait runs, and admits one attempt at a time afterwards", () => {
    const state = emptyState();
    for (let i = 0; i < 3; i++) {
      const a = admit(state, account, T0, "192.0.2.1");
      expect(a.admitted).toBe(true);
      recordFailure(state, account, a.admitted ? a.ticket : null, T0);
    }
    expect(admit(state, account, T0 + 999, "192.0.2.1")).toEqual({ admitted: false, retryAfterMs: 1 });
    const probe = admit(state, account, T0 + 1_000, "192.0.2.1");
    expect(probe.admitted).toBe(true);
    // A second attempt while the probe runs waits for it.
    expect(admit(state, account, T0 + 1_000, "192.0.2.1")).toEqual({
      admitted: false,
      retryAfterMs: 1_000,
      busy: true,
    });
    expect(recordFailure(state, account, probe.admitted ? probe.ticket : null, T0 + 1_000)).toBe(2_000);
  });
});

describe("attempts in flight", () => {
  it("count against an account's free failures until they end", () => {
    const state = emptyState();
    const admitted = [1, 2, 3, 4].map(() => admit(state, account, T0, null));
    expect(admitted.map((a) => a.admitted)).toEqual([true, true, true, false]);
    const ticket = admitted[0]!.admitted ? admitted[0]!.ticket : null;
    recordSuccess(state, account, ticket, T0, null);
    expect(admit(state, account, T0, null).admitted).toBe(true);
  });

  it("do not limit an address below its free failures (many clients share one)", () => {
    const state = emptyState();
    expect(Array.from({ length: 50 }, () => admit(state, address, T0, null).admitted).every(Boolean)).toBe(true);
  });

  it("lapse when a Worker never settles them", () => {
    const state = emptyState();
    for (let i = 0; i < 3; i++) admit(state, account, T0, null);
    expect(admit(state, account, T0 + TICKET_MS - 1, null).admitted).toBe(false);
    expect(admit(state, account, T0 + TICKET_MS, null).admitted).toBe(true);
  });
});

describe("successes", () => {
  it("reset an account and make its address trusted, past the account's wait, for TRUST_MS", () => {
    const state = emptyState();
    recordSuccess(state, account, null, T0, "192.0.2.7");
    for (let i = 0; i < 10; i++) recordFailure(state, account, null, T0 + 1);
    expect(admit(state, account, T0 + 2, "192.0.2.8").admitted).toBe(false);
    expect(admit(state, account, T0 + 2, "192.0.2.7")).toEqual({ admitted: true, ticket: null });
    recordSuccess(state, account, null, T0 + 3, null);
    expect(state.failures).toBe(0);
    expect(admit(state, account, T0 + 4, "192.0.2.8").admitted).toBe(true);
  });

  it("trust lapses TRUST_MS after the address's last success", () => {
    const state = emptyState();
    recordSuccess(state, account, null, T0, "192.0.2.7");
    expect(admit(state, account, T0 + TRUST_MS - 1, "192.0.2.7")).toEqual({ admitted: true, ticket: null });
    const later = admit(state, account, T0 + TRUST_MS, "192.0.2.7");
    expect(later.admitted && later.ticket).toEqual(expect.any(String));
    expect(state.trusted).toEqual({});
  });

  it("leave an address's failures alone", () => {
    const state = emptyState();
    for (let i = 0; i < 3; i++) recordFailure(state, address, null, T0);
    recordSuccess(state, address, null, T0, "192.0.2.9");
    expect(state.failures).toBe(3);
    expect(admit(state, address, T0, null).admitted).toBe(false);
  });
});

describe("LoginLimiterDO", () => {
  const stubOf = (name: string) => env.LOGIN_LIMITER.get(env.LOGIN_LIMITER.idFromName(name));
  // Alarms are real: workerd runs one set in the past at once, so these times start now.
  const T0 = Date.now();

  it("keeps the counter in storage and its alarm forgets it an hour after the last wait, leaving nothing", async () => {
    const stub = stubOf("account:test-forget");
    for (let i = 0; i < 4; i++) await stub.failed(account, null, T0);
    expect(await stub.admit(account, T0, null)).toEqual({ admitted: false, retryAfterMs: 2_000 });
    // 4 failures: a 2 s wait; forgotten an hour after it ends.
    const alarm = await runInDurableObject(stub, (_object, state) => state.storage.getAlarm());
    expect(alarm).toBe(T0 + 2_000 + FAILURE_MEMORY_MS);
    freezeClock(alarm!);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_object, state) => state.storage.list())).toEqual(new Map());
    expect(await runInDurableObject(stub, (_object, state) => state.storage.getAlarm())).toBeNull();
    expect((await stub.admit(account, alarm! + 1, null)).admitted).toBe(true);
  });

  it("an alarm before the time forgets nothing", async () => {
    const stub = stubOf("ip:192.0.2.50");
    for (let i = 0; i < 5; i++) await stub.failed(address, null, T0);
    freezeClock(T0 + 60_000);
    await runDurableObjectAlarm(stub);
    const kept = await runInDurableObject(stub, (_object, state) => state.storage.get<{ failures: number }>("state"));
    expect(kept?.failures).toBe(5);
    expect(await runInDurableObject(stub, (_object, state) => state.storage.getAlarm())).toBe(
      T0 + 4_000 + FAILURE_MEMORY_MS,
    );
  });
});
