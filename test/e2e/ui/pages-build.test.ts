/**
 * The Pages deployment's build steps, as `npm run deploy:ui` runs them before uploading: the
 * static output with its generated `_routes.json` and `_headers` (scripts/build-pages.ts), and
 * the Functions bundled by wrangler (`wrangler pages functions build`).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/server";

const bin = (name: string) => path.join(ROOT, "node_modules", ".bin", name);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

describe("npm run deploy:ui's build", () => {
  it("writes dist/pages: the UI without Vite's manifest, with _routes.json and _headers", () => {
    const run = spawnSync(bin("tsx"), ["scripts/build-pages.ts"], { cwd: ROOT, env, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const out = path.join(ROOT, "dist", "pages");
    expect(existsSync(path.join(out, "index.html"))).toBe(true);
    expect(existsSync(path.join(out, "oauth", "localapp.js"))).toBe(true);
    expect(existsSync(path.join(out, ".vite"))).toBe(false);
    const routes = JSON.parse(readFileSync(path.join(out, "_routes.json"), "utf8"));
    expect(routes.include).toEqual(expect.arrayContaining(["/api/*", "/v2/*", "/oauth/*", "/csrf_token"]));
    expect(readFileSync(path.join(out, "_headers"), "utf8")).toContain("frame-ancestors 'none'");
  });

  it("bundles the Pages Functions with wrangler", () => {
    const outdir = mkdtempSync(path.join(tmpdir(), "wharf-pages-fn-"));
    const run = spawnSync(bin("wrangler"), ["pages", "functions", "build", "functions", "--outdir", outdir], {
      cwd: path.join(ROOT, "ui", "pages"),
      env,
      encoding: "utf8",
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const worker = readFileSync(path.join(outdir, "index.js"), "utf8");
    expect(worker).toContain("env.REGISTRY.fetch(request)");
  });
});
