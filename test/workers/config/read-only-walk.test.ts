/**
 * An attacker's walk of read-only mode (REGISTRY_STATE=readonly, src/middleware/read-only.ts):
 * every write route the app has, on every surface (/v2, /api/v1 with the discovery document's
 * operations, /oauth, /oauth2, /connector/v1, /webhooks, /filedrop, /secscan, …), is called with
 * read-only configuration, and each must be refused with the read-only answer unless the
 * middleware's allowlist names it (signing in and out, the configuration checks). A route added
 * later is walked too, so a new write cannot slip past read-only mode unnoticed.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { ALLOWED_WRITES, allowedWhileReadOnly, WRITING_READS } from "../../../src/middleware/read-only";
import { BASE } from "../helpers/registry";

const readOnlyEnv = { ...env, REGISTRY_STATE: "readonly" } as unknown as Env;
const READS = new Set(["GET", "HEAD", "OPTIONS", "ALL"]);

/** A concrete path for a hono route pattern: each parameter a sample value, `{.+}` two components. */
function samplePath(pattern: string): string {
  return pattern
    .replace(/:\w+\{([^}]*)\}/g, (_, regex: string) => (regex.startsWith(".") ? "sample/repo" : "sample"))
    .replace(/:\w+/g, "sample")
    .replace(/\*/g, "sample");
}

async function call(method: string, path: string) {
  const ctx = createExecutionContext();
  const res = await createApp().fetch(
    new Request(`${BASE}${path}`, {
      method,
      headers: { "Content-Type": "application/json" },
      body: method === "GET" ? undefined : "{}",
    }),
    readOnlyEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, text: await res.text() };
}

describe("read-only mode, walked over every route", () => {
  const routes = createApp().routes;

  it("refuses every write route of every surface but the allowlisted ones", async () => {
    const writes = [
      ...new Map(routes.filter((r) => !READS.has(r.method)).map((r) => [`${r.method} ${r.path}`, r] as const)).values(),
    ];
    // The walk must cover the surfaces, not an empty list.
    expect(writes.length).toBeGreaterThan(150);
    for (const prefix of ["/v2/", "/api/v1/", "/oauth/", "/connector/", "/webhooks/", "/filedrop/", "/secscan/"])
      expect(
        writes.some((r) => r.path.startsWith(prefix)),
        prefix,
      ).toBe(true);
    const passed: string[] = [];
    for (const route of writes) {
      const path = samplePath(route.path);
      if (allowedWhileReadOnly(route.method, path)) {
        passed.push(`${route.method} ${route.path}`);
        continue;
      }
      const res = await call(route.method, path);
      const what = `${route.method} ${route.path} (${path}): ${res.status} ${res.text.slice(0, 120)}`;
      expect([405, 503], what).toContain(res.status);
      expect(res.text, what).toMatch(/read-only/);
    }
    // Exactly the allowlist's writes passed: nothing else matched it by accident.
    expect(passed.length).toBe(ALLOWED_WRITES.length);
  });

  it("refuses the reads that write (GET routes of WRITING_READS)", async () => {
    const gets = routes.filter((r) => r.method === "GET" && WRITING_READS.some((w) => w.path.test(samplePath(r.path))));
    expect(gets.length).toBeGreaterThanOrEqual(WRITING_READS.length);
    for (const route of gets) {
      const res = await call("GET", samplePath(route.path));
      expect([405, 503], route.path).toContain(res.status);
      expect(res.text, route.path).toMatch(/read-only/);
    }
  });
});
