/**
 * Worker entry: HTTP through the hono app, queue batches through the events consumer, and the
 * Cron Trigger (wrangler.toml `[triggers]`) through auto-prune and garbage collection.
 */
import { createApp } from "./app";
import { runAutoprune } from "./gc/autoprune";
import { runGarbageCollection } from "./gc/scheduler";
import { consumeEvents } from "./queues/consumer";

export { LoginLimiterDO, RepositoryDO, UploadSessionDO } from "../durable-objects";

const app = createApp();

/**
 * What every cron tick runs: auto-prune (it only ends tags, which stay in the time machine), then
 * garbage collection. A failure of one is logged and does not stop the other.
 */
async function onSchedule(env: Env, nowMs: number): Promise<void> {
  try {
    await runAutoprune(env, nowMs);
  } catch (err) {
    console.error(JSON.stringify({ msg: "auto-prune failed", err: String(err) }));
  }
  await runGarbageCollection(env, nowMs);
}

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  queue: (batch, env, _ctx) => consumeEvents(batch, env),
  scheduled: (controller, env, ctx) => ctx.waitUntil(onSchedule(env, controller.scheduledTime)),
} satisfies ExportedHandler<Env>;
