import { generateKeyPairSync, randomBytes } from "node:crypto";
import path from "node:path";
import { defineConfig } from "vitest/config";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";

// Units and routes run inside workerd with the same bindings as wrangler.toml and the same
// migrations as production (applied by test/workers/setup.ts).
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
            WHARF_TOKEN_KEY: JSON.stringify(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" })),
          },
        },
      }),
    ],
    test: {
      include: ["test/workers/**/*.test.ts"],
      setupFiles: ["./test/workers/setup.ts"],
      testTimeout: 30_000,
    },
  };
});
