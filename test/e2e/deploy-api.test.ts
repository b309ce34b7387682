/**
 * `npm run deploy` with the REAL wrangler (4.155.0) against a stand-in for Cloudflare's API
 * (helpers/fake-cloudflare-api.ts, through CLOUDFLARE_API_BASE_URL): every wrangler command and flag
 * the script uses is parsed by wrangler itself, and every list it prints is read back by the script.
 * A fresh account with `--jurisdiction eu` gets its D1 database, EU bucket, EU queues and both
 * secrets (through wrangler's empty-Worker path, as before a first deploy); the stand-in does not
 * run SQL, so the run stops at the migrations, which the test checks were asked of the new database
 * (its id was read from wrangler.toml). About 80 s; CI runs it with everything else.
 */
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fakeCloudflareApi } from "./helpers/fake-cloudflare-api";
import { ROOT } from "./helpers/server";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe("npm run deploy with the real wrangler", () => {
  it("provisions a fresh account in the EU, then stops at the migrations the stand-in cannot run", async () => {
    const api = await fakeCloudflareApi(ACCOUNT);
    const tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-deploy-api-"));
    cleanups.push(api.close, () => rm(tmp, { recursive: true, force: true }));
    const project = path.join(tmp, "project");
    await mkdir(path.join(tmp, "home"), { recursive: true });
    await mkdir(project);
    await cp(path.join(ROOT, "wrangler.toml"), path.join(project, "wrangler.toml"));
    await cp(path.join(ROOT, "migrations"), path.join(project, "migrations"), { recursive: true });

    const deploy = async (args: string[]) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, "scripts/deploy.mjs"), "--config", path.join(project, "wrangler.toml"), ...args],
        {
          env: {
            PATH: `${path.join(ROOT, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`,
            HOME: path.join(tmp, "home"),
            CLOUDFLARE_API_TOKEN: "a-token-for-the-stand-in",
            CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
            CLOUDFLARE_API_BASE_URL: api.baseUrl,
            WRANGLER_SEND_METRICS: "false",
          },
        },
      );
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d));
      child.stderr.on("data", (d: Buffer) => (output += d));
      return { code: await new Promise((resolve) => child.on("close", resolve)), output };
    };
    const { code, output } = await deploy(["--jurisdiction", "eu"]);
    const { account } = api;
    expect(code, output).toBe(1);
    expect(output).toContain('deploy: step "apply the D1 migrations" failed.');
    expect(account.d1).toMatchObject([{ name: "wharf", jurisdiction: "eu" }]);
    expect(account.r2).toEqual([{ name: "wharf-blobs", jurisdiction: "eu" }]);
    expect(account.queues.map((q) => [q.queue_name, q.jurisdiction])).toEqual([
      ["wharf-events", "eu"],
      ["wharf-notifications", "eu"],
      ["wharf-notifications-dlq", "eu"],
    ]);
    const worker = account.workers.wharf!;
    expect(worker.draft).toBe(true);
    expect(Buffer.from(worker.secrets.WHARF_SECRET_KEY!, "base64")).toHaveLength(32);
    expect(JSON.parse(worker.secrets.WHARF_TOKEN_KEY!)).toMatchObject({ kty: "EC", crv: "P-256" });
    for (const value of Object.values(worker.secrets)) expect(output).not.toContain(value);

    // The listing asked for the EU's buckets; the migrations went to the database wrangler.toml now names.
    expect(account.requests).toContainEqual(
      expect.objectContaining({ method: "GET", path: `/accounts/${ACCOUNT}/r2/buckets`, jurisdiction: "eu" }),
    );
    const uuid = account.d1[0]!.uuid;
    expect(await readFile(path.join(project, "wrangler.toml"), "utf8")).toContain(`database_id = "${uuid}"`);
    expect(account.requests.some((r) => r.path.startsWith(`/accounts/${ACCOUNT}/d1/database/${uuid}`))).toBe(true);

    // Again: wrangler's own lists (D1's JSON, R2's name lines, the queues' table, the secrets' JSON)
    // show everything as existing, so nothing is created and no secret replaced.
    const before = account.requests.length;
    const again = await deploy([]); // wrangler.toml remembers the jurisdiction
    expect(again.output).toContain('deploy: step "apply the D1 migrations" failed.');
    const writes = account.requests
      .slice(before)
      .filter((r) => r.method !== "GET" && !r.path.includes(`/d1/database/${uuid}`));
    expect(writes).toEqual([]);
    expect(account.workers.wharf!.secrets).toEqual(worker.secrets);
  });
});
