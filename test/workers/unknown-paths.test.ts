/**
 * Unknown paths under the Worker's own surfaces answer 404 in that surface's JSON, never the UI's
 * single-page fallback (a 200 HTML page a client would take for success), and wrangler.toml sends
 * every such path to the Worker before the assets.
 */
import { describe, expect, it } from "vitest";
import wranglerToml from "../../wrangler.toml?raw";
import { WORKER_PATHS, WORKER_PREFIXES } from "../../src/routes/surfaces";
import { request } from "./helpers/registry";

async function answer(method: string, path: string) {
  const res = await request(method, path, { token: null });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("Content-Type") ?? "", text, json: () => JSON.parse(text) };
}

describe("unknown paths", () => {
  it("under /v2 answer the OCI envelope", async () => {
    for (const path of ["/v2/a/b/nonsense", "/v2/_unknown"]) {
      const res = await answer("GET", path);
      expect(res.status, path).toBe(404);
      expect(res.json().errors[0].code).toBe("UNSUPPORTED");
    }
  });

  it("under /api, /csrf_token's and /oauth's surface answer Quay's API error JSON", async () => {
    for (const path of [
      "/api",
      "/api/",
      "/api/v2/thing",
      "/api/v1/nonsense",
      "/oauth",
      "/oauth/nonsense",
      "/api/v1x",
    ]) {
      const res = await answer("GET", path);
      expect(res.status, path).toBe(404);
      expect(res.type, path).toMatch(/^application\/json/);
      expect(res.json(), path).toMatchObject({ status: 404, error_type: "not_found", title: "not_found" });
    }
  });

  it("under /v1, /oauth2, /health, /metrics and /webhooks answer {error}", async () => {
    const paths = [
      "/v1",
      "/v1/",
      "/v1/nonsense",
      "/v1/repositories/a/b/images",
      "/oauth2",
      "/oauth2/nonsense",
      // `/health` (Quay's alias of /health/instance) and `/metrics` answer GET (test/workers/health.test.ts, metrics/).
      "/health/nonsense",
      "/metrics/x",
      "/webhooks",
      "/webhooks/push/nonsense",
    ];
    for (const path of paths) {
      for (const method of ["GET", "POST", "DELETE"]) {
        const res = await answer(method, path);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.type, `${method} ${path}`).toMatch(/^application\/json/);
        expect(res.json(), `${method} ${path}`).toEqual({ error: "Not Found" });
      }
    }
    const head = await answer("HEAD", "/v1/nonsense");
    expect(head.status).toBe(404);
    expect(head.text).toBe("");
  });

  it("outside them still reach the UI, whose fallback serves the single page", async () => {
    for (const path of ["/", "/repository/olga/app", "/v1x", "/v2x/a", "/healthy", "/metricsx"]) {
      const res = await answer("GET", path);
      expect(res.status, path).toBe(200);
      expect(res.type, path).toMatch(/^text\/html/);
    }
    expect((await answer("GET", "/health/live")).json()).toEqual({ status: "ok" });
  });

  it("are all sent to the Worker first by wrangler.toml's run_worker_first", () => {
    const listed = JSON.parse(wranglerToml.match(/^run_worker_first\s*=\s*(\[.*\])\s*$/m)![1]!) as string[];
    // Cloudflare's rule patterns: `*` matches any characters, `!` excludes; an exclusion wins.
    const regex = (pattern: string) =>
      new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
    const included = listed.filter((p) => !p.startsWith("!")).map(regex);
    const excluded = listed.filter((p) => p.startsWith("!")).map((p) => regex(p.slice(1)));
    const reachesWorker = (path: string) => included.some((r) => r.test(path)) && !excluded.some((r) => r.test(path));
    const wanted = [...WORKER_PREFIXES.flatMap((prefix) => [prefix, `${prefix}/x`, `${prefix}/a/b`]), ...WORKER_PATHS];
    for (const path of wanted) expect(reachesWorker(path), path).toBe(true);
    // The UI's pages too (their security headers), but not its hashed bundles.
    for (const path of ["/", "/signin", "/repository/a/b", "/oauth/authorize", "/oauth/localapp.js"])
      expect(reachesWorker(path), path).toBe(true);
    expect(reachesWorker("/assets/index-abc.js")).toBe(false);
    for (const prefix of ["/v1", "/v2", "/api", "/health", "/metrics", "/oauth", "/oauth2"])
      expect(WORKER_PREFIXES).toContain(prefix);
  });
});
