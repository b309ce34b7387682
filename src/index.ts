/**
 * Worker entry: HTTP through the hono app, queue batches through the events consumer, and the
 * Cron Trigger (wrangler.toml `[triggers]`) through auto-prune and garbage collection.
 */
import { createApp } from "./app";
import { database } from "./db/client";
import { sweepDelivered } from "./events/deliveries";
import { retainActionLogs } from "./events/logs-retention";
import { R2BlobStore } from "./storage/r2-blob-store";
import { drainOutbox } from "./events/outbox";
import { runAutoprune } from "./gc/autoprune";
import { runGarbageCollection } from "./gc/scheduler";
import { consumeQueue } from "./queues/consumer";
import { readConfig } from "./config";

export { EventStreamDO, LoginLimiterDO, RepositoryDO, UploadSessionDO } from "../durable-objects";

const app = createApp();

/**
 * What every cron tick runs: auto-prune (it only ends tags, which stay in the time machine), then
 * garbage collection, then the events outbox's drain (what a failed publish left, src/events/
 * outbox.ts), the sweep of old delivered-event ids and the action logs' retention
 * (src/events/logs-retention.ts). A failure of one is logged and does not stop the others.
 */
async function onSchedule(env: Env, nowMs: number): Promise<void> {
  const step = async (name: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      console.error(JSON.stringify({ msg: `${name} failed`, err: String(err) }));
    }
  };
  await step("auto-prune", () => runAutoprune(env, nowMs));
  await runGarbageCollection(env, nowMs);
  await step("outbox drain", () => drainOutbox(env, nowMs));
  await step("delivered-event sweep", () => sweepDelivered(database(env.DB), nowMs));
  await step("action-log retention", () =>
    retainActionLogs(database(env.DB), new R2BlobStore(env.BLOBS), nowMs, readConfig(env)),
  );
}

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  queue: (batch, env, _ctx) => consumeQueue(batch, env),
  scheduled: (controller, env, ctx) => ctx.waitUntil(onSchedule(env, controller.scheduledTime)),
} satisfies ExportedHandler<Env>;
