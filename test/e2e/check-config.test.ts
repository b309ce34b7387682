/**
 * `npm run check-config` (scripts/check-config.ts): wrangler.toml's [vars] checked with the Worker's
 * own schema, one line per bad key naming it and its value, exit 1; the repository's own
 * wrangler.toml passes; an [env.<name>] section is checked as wrangler would deploy it (its own vars: wrangler does
 * not inherit the top level's).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./helpers/server";

const exec = promisify(execFile);
let dir: string;

/** Runs the check as npm would; its exit status and what it printed. */
async function checkConfig(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await exec("npm", ["run", "--silent", "check-config", "--", ...args], { cwd: ROOT });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "wharf-check-config-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("npm run check-config", () => {
  it("passes the repository's wrangler.toml", async () => {
    expect(await checkConfig()).toEqual({ code: 0, out: "wrangler.toml [vars]: the configuration is valid\n" });
  });

  it("names each bad key and its value, top level and per environment, and exits 1", async () => {
    const toml = (await readFile(path.join(ROOT, "wrangler.toml"), "utf8"))
      .replace(/^TAG_EXPIRATION_OPTIONS = .*$/m, 'TAG_EXPIRATION_OPTIONS = "0s,2x"')
      .replace(/^ROBOTS_DISALLOW = .*$/m, 'ROBOTS_DISALLOW = "no"');
    const file = path.join(dir, "wrangler.toml");
    await writeFile(file, `${toml}\n[env.staging.vars]\nREGISTRY_STATE = "paused"\n`);
    const top = await checkConfig("--config", file);
    expect(top.code).toBe(1);
    expect(top.out).toContain('wrangler.toml [vars] TAG_EXPIRATION_OPTIONS: not a span: "2x"');
    expect(top.out).toContain('wrangler.toml [vars] ROBOTS_DISALLOW: expected "true" or "false": "no"');
    const staging = await checkConfig("--config", file, "--env", "staging");
    expect(staging.code).toBe(1);
    expect(staging.out).toContain(
      'wrangler.toml [env.staging.vars] REGISTRY_STATE: expected "normal" or "readonly": "paused"',
    );
    expect(await checkConfig("--config", file, "--env", "nowhere")).toMatchObject({ code: 1 });
  }, 60_000);

  it("asks BLOB_REDIRECT for its [vars], not for its secrets (they are `wrangler secret put`)", async () => {
    const toml = (await readFile(path.join(ROOT, "wrangler.toml"), "utf8")).replace(
      /^BLOB_REDIRECT = .*$/m,
      'BLOB_REDIRECT = "true"',
    );
    const file = path.join(dir, "redirect.toml");
    await writeFile(file, toml);
    const missing = await checkConfig("--config", file);
    expect(missing.code).toBe(1);
    expect(missing.out).toContain("redirect.toml [vars] R2_ACCOUNT_ID: BLOB_REDIRECT needs R2_ACCOUNT_ID");
    expect(missing.out).not.toContain("R2_SECRET_ACCESS_KEY");
    await writeFile(file, toml.replace(/^R2_ACCOUNT_ID = .*$/m, `R2_ACCOUNT_ID = "${"0a".repeat(16)}"`));
    expect(await checkConfig("--config", file)).toEqual({
      code: 0,
      out: "redirect.toml [vars]: the configuration is valid\n",
    });
  }, 60_000);
});
