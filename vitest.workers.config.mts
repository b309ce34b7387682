import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { defineConfig } from "vitest/config";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { outboundService } from "./scripts/outbound-service.ts";

// Units and routes run inside workerd with the same bindings as wrangler.toml and the same
// migrations as production (applied by test/workers/setup.ts, which also starts each file on an
// empty state).
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        // Secrets are not in wrangler.toml: a fresh key per run, as `wrangler secret put` would give.
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            WHARF_SECRET_KEY: randomBytes(32).toString("base64"),
            WHARF_TOKEN_KEY: JSON.stringify(
              generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }),
            ),
            // Many tests log in wrong on purpose (a disabled user, a deleted robot) from one
            // address: they test authorization, not login limits. The login-limit tests
            // (test/workers/api/login-limits.test.ts) run with wrangler.toml's values themselves.
            LOGIN_FAILURES_PER_ACCOUNT: "1000",
            LOGIN_FAILURES_PER_IP: "1000",
            // Mail goes to the dev mailer's folder, which the mail tests read back through the
            // same binding (test/workers/helpers/mailbox.ts). FEATURE_MAILING stays off unless a
            // test turns it on.
            MAIL_TRANSPORT: "dev",
            // Metrics leave after each response rather than batched 10 s later, so that a test
            // waiting on a request's waitUntil does not wait out the timer (src/metrics/recorder.ts);
            // the batching tests set their own span.
            METRICS_FLUSH_SECONDS: "0",
            // How many times its `npm test` runs each fuzzing property runs (test/workers/fuzz/fuzz.ts):
            // `FUZZ_RUNS=50 npx vitest run --config vitest.workers.config.mts test/workers/fuzz` hunts longer.
            FUZZ_RUNS: process.env.FUZZ_RUNS ?? "1",
          },
          // Two D1 shards beside DB (src/db/shards.ts), as an operator adds them in wrangler.toml:
          // every test runs with namespaces' sharded tables spread over three databases. Listing
          // d1Databases replaces wrangler.toml's, so DB is named again.
          d1Databases: { DB: "wharf-test-db", DB_SHARD_1: "wharf-test-shard-1", DB_SHARD_2: "wharf-test-shard-2" },
          serviceBindings: {
            DEV_MAILBOX: { disk: { path: mkdtempSync(path.join(tmpdir(), "wharf-mail-")), writable: true } },
          },
          // What the Worker fetches leaves as under `npm start`: names that resolve to private
          // addresses are refused (scripts/outbound-service.ts). Tests stand in for remote
          // servers with a spy on fetch; whatever is not mocked meets this rule.
          outboundService: outboundService(process.env.ALLOW_PRIVATE_OUTBOUND ?? ""),
        },
      }),
    ],
    test: {
      include: ["test/workers/**/*.test.ts"],
      setupFiles: ["./test/workers/setup.ts"],
      // One workerd for every file, not one per file: starting a workerd, loading the modules into
      // it and migrating three databases cost ~4 s a file, two thirds of the suite's time (1,497 s
      // for 249 files; 680 s in one). test/workers/setup.ts starts each file on a fresh state
      // instead: the modules evaluated again, Durable Objects of its own, the databases and the
      // bucket emptied, queued work dropped.
      isolate: false,
      testTimeout: 30_000,
    },
  };
});
