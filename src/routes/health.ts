/**
 * Quay's health endpoints beside `/health/live` (Quay `endpoints/web.py`, `health/healthcheck.py`,
 * `health/services.py`), open to anyone as in Quay, answering Quay's
 * `{data: {services, notes, is_testing}, status_code}` with 200 when every service answers and 503
 * otherwise, never cached. A failing service's cause goes to the log, never to the caller.
 *
 * `/health/instance` (and Quay's alias `/health`) and `/health/endtoend` check what every request
 * depends on: the database (D1), blob storage (R2), the EVENTS queue (a probe message its consumer
 * recognizes and drops, src/queues/consumer.ts) and Durable Objects (an RPC `ping` to the metrics'
 * object named `health`). Wharf has no local processes, service keys or disk (Quay's gunicorn,
 * service_key and disk_space checks), so both ask the same.
 *
 * `/health/warning` runs Quay's warning checks' counterparts: Quay warns of a disk running low
 * (`disk_space_warning`); Wharf has no disk and warns of what degrades it without breaking it:
 * - `queue_lag_warning`: a consumer's latest batch, observed in the last 15 minutes, held a message
 *   older than 5 minutes (events, pulls and notifications wait), or the EVENTS consumer has not
 *   consumed the probe this check sent more than 5 minutes ago (it sends one when none is pending);
 * - `dead_letter_warning`: a notification delivery went to the dead-letter queue in the last hour;
 * - `configuration_warning`: a setting Wharf tolerates but a deployment should not have: no
 *   SERVER_HOSTNAME (absolute URLs then follow the request's Host) or ALLOW_PRIVATE_OUTBOUND set
 *   (requests on users' behalf may reach private addresses).
 */
import { Hono, type Context } from "hono";
import { sql } from "drizzle-orm";
import { metricsObject } from "../metrics/recorder";
import { seriesKey } from "../metrics/catalogue";
import { HEALTH_PROBE } from "../queues/health-probe";
import { clock } from "../lib/clock";
import type { AppEnv } from "./app-env";

/** A key no blob ever has (blob keys are digests): a HEAD of it proves the bucket answers. */
const STORAGE_PROBE = "_health/probe";

const QUEUE_LAG_WARNING_SECONDS = 5 * 60;
const QUEUE_LAG_RECENT_MS = 15 * 60 * 1000;
const DEAD_LETTER_RECENT_MS = 60 * 60 * 1000;
/** When /health/warning last sent a probe still to be consumed (unix ms): kept beside the metrics, never served. */
const PROBE_SENT_KEY = "_health_probe_sent";
const EVENTS_LAG_KEY = seriesKey("wharf_queue_lag_seconds", { queue: "wharf-events" });

/**
 * How often an isolate runs a check that writes or asks a shared object. Health checks are open to
 * anyone, and each queue probe is a queue message (a write, billed, and a place in the queue before
 * real events), and each warning check reads the one metrics object every isolate flushes to: a
 * flood of checks must not become a flood of messages or of reads of that object. Within the
 * interval the last outcome answers (a load balancer polls every few seconds; a failure is
 * reported for at most this long after it is gone).
 */
export const HEALTH_CHECK_INTERVAL_MS = 10_000;

/**
 * What a check last found, kept as a settled result, never as the promise: a promise started by
 * one request is not awaited by another (Workers refuse I/O "on behalf of a different request").
 * While one request's check is in flight, others answer the last settled outcome, or, when there is
 * none yet, look again every {@link POLL_MS} for it (timers of their own) before running their own.
 */
const POLL_MS = 20;
const POLL_LIMIT_MS = 5_000;

interface Remembered {
  at: number;
  startedAt: number;
  settled: PromiseSettledResult<unknown> | null;
}
let recentChecks = new WeakMap<object, Map<string, Remembered>>();

/** Forgets every remembered outcome (tests that change what a check finds between cases). */
export function forgetHealthChecks(): void {
  recentChecks = new WeakMap();
}

/** `run()`'s outcome, or the one it gave for the same `binding` and `name` less than the interval ago. */
async function atMostEvery(binding: object, name: string, run: () => Promise<unknown>): Promise<unknown> {
  const now = clock.now();
  let byName = recentChecks.get(binding);
  if (!byName) {
    byName = new Map();
    recentChecks.set(binding, byName);
  }
  const last = byName.get(name);
  const fresh = (at: number) => now >= at && now - at < HEALTH_CHECK_INTERVAL_MS;
  if (last?.settled && (fresh(last.at) || fresh(last.startedAt))) return outcomeOf(last.settled);
  if (last && !last.settled && fresh(last.startedAt)) {
    for (let waited = 0; waited < POLL_LIMIT_MS && !last.settled; waited += POLL_MS)
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (last.settled) return outcomeOf(last.settled);
  }
  const entry: Remembered = { at: last?.at ?? 0, startedAt: now, settled: last?.settled ?? null };
  byName.set(name, entry);
  const [settled] = await Promise.allSettled([run()]);
  entry.at = clock.now();
  entry.settled = settled!;
  return outcomeOf(settled!);
}

function outcomeOf(settled: PromiseSettledResult<unknown>): unknown {
  if (settled.status === "rejected") throw settled.reason;
  return settled.value;
}

/** A check resolves true (up), false with a reason (a warning), or throws (down). */
type Check = (c: Context<AppEnv>) => Promise<unknown>;

const SERVICES: Record<string, Check> = {
  database: (c) => c.var.db.run(sql`select 1`),
  storage: (c) => c.var.store.size(STORAGE_PROBE),
  queue: (c) =>
    atMostEvery(c.env.EVENTS, "probe", () => c.env.EVENTS.sendBatch([{ body: { ...HEALTH_PROBE, at: clock.now() } }])),
  durable_objects: async (c) => {
    const answer = await c.env.METRICS.get(c.env.METRICS.idFromName("health")).ping();
    if (answer !== "pong") throw new Error(`unexpected ping answer: ${String(answer)}`);
  },
};

/** Queue lag: a recent batch's oldest message past 5 minutes, or the probe it sent unconsumed. */
async function queueLagWarning(c: Context<AppEnv>): Promise<void> {
  const { gauges } = await metricsObject(c.env).read();
  const now = clock.now();
  for (const { key, value, at } of gauges) {
    if (!key.startsWith("wharf_queue_lag_seconds{")) continue;
    if (now - at <= QUEUE_LAG_RECENT_MS && value > QUEUE_LAG_WARNING_SECONDS) throw new Error(`${key} is ${value} s`);
  }
  // A consumer that handles nothing reports no lag: the probe this check sent last must have
  // been consumed (a batch of the EVENTS queue observed since) within the same 5 minutes.
  const probe = gauges.find((g) => g.key === PROBE_SENT_KEY);
  const consumedAt = gauges.find((g) => g.key === EVENTS_LAG_KEY)?.at ?? 0;
  const pending = probe !== undefined && consumedAt < probe.value;
  if (pending && now - probe.value > QUEUE_LAG_WARNING_SECONDS * 1000)
    throw new Error(`no EVENTS batch consumed since a probe sent ${Math.round((now - probe.value) / 1000)} s ago`);
  if (!pending) {
    await c.env.EVENTS.sendBatch([{ body: { ...HEALTH_PROBE, at: now } }]);
    await metricsObject(c.env).add({ id: crypto.randomUUID(), counters: [], gauges: [[PROBE_SENT_KEY, now, now]] });
  }
}

/** A notification delivery dead-lettered in the last hour. */
async function deadLetterWarning(c: Context<AppEnv>): Promise<void> {
  const { counters } = await metricsObject(c.env).read();
  const key = seriesKey("wharf_queue_dead_lettered_total", { queue: "wharf-notifications" });
  const row = counters.find((series) => series.key === key);
  if (row && clock.now() - row.at <= DEAD_LETTER_RECENT_MS) throw new Error(`${key} grew to ${row.value}`);
}

/** Throws the reason a warning check fails. */
const WARNINGS: Record<string, Check> = {
  queue_lag_warning: (c) => atMostEvery(c.env.METRICS, "queue_lag_warning", () => queueLagWarning(c)),
  dead_letter_warning: (c) => atMostEvery(c.env.METRICS, "dead_letter_warning", () => deadLetterWarning(c)),
  configuration_warning: async (c) => {
    if ((c.env.SERVER_HOSTNAME ?? "").trim() === "") throw new Error("SERVER_HOSTNAME is not set");
    const outbound = (c.env.ALLOW_PRIVATE_OUTBOUND ?? "").trim();
    if (outbound !== "" && outbound !== "false") throw new Error("ALLOW_PRIVATE_OUTBOUND is set");
  },
};

async function health(c: Context<AppEnv>, checks: Record<string, Check>) {
  const names = Object.keys(checks);
  const outcomes = await Promise.allSettled(names.map((name) => checks[name]!(c)));
  const services: Record<string, boolean> = {};
  names.forEach((name, i) => {
    const outcome = outcomes[i]!;
    services[name] = outcome.status === "fulfilled";
    // The failure's cause goes to the log, never to an anonymous caller.
    if (outcome.status === "rejected")
      console.error(JSON.stringify({ msg: "health check failed", service: name, err: String(outcome.reason) }));
  });
  const statusCode = Object.values(services).every(Boolean) ? 200 : 503;
  c.header("Cache-Control", "no-store");
  return c.json({ data: { services, notes: [], is_testing: false }, status_code: statusCode }, statusCode);
}

export const healthRoutes = new Hono<AppEnv>();

for (const path of ["/health", "/health/instance", "/health/endtoend"]) {
  healthRoutes.get(path, (c) => health(c, SERVICES));
}
healthRoutes.get("/health/warning", (c) => health(c, WARNINGS));
