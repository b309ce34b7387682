/**
 * Quay's health endpoints (src/routes/health.ts): `/health` (Quay's alias of `/health/instance`),
 * `/health/instance` and `/health/endtoend` answer Quay's shape with each service's state, 200
 * while the database, blob storage, the EVENTS queue and Durable Objects answer, 503 (naming the
 * failing service, never its error) when one does not. `/health/warning` answers Quay's shape for
 * Wharf's warnings (queue lag, dead-lettered notifications, tolerated settings). The queue's probe
 * is dropped by its consumer. Never cached.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { forgetHealthChecks, HEALTH_CHECK_INTERVAL_MS } from "../../src/routes/health";
import { metricsObject } from "../../src/metrics/recorder";
import { seriesKey } from "../../src/metrics/catalogue";
import { consumeQueue } from "../../src/queues/consumer";
import { clock } from "../../src/lib/clock";
import { advanceClock } from "./helpers/clock";
import { BASE } from "./helpers/registry";

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as any;

/** A binding whose every call fails, as a service does in an outage. */
const broken = <T>() =>
  new Proxy(
    {},
    {
      get: () => async () => {
        throw new Error("unavailable: secret-detail");
      },
    },
  ) as T;

/** A database whose statements fail when run (D1 prepares them without asking the database). */
const brokenDatabase = {
  prepare() {
    const statement = broken<D1PreparedStatement>();
    return Object.assign(Object.create(statement), { bind: () => statement });
  },
  batch: async () => {
    throw new Error("D1 unavailable: secret-detail");
  },
} as unknown as D1Database;

/** A Durable Object namespace whose objects do not answer. */
const brokenObjects = {
  idFromName: (name: string) => env.METRICS.idFromName(name),
  get: () => ({
    ping: async () => {
      throw new Error("DO unavailable: secret-detail");
    },
  }),
} as unknown as typeof env.METRICS;

const UP = { database: true, storage: true, queue: true, durable_objects: true };

async function health(path: string, bindings: Partial<Env> = {}) {
  const res = await createApp().fetch(new Request(`${BASE}${path}`), { ...env, ...bindings }, ctx);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  const text = await res.text();
  expect(text).not.toContain("secret-detail");
  return { status: res.status, json: JSON.parse(text) };
}

describe("health", () => {
  for (const path of ["/health", "/health/instance", "/health/endtoend"]) {
    it(`${path} answers Quay's shape, 200 with every service up`, async () => {
      expect(await health(path)).toEqual({
        status: 200,
        json: { data: { services: UP, notes: [], is_testing: false }, status_code: 200 },
      });
    });

    const outages: [string, Partial<Env>][] = [
      ["storage", { BLOBS: broken<R2Bucket>() }],
      ["database", { DB: brokenDatabase }],
      ["queue", { EVENTS: broken<Queue>() }],
      ["durable_objects", { METRICS: brokenObjects }],
    ];
    for (const [service, bindings] of outages) {
      it(`${path} answers 503 when ${service} fails, without the failure's detail`, async () => {
        const logged = vi.spyOn(console, "error").mockImplementation(() => {});
        expect(await health(path, bindings)).toEqual({
          status: 503,
          json: { data: { services: { ...UP, [service]: false }, notes: [], is_testing: false }, status_code: 503 },
        });
        expect(logged).toHaveBeenCalledWith(expect.stringContaining(`"service":"${service}"`));
        logged.mockRestore();
      });
    }
  }

  it("sends a queue probe the consumer acknowledges and drops", async () => {
    advanceClock(HEALTH_CHECK_INTERVAL_MS); // past the last test's probe (see below)
    const sent = vi.spyOn(env.EVENTS, "sendBatch");
    await health("/health/instance");
    const body = [...sent.mock.calls[0]![0]][0]!.body;
    expect(body).toMatchObject({ type: "health_probe" });
    sent.mockRestore();
    const message = { id: "m1", timestamp: new Date(), attempts: 1, body, ack: vi.fn(), retry: vi.fn() };
    await consumeQueue({ queue: "wharf-events", messages: [message] } as any, env);
    expect(message.ack).toHaveBeenCalledOnce();
    expect(message.retry).not.toHaveBeenCalled();
  });
  it("a flood of anonymous health checks sends one queue probe per 10 s per isolate, not one each", async () => {
    // A queue of its own, so no other test's probe counts.
    const sent = vi.fn(async () => {});
    const queue = { EVENTS: { send: async () => {}, sendBatch: sent } as unknown as Queue };
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => health(["/health", "/health/instance", "/health/endtoend"][i % 3]!, queue)),
    );
    for (const answer of answers) expect(answer.json.data.services).toEqual(UP);
    expect(sent).toHaveBeenCalledTimes(1);
    advanceClock(9_000);
    await health("/health/endtoend", queue);
    expect(sent).toHaveBeenCalledTimes(1);
    advanceClock(1_000);
    await health("/health/endtoend", queue);
    expect(sent).toHaveBeenCalledTimes(2);
  });
});

describe("/health/warning", () => {
  // An isolate answers a warning check from its last outcome within an interval
  // (src/routes/health.ts): each test starts afresh, and forgets it to check again at once.
  beforeEach(() => forgetHealthChecks());
  const configured = { SERVER_HOSTNAME: "registry.example.com" } as unknown as Partial<Env>;
  const quiet = { queue_lag_warning: true, dead_letter_warning: true, configuration_warning: true };

  it("answers 200 with every warning check passing", async () => {
    expect(await health("/health/warning", configured)).toEqual({
      status: 200,
      json: { data: { services: quiet, notes: [], is_testing: false }, status_code: 200 },
    });
  });

  it("warns (503) of a setting a deployment should not keep: no SERVER_HOSTNAME, private outbound allowed", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    for (const bindings of [{}, { ...configured, ALLOW_PRIVATE_OUTBOUND: "true" }] as unknown as Partial<Env>[]) {
      const answer = await health("/health/warning", bindings);
      expect(answer.status).toBe(503);
      expect(answer.json.data.services).toEqual({ ...quiet, configuration_warning: false });
    }
    vi.restoreAllMocks();
  });

  it("warns of a queue lagging more than 5 minutes, while the observation is recent", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const key = seriesKey("wharf_queue_lag_seconds", { queue: "wharf-events" });
    const observe = (seconds: number, at: number) =>
      metricsObject(env).add({ id: crypto.randomUUID(), counters: [], gauges: [[key, seconds, at]] });
    await observe(301, clock.now());
    expect((await health("/health/warning", configured)).json.data.services.queue_lag_warning).toBe(false);
    forgetHealthChecks();
    await observe(2, clock.now() + 1);
    expect((await health("/health/warning", configured)).json.data.services.queue_lag_warning).toBe(true);
    vi.restoreAllMocks();
  });

  it("warns when the EVENTS consumer has not consumed the probe it sent 5 minutes ago", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const sent = vi.spyOn(env.EVENTS, "sendBatch");
    const lagKey = seriesKey("wharf_queue_lag_seconds", { queue: "wharf-events" });
    // A batch consumed now: no probe pending, so this check sends one.
    await metricsObject(env).add({ id: crypto.randomUUID(), counters: [], gauges: [[lagKey, 1, clock.now()]] });
    expect((await health("/health/warning", configured)).json.data.services.queue_lag_warning).toBe(true);
    expect(sent).toHaveBeenCalledOnce();
    // Pending, not yet late: no second probe.
    advanceClock(4 * 60_000);
    expect((await health("/health/warning", configured)).json.data.services.queue_lag_warning).toBe(true);
    advanceClock(2 * 60_000);
    expect((await health("/health/warning", configured)).json.data.services.queue_lag_warning).toBe(false);
    expect(sent).toHaveBeenCalledOnce();
    // The consumer catches up (a batch observed now): all clear, and a new probe goes out.
    forgetHealthChecks();
    await metricsObject(env).add({ id: crypto.randomUUID(), counters: [], gauges: [[lagKey, 1, clock.now()]] });
    expect((await health("/health/warning", configured)).json.data.services.queue_lag_warning).toBe(true);
    expect(sent).toHaveBeenCalledTimes(2);
    vi.restoreAllMocks();
  });

  it("a flood of anonymous /health/warning reads the metrics' object once per 10 s per isolate", async () => {
    // A metrics namespace of its own that counts the calls made on its objects.
    let calls = 0;
    const METRICS = {
      idFromName: (name: string) => env.METRICS.idFromName(name),
      get: (id: DurableObjectId) => {
        const stub = env.METRICS.get(id);
        return {
          read: () => {
            calls++;
            return stub.read();
          },
          add: (batch: Parameters<typeof stub.add>[0]) => {
            calls++;
            return stub.add(batch);
          },
        };
      },
    } as unknown as typeof env.METRICS;
    const bindings = { ...configured, METRICS };
    const answers = await Promise.all(Array.from({ length: 30 }, () => health("/health/warning", bindings)));
    for (const answer of answers) expect(answer.status).toBe(answers[0]!.status);
    const once = calls;
    expect(once).toBeGreaterThan(0);
    expect(once).toBeLessThanOrEqual(4); // the checks' reads and the probe's note, not 30 times that
    advanceClock(HEALTH_CHECK_INTERVAL_MS);
    await health("/health/warning", bindings);
    expect(calls).toBeGreaterThan(once);
  });

  it("warns of a notification delivery dead-lettered in the last hour", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const key = seriesKey("wharf_queue_dead_lettered_total", { queue: "wharf-notifications" });
    await metricsObject(env).add({ id: crypto.randomUUID(), counters: [[key, 1]], gauges: [] });
    const answer = await health("/health/warning", configured);
    expect(answer.status).toBe(503);
    expect(answer.json.data.services).toEqual({ ...quiet, dead_letter_warning: false });
    vi.restoreAllMocks();
  });
});
