// Applies the same generated migrations as production to the test D1 before each test file
// (see vitest.workers.config.mts).
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, (env as unknown as { TEST_MIGRATIONS: D1Migration[] }).TEST_MIGRATIONS);

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
