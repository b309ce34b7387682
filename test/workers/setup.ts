// Starts each test file on what a fresh deployment has (vitest.workers.config.mts runs the files
// in one workerd, `isolate: false`, rather than a workerd per file: ~4 s of start, module loading
// and migrations per file was two thirds of the suite's time): the modules evaluated afresh, so no
// isolate cache or counter of another file is seen; no Durable Object running, none holding data;
// every D1 database (DB and each shard, src/db/shards.ts) migrated as in production and empty; the
// bucket empty. The clock goes back on the system time after each test (test/workers/helpers/clock.ts).
import { abortAllDurableObjects, applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, vi } from "vitest";
import { allShards } from "../../src/db/shards";
import { emptyBucket, emptyDatabase, freshDurableObjects } from "./helpers/fresh-state";

vi.resetModules();
// Objects of the last file run the modules it loaded: stopped before their storage is emptied,
// and the ones that emptying woke stopped again, so that none keeps what it read in memory.
await abortAllDurableObjects();
await freshDurableObjects(env);
await abortAllDurableObjects();
const migrations = (env as unknown as { TEST_MIGRATIONS: D1Migration[] }).TEST_MIGRATIONS;
await Promise.all(
  allShards(env).map(async (shard) => {
    await applyD1Migrations(shard.binding, migrations);
    await emptyDatabase(shard.binding);
  }),
);
await emptyBucket(env.BLOBS);

// Imported after vi.resetModules, so that it is the clock this file's tests and the Worker share.
const { resetClock } = await import("./helpers/clock");
afterEach(resetClock);
// Events published by what the tests do (src/events/outbox.ts, `sendBatch`) are taken and dropped
// rather than queued. Miniflare hands a full batch (max_batch_size, 50) to the consumer at once,
// and a batch arriving while a test file is torn down hangs the whole run: auto-prune and garbage
// collection tests publish hundreds of events. The binding is one object for the tests, the Worker
// and its Durable Objects, so this own property stands for it everywhere; vi.restoreAllMocks leaves
// it in place. Tests that read publications spy on it (test/workers/helpers/events.ts
// recordEvents); the consumer is tested through the Worker's queue handler. Jobs (`send`) are
// dropped too: the files share one workerd, and a job a file queued at its end (a repository's
// purge, its garbage collection) would be consumed in the next file, against that file's rows of
// the same id. Tests of what a job does spy on `send` and hand the job to the consumer
// (test/workers/helpers/events.ts, mailbox.ts, log-exports.ts).
Object.assign(env.EVENTS, {
  send: async (): Promise<QueueSendResponse> => ({
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } },
  }),
  sendBatch: async (): Promise<QueueSendBatchResponse> => ({
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } },
  }),
});
// Notification deliveries likewise (src/notifications/delivery.ts): a consumer running in the
// background would make requests after a test's fetch spy is gone. Delivery tests capture what is
// queued (test/workers/helpers/notifications.ts) and hand it to the consumer themselves.
Object.assign(env.NOTIFICATIONS, {
  sendBatch: async (): Promise<QueueSendBatchResponse> => ({
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } },
  }),
});
// The queue consumer logs a line per event it delivers, per job it runs and per pulls message it
// sums (src/queues/consumer.ts, src/queues/pull-statistics.ts), from the queue's own I/O context.
// The Vitest plugin parks a log from another context and, should that fall on a file's last round
// trip, never finishes the file (workers-sdk issue #15719): runs with a few dozen events or a purge
// in a file hung. The suite drops those lines; a test that spies on console.log
// (test/workers/queues/consumer.test.ts) still sees every call, as its spy comes first.
const CONSUMER_LINES = ["registry event", "registry job", "duplicate event skipped", "pulls counted"].map(
  (msg) => `{"msg":"${msg}"`,
);
// Set once per workerd: each file runs this setup again in the same global scope.
const quieted = Symbol.for("wharf.quiet-consumer-lines");
const globals = globalThis as { [quieted]?: true };
if (!globals[quieted]) {
  globals[quieted] = true;
  const log = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    const line = args[0];
    if (typeof line === "string" && CONSUMER_LINES.some((start) => line.startsWith(start))) return;
    log(...args);
  };
}
