// Applies the same generated migrations as production to the test D1 before each test file
// (see vitest.workers.config.mts), and puts the clock back on the system time after each test
// (test/workers/helpers/clock.ts).
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach } from "vitest";
import { resetClock } from "./helpers/clock";

await applyD1Migrations(env.DB, (env as unknown as { TEST_MIGRATIONS: D1Migration[] }).TEST_MIGRATIONS);

afterEach(resetClock);
