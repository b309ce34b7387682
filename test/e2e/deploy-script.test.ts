/**
 * `npm run deploy` (scripts/deploy.mjs) against a stand-in wrangler on PATH (helpers/fake-wrangler.mjs:
 * an account in a state file, wrangler 4.155.0's output formats, every call logged), on a COPY of
 * wrangler.toml in a temporary project: the order of the steps, idempotence, --dry-run, data
 * residency flags, failures named by step, and secrets never printed. The real wrangler's part
 * (bundling, migrations on a fresh local D1) is in deploy-guide.test.ts.
 */
import { spawn } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ROOT } from "./helpers/server";

interface Account {
  loggedIn: boolean;
  accounts: { id: string; name: string }[];
  d1: { uuid: string; name: string; location?: string; jurisdiction?: string; migrationsApplied?: number }[];
  r2: { name: string; jurisdiction?: string; location?: string }[];
  queues: { id: string; name: string; jurisdiction?: string }[];
  workers: Record<string, { secrets: Record<string, string>; deployments: number }>;
  failOn?: string;
  queuesPageSize?: number;
}

let tmp: string;
let project: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-deploy-"));
  project = path.join(tmp, "project");
  await mkdir(path.join(tmp, "bin"), { recursive: true });
  await mkdir(project);
  await copyFile(path.join(ROOT, "wrangler.toml"), path.join(project, "wrangler.toml"));
  // The project's own npm scripts: each records that it ran, in the same log as wrangler's calls.
  await writeFile(
    path.join(project, "record.mjs"),
    `import { appendFileSync } from "node:fs";\nappendFileSync(process.env.FAKE_WRANGLER_LOG, JSON.stringify({ argv: ["npm:" + process.argv[2]] }) + "\\n");\n`,
  );
  await writeFile(
    path.join(project, "package.json"),
    JSON.stringify({
      scripts: { "check-config": "node record.mjs check-config", "build:ui": "node record.mjs build:ui" },
    }),
  );
  const wrangler = path.join(tmp, "bin", "wrangler");
  await writeFile(
    wrangler,
    `#!/bin/sh\nexec node ${JSON.stringify(path.join(ROOT, "test/e2e/helpers/fake-wrangler.mjs"))} "$@"\n`,
  );
  await chmod(wrangler, 0o755);
  await setAccount({
    loggedIn: true,
    accounts: [{ id: "0123", name: "Newcomer's Account" }],
    d1: [],
    r2: [],
    queues: [],
    workers: {},
  });
});
afterEach(() => rm(tmp, { recursive: true, force: true }));

async function account(): Promise<Account> {
  return JSON.parse(await readFile(path.join(tmp, "state.json"), "utf8"));
}
async function setAccount(state: Account) {
  await writeFile(path.join(tmp, "state.json"), JSON.stringify(state));
}

/** The wrangler commands (and project npm scripts) run so far, in order; the log then starts afresh. */
async function calls(): Promise<string[]> {
  const file = path.join(tmp, "calls.log");
  const text = await readFile(file, "utf8").catch(() => "");
  await rm(file, { force: true });
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { argv: string[] }).argv.join(" "));
}

function deploy(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, "scripts/deploy.mjs"), "--config", path.join(project, "wrangler.toml"), ...args],
      {
        env: {
          PATH: `${path.join(tmp, "bin")}${path.delimiter}${process.env.PATH}`,
          HOME: tmp,
          FAKE_WRANGLER_STATE: path.join(tmp, "state.json"),
          FAKE_WRANGLER_LOG: path.join(tmp, "calls.log"),
          ...env,
        },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const READ_ONLY = ["whoami --json", "d1 list --json", "r2 bucket list", "queues list --page 1", "secret list"];
const QUEUES = ["wharf-events", "wharf-notifications", "wharf-notifications-dlq"];

describe("npm run deploy", () => {
  it("provisions a fresh account in order, writes the D1 id into wrangler.toml alone, and never prints a secret", async () => {
    const before = await readFile(path.join(project, "wrangler.toml"), "utf8");
    const run = await deploy([]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const state = await account();
    const [db] = state.d1;
    expect(await calls()).toEqual([
      "npm:check-config",
      "npm:build:ui",
      ...READ_ONLY,
      "d1 create wharf",
      "d1 list --json",
      "r2 bucket create wharf-blobs",
      ...QUEUES.map((queue) => `queues create ${queue}`),
      "secret put WHARF_SECRET_KEY",
      "secret put WHARF_TOKEN_KEY",
      "d1 migrations apply DB --remote",
      "deploy",
    ]);
    expect(state.d1.map((d) => d.name)).toEqual(["wharf"]);
    expect(db!.migrationsApplied).toBe(1);
    expect(state.r2).toEqual([{ name: "wharf-blobs" }]);
    expect(state.queues.map((q) => q.name)).toEqual(QUEUES);
    expect(state.workers.wharf!.deployments).toBe(1);

    // Only the database_id line changed: every comment and every other line kept.
    const after = await readFile(path.join(project, "wrangler.toml"), "utf8");
    expect(after).toBe(
      before.replace('database_id = "00000000-0000-0000-0000-000000000000"', `database_id = "${db!.uuid}"`),
    );
    expect(after).not.toBe(before);

    // The secrets, made as the README makes them, and shown nowhere.
    const { WHARF_SECRET_KEY: secretKey, WHARF_TOKEN_KEY: tokenKey } = state.workers.wharf!.secrets;
    expect(Buffer.from(secretKey!, "base64")).toHaveLength(32);
    expect(JSON.parse(tokenKey!)).toMatchObject({ kty: "EC", crv: "P-256", d: expect.any(String) });
    for (const value of [secretKey!, tokenKey!, JSON.parse(tokenKey!).d]) {
      expect(run.stdout + run.stderr).not.toContain(value);
    }
    // Where to go next: the first superuser on the Worker's URL.
    expect(run.stdout).toContain("curl -X POST https://wharf.newcomer.workers.dev/api/v1/user/initialize");
  });

  it("creates nothing and puts no secret on a second run; migrations still go before the code", async () => {
    expect((await deploy([])).code).toBe(0);
    const first = await account();
    await calls();
    const second = await deploy([]);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(await calls()).toEqual([
      "npm:check-config",
      "npm:build:ui",
      ...READ_ONLY,
      "d1 migrations apply DB --remote",
      "deploy",
    ]);
    const state = await account();
    expect(state.workers.wharf!.secrets).toEqual(first.workers.wharf!.secrets);
    expect(state.d1.map((d) => d.uuid)).toEqual(first.d1.map((d) => d.uuid));
    expect(state.workers.wharf!.deployments).toBe(2);
  });

  it("with D1 shards declared, creates and migrates each as DB, writing each id into its own binding", async () => {
    const file = path.join(project, "wrangler.toml");
    // wrangler.toml's commented shard block, turned on, and a second one after it.
    const shipped = await readFile(file, "utf8");
    const block = shipped.match(/^# \[\[d1_databases\]\]\n(?:# .*\n)*?# migrations_dir = "migrations"\n/m)![0];
    const on = block.replace(/^# /gm, "");
    const second = on
      .replaceAll("DB_SHARD_1", "DB_SHARD_2")
      .replaceAll("wharf-shard-1", "wharf-shard-2")
      .replace("0001", "0002");
    await writeFile(file, shipped.replace(block, `${on}\n${second}`));
    const before = await readFile(file, "utf8");
    const run = await deploy([]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const made = await calls();
    expect(made.filter((c) => c.startsWith("d1 create"))).toEqual([
      "d1 create wharf",
      "d1 create wharf-shard-1",
      "d1 create wharf-shard-2",
    ]);
    expect(made.slice(-4)).toEqual([
      "d1 migrations apply DB --remote",
      "d1 migrations apply DB_SHARD_1 --remote",
      "d1 migrations apply DB_SHARD_2 --remote",
      "deploy",
    ]);
    const state = await account();
    expect(state.d1.map((d) => [d.name, d.migrationsApplied])).toEqual([
      ["wharf", 1],
      ["wharf-shard-1", 1],
      ["wharf-shard-2", 1],
    ]);
    const [db, one, two] = state.d1;
    expect(await readFile(file, "utf8")).toBe(
      before
        .replace('database_id = "00000000-0000-0000-0000-000000000000"', `database_id = "${db!.uuid}"`)
        .replace('database_id = "00000000-0000-0000-0000-000000000001"', `database_id = "${one!.uuid}"`)
        .replace('database_id = "00000000-0000-0000-0000-000000000002"', `database_id = "${two!.uuid}"`),
    );
    // A second run creates nothing and still migrates every database before the code.
    const again = await deploy([]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect((await calls()).filter((c) => c.startsWith("d1 create"))).toEqual([]);
    expect((await account()).d1.map((d) => d.migrationsApplied)).toEqual([2, 2, 2]);
  });

  it("finds resources that exist already, across pages of `queues list`", async () => {
    await setAccount({
      ...(await account()),
      d1: [{ uuid: "11111111-2222-3333-4444-555555555555", name: "wharf" }],
      r2: [{ name: "wharf-blobs" }],
      queues: ["other-a", "other-b", ...QUEUES].map((name, i) => ({ id: `q${i}`, name })),
      queuesPageSize: 2,
    });
    const run = await deploy([]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const made = (await calls()).filter((call) => /create/.test(call));
    expect(made).toEqual([]);
    expect(await readFile(path.join(project, "wrangler.toml"), "utf8")).toContain(
      'database_id = "11111111-2222-3333-4444-555555555555"',
    );
  });

  it("--dry-run runs only read-only commands and the bundling, and changes nothing", async () => {
    const before = await readFile(path.join(project, "wrangler.toml"), "utf8");
    const run = await deploy(["--dry-run"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await calls()).toEqual(["npm:check-config", "npm:build:ui", ...READ_ONLY, "deploy --dry-run"]);
    expect(await account()).toMatchObject({ d1: [], r2: [], queues: [], workers: {} });
    expect(await readFile(path.join(project, "wrangler.toml"), "utf8")).toBe(before);
    expect(run.stdout).toMatch(/create\s+D1 database wharf\s+npx wrangler d1 create wharf/);
    expect(run.stdout).toContain("Dry run: nothing was created, written or deployed.");
  });

  it("--jurisdiction eu creates every resource in the EU and sets the R2 binding's jurisdiction", async () => {
    const run = await deploy(["--jurisdiction", "eu"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const made = await calls();
    expect(made).toContain("r2 bucket list --jurisdiction eu");
    expect(made).toContain("d1 create wharf --jurisdiction eu");
    expect(made).toContain("r2 bucket create wharf-blobs --jurisdiction eu");
    for (const queue of QUEUES) expect(made).toContain(`queues create ${queue} --jurisdiction eu`);
    expect((await account()).r2).toEqual([{ name: "wharf-blobs", jurisdiction: "eu" }]);
    const toml = await readFile(path.join(project, "wrangler.toml"), "utf8");
    expect(toml).toContain('bucket_name = "wharf-blobs"\njurisdiction = "eu"\n');

    // wrangler.toml remembers it: the next run finds the EU bucket without the flag.
    const again = await deploy([]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect((await calls()).filter((call) => /create/.test(call))).toEqual([]);
    // A jurisdiction is fixed at creation: another one is refused before anything runs.
    const moved = await deploy(["--jurisdiction", "fedramp"]);
    expect(moved.code).not.toBe(0);
    expect(moved.stderr).toContain('is in the jurisdiction "eu"');
    expect(await calls()).toEqual([]);
  });

  it("--location weur reaches `d1 create` and `r2 bucket create`; with a jurisdiction it is refused", async () => {
    const run = await deploy(["--location", "weur"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const made = await calls();
    expect(made).toContain("d1 create wharf --location weur");
    expect(made).toContain("r2 bucket create wharf-blobs --location weur");
    expect((await account()).d1[0]).toMatchObject({ name: "wharf", location: "weur" });

    const both = await deploy(["--location", "weur", "--jurisdiction", "eu"]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain("--location and a jurisdiction (eu) do not go together");
    const bad = await deploy(["--location", "mars"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--location mars: one of weur, eeur, apac, oc, wnam, enam");
  });

  it("--name names the Worker and every resource after the prefix", async () => {
    const run = await deploy(["--name", "acme"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const state = await account();
    expect(state.d1.map((d) => d.name)).toEqual(["acme"]);
    expect(state.r2.map((b) => b.name)).toEqual(["acme-blobs"]);
    expect(state.queues.map((q) => q.name)).toEqual(["acme-events", "acme-notifications", "acme-notifications-dlq"]);
    expect(Object.keys(state.workers)).toEqual(["acme"]);
    const toml = await readFile(path.join(project, "wrangler.toml"), "utf8");
    expect(toml).toMatch(/^name = "acme"$/m);
    expect(toml).toContain('dead_letter_queue = "acme-notifications-dlq"');
  });

  it("a failing step exits non-zero naming the step and the command to run by hand, and stops there", async () => {
    await setAccount({ ...(await account()), failOn: "queues create wharf-notifications" });
    const run = await deploy([]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('deploy: step "create the queue wharf-notifications" failed.');
    expect(run.stderr).toContain("npx wrangler queues create wharf-notifications");
    expect(run.stderr).toContain("Internal error [code: 10000]");
    expect(run.stderr).not.toMatch(/^\s+at /m); // no stack trace
    const made = await calls();
    expect(made).not.toContain("deploy");
    expect(made.some((call) => call.startsWith("secret put"))).toBe(false);
    // The database made before the failure is already in wrangler.toml.
    expect(await readFile(path.join(project, "wrangler.toml"), "utf8")).toContain(
      `database_id = "${(await account()).d1[0]!.uuid}"`,
    );
  });

  it("a failing secret put names the pipeline to run by hand and still shows no secret", async () => {
    await setAccount({ ...(await account()), failOn: "secret put WHARF_TOKEN_KEY" });
    const run = await deploy([]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('deploy: step "put the secret WHARF_TOKEN_KEY (generated)" failed.');
    expect(run.stderr).toContain(`privateKey.export({format:"jwk"})))' | npx wrangler secret put WHARF_TOKEN_KEY`);
    // The stand-in echoed the value it was given; the script printed it as [secret].
    expect(run.stderr).toContain("input: [secret]");
    const { WHARF_SECRET_KEY: put } = (await account()).workers.wharf!.secrets;
    expect(run.stdout + run.stderr).not.toContain(put!);
    expect(run.stdout + run.stderr).not.toMatch(/"kty":"EC"/);
    // Echoed re-encoded (pretty JSON), the private key's members are still hidden.
    expect(run.stderr).toContain("as parsed:");
    expect(run.stderr).not.toMatch(/"d": "[A-Za-z0-9_-]{16,}"/);
    expect(await calls()).not.toContain("d1 migrations apply DB --remote");
  });

  it("says plainly when wrangler is not logged in, several accounts need a choice, or wrangler is missing", async () => {
    await setAccount({ ...(await account()), loggedIn: false });
    const out = await deploy([]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("wrangler is not logged in: run `npx wrangler login`");
    expect(await calls()).toEqual(["npm:check-config", "npm:build:ui", "whoami --json"]);

    await setAccount({
      ...(await account()),
      loggedIn: true,
      accounts: [
        { id: "a1", name: "One" },
        { id: "a2", name: "Two" },
      ],
    });
    const several = await deploy([]);
    expect(several.code).toBe(1);
    expect(several.stderr).toContain("export CLOUDFLARE_ACCOUNT_ID=<id>");
    expect(several.stderr).toContain("a2  Two");
    expect((await deploy(["--dry-run"], { CLOUDFLARE_ACCOUNT_ID: "a2" })).code).toBe(0);

    await rm(path.join(project, "package.json"));
    const missing = await deploy([], { PATH: path.join(tmp, "nothing-here") });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("deploy: wrangler was not found");
    expect(missing.stderr).toContain("Run `npm ci` first");
  });

  it("a failing configuration check stops the deploy before wrangler is asked anything", async () => {
    await writeFile(path.join(project, "package.json"), JSON.stringify({ scripts: { "check-config": "exit 3" } }));
    const run = await deploy([]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('step "check the configuration (wrangler.toml [vars])" failed');
    expect(await calls()).toEqual([]);
  });
});
