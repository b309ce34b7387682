// Applies the same generated migrations as production to the test D1 before each test file
// (see vitest.workers.config.mts), and puts the clock back on the system time after each test
// (test/workers/helpers/clock.ts).
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach } from "vitest";
import { allShards } from "../../src/db/shards";
import { resetClock } from "./helpers/clock";

// Every D1 database, DB and each shard (src/db/shards.ts), gets the same migrations, as in production.
const migrations = (env as unknown as { TEST_MIGRATIONS: D1Migration[] }).TEST_MIGRATIONS;
await Promise.all(allShards(env).map((shard) => applyD1Migrations(shard.binding, migrations)));

afterEach(resetClock);
// Events published by what the tests do (src/events/outbox.ts, `sendBatch`) are taken and dropped
// rather than queued. Miniflare hands a full batch (max_batch_size, 50) to the consumer at once,
// and a batch arriving while a test file is torn down hangs the whole run: auto-prune and garbage
// collection tests publish hundreds of events. The binding is one object for the tests, the Worker
// and its Durable Objects, so this own property stands for it everywhere; vi.restoreAllMocks leaves
// it in place. Tests that read publications spy on it (test/workers/helpers/events.ts
// recordEvents); the consumer is tested through the Worker's queue handler; jobs (`send`) still go
// to the queue.
Object.assign(env.EVENTS, {
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
const log = console.log.bind(console);
console.log = (...args: unknown[]) => {
  const line = args[0];
  if (typeof line === "string" && CONSUMER_LINES.some((start) => line.startsWith(start))) return;
  log(...args);
};
