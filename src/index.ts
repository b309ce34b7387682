/**
 * Worker entry: HTTP through the hono app, queue batches through the events consumer or the
 * notifications' deliveries, and the Cron Trigger (wrangler.toml `[triggers]`) through auto-prune
 * and garbage collection.
 */
import { createApp } from "./app";
import { type Db, database } from "./db/client";
import { sweepDelivered } from "./events/deliveries";
import { retainActionLogs } from "./events/logs-retention";
import { stepShardMoves } from "./db/shard-moves";
import { coreMoves } from "./registry/core-moves";
import { allShards, type Shard } from "./db/shards";
import { sweepFiledrops } from "./builds/filedrop";
import { R2BlobStore } from "./storage/r2-blob-store";
import { sweepLogExports } from "./events/logs-export-delivery";
import { drainOutbox } from "./events/outbox";
import { runAutoprune } from "./gc/autoprune";
import { runGarbageCollection } from "./gc/scheduler";
import { consumeNotifications } from "./notifications/delivery";
import { expiryScanDue, notifyExpiringTags } from "./notifications/expiry";
import { consumeQueue } from "./queues/consumer";
import { configIssues, isReadOnly, readConfig } from "./config";
import { flushMetrics, observeQueueBatch } from "./metrics/recorder";
import { queueDueMirrors } from "./mirror/sync";
import { queueDueOrgMirrors } from "./mirror/org-sync";
import { sweepConnectorJobs } from "./routes/connector";
import { loggableError } from "./lib/loggable-error";

export {
  EventStreamDO,
  FairUseDO,
  LoginLimiterDO,
  MetricsDO,
  ProxyBlobDO,
  RepositoryDO,
  UploadSessionDO,
} from "../durable-objects";

const app = createApp();

/** Runs one step of the tick, logging its failure under `name` rather than ending the tick. */
async function step(name: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    console.error(JSON.stringify({ msg: `${name} failed`, err: loggableError(err) }));
  }
}

/**
 * Runs `fn` as a step on every D1 database (src/db/shards.ts), each failing alone and named by its
 * shard ("<label> (shard n)"; `DB` by the label alone), for the tables every database holds.
 */
async function perDatabase(env: Env, label: string, fn: (db: Db, shard: Shard) => Promise<unknown>): Promise<void> {
  for (const shard of allShards(env))
    await step(shard.number === 0 ? label : `${label} (shard ${shard.number})`, () =>
      fn(database(shard.binding), shard),
    );
}

/**
 * What every cron tick runs: auto-prune (it only ends tags, which stay in the time machine), then
 * garbage collection, then the events outbox's drain (what a failed publish left, src/events/
 * outbox.ts), the sweep of old delivered-event ids (in every database), the action logs' retention
 * (src/events/logs-retention.ts), the log exports' housekeeping (src/events/logs-export-delivery.ts), the expired build files (src/builds/filedrop.ts), every few minutes the `repo_image_expiry` notifications
 * (src/notifications/expiry.ts), and the scan for mirrors due to sync (src/mirror/sync.ts, Quay's
 * REPO_MIRROR_INTERVAL: one tick, a minute) and for organization mirrors due to discover
 * (src/mirror/org-sync.ts), and the connectors' queue: leases that ran out go back to it, old
 * finished jobs leave it (src/connector/lease-expiry.ts). A failure of one is logged and does not
 * stop the others.
 */
async function onSchedule(env: Env, nowMs: number): Promise<void> {
  // Quay's workers do not start in read-only mode (workers/worker.py): every step here writes
  // (tags ended, garbage collected, logs moved, mirrors synced), so a read-only registry skips
  // the tick, once a minute, and says so. An invalid configuration is logged by the first request.
  if (configIssues(env as unknown as Record<string, unknown>).length > 0) {
    console.error(JSON.stringify({ msg: "scheduled run skipped: the configuration is invalid" }));
    return;
  }
  if (isReadOnly(env)) {
    console.log(JSON.stringify({ msg: "scheduled run skipped: REGISTRY_STATE is readonly" }));
    return;
  }
  await step("auto-prune", () => runAutoprune(env, nowMs));
  await runGarbageCollection(env, nowMs);
  await step("outbox drain", () => drainOutbox(env, nowMs));
  // Every database holds delivered ids: the pull statistics' markers (src/queues/
  // pull-statistics-per-database.ts).
  await perDatabase(env, "delivered-event sweep", (db) => sweepDelivered(db, nowMs));
  await step("shard moves", () => stepShardMoves(env, nowMs, coreMoves));
  // Every D1 shard holds action-log entries (src/db/shards.ts): each keeps its own retention.
  await perDatabase(env, "action-log retention", (db, shard) =>
    retainActionLogs(db, new R2BlobStore(env.BLOBS), nowMs, readConfig(env), shard.number),
  );
  await step("log exports sweep", () => sweepLogExports(env, new R2BlobStore(env.BLOBS), nowMs));
  await step("filedrop sweep", () => sweepFiledrops(database(env.DB), new R2BlobStore(env.BLOBS), nowMs));
  if (expiryScanDue(nowMs)) await step("tag expiry notifications", () => notifyExpiringTags(env, nowMs));
  if (readConfig(env).FEATURE_REPO_MIRROR) await step("mirror scan", () => queueDueMirrors(env, nowMs));
  if (readConfig(env).FEATURE_ORG_MIRROR) await step("org mirror scan", () => queueDueOrgMirrors(env, nowMs));
  await step("connector jobs sweep", () => sweepConnectorJobs(env));
}

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  // Two queues: EVENTS (events, jobs, pulls) and NOTIFICATIONS (src/notifications/delivery.ts).
  // Each handler then sends what it counted (queue lag, GC, failed notifications) to the metrics.
  queue: async (batch, env, _ctx) => {
    // An invalid configuration (the Worker answers 503, src/middleware/config-gate.ts): the
    // messages wait for a fixed deploy rather than fail one by one. A retry counts against the
    // queue's max_retries and wharf-events has no dead-letter queue (a message past it is gone),
    // so the waits grow fourfold from 5 minutes to the platform's 12-hour cap: the five retries
    // span about 19 hours before anything could be lost.
    if (configIssues(env as unknown as Record<string, unknown>).length > 0) {
      const attempts = Math.min(...batch.messages.map((message) => message.attempts));
      const delaySeconds = Math.min(43_200, 300 * 4 ** Math.max(0, attempts - 1));
      console.error(
        JSON.stringify({
          msg: "queue batch postponed: the configuration is invalid",
          queue: batch.queue,
          delaySeconds,
        }),
      );
      batch.retryAll({ delaySeconds });
      return;
    }
    observeQueueBatch(batch);
    try {
      await (batch.queue === "wharf-notifications" ? consumeNotifications(batch, env) : consumeQueue(batch, env));
    } finally {
      await flushMetrics(env);
    }
  },
  scheduled: (controller, env, ctx) =>
    ctx.waitUntil(onSchedule(env, controller.scheduledTime).finally(() => flushMetrics(env))),
} satisfies ExportedHandler<Env>;
