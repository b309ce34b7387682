/**
 * The build job's handler (src/builds/build-job.ts) against real D1 rows: what a connector is
 * told (docs/connector.md "build"), its progress (forward phases, log lines, the caps), its
 * completion and failure, with the build's events.
 */
import { EXHAUSTED_REASON } from "../../../src/connector/lease-expiry";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { leaseOpenJob } from "../helpers/connectors";
import { buildJobHandler } from "../../../src/builds/build-job";
import { MAX_LOG_LINES, TRUNCATED_MESSAGE } from "../../../src/builds/build-log";
import { buildTriggers, repositoryBuilds } from "../../../src/db/schema";
import { encryptSecret } from "../../../src/identity/secrets";
import { findRepository } from "../../../src/registry/repositories";
import { queueBuild } from "../../../src/builds/queue";
import { JOB_HANDLERS } from "../../../src/routes/connector-handlers";
import { env } from "cloudflare:workers";
import { db } from "../helpers/accounts";
import { api } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { type BuildAccounts, jobContext, makeBuildAccounts, REPO, requestArchiveBuild } from "../helpers/builds";

let a: BuildAccounts;
const DIGEST = `sha256:${"a".repeat(64)}`;

beforeAll(async () => {
  a = await makeBuildAccounts();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const buildRow = (uuid: string) => db().select().from(repositoryBuilds).where(eq(repositoryBuilds.uuid, uuid)).get();
const logsOf = async (uuid: string) =>
  (await api("GET", `/repository/${REPO}/build/${uuid}/logs`, { token: a.bob })).json as {
    total: number;
    logs: { message: string; type?: string }[];
  };

describe("the build job handler", () => {
  it("is the queue's handler of `build` jobs", () => {
    expect(JOB_HANDLERS.build).toBe(buildJobHandler);
  });

  it("describes an archive build as the contract says, moves it to build-scheduled and emits build_started", async () => {
    const build = (await requestArchiveBuild(a.will, { docker_tags: ["v2"], dockerfile_path: "/sub/Dockerfile.prod" }))
      .json;
    const events = recordEvents();
    const job = await leaseOpenJob("build", build.id);
    const described = (await buildJobHandler.describe(job, jobContext())) as { build: Record<string, any> };
    expect(described.build).toMatchObject({
      uuid: build.id,
      repository: REPO,
      registry: "registry.test",
      insecure: true,
      docker_tags: ["v2"],
      build_subdir: "sub",
      context: "sub",
      dockerfile_path: "sub/Dockerfile.prod",
      source: { kind: "archive", url: "https://example.com/context.tar.gz" },
      credentials: { username: "$build", password: expect.stringContaining(`${build.id}.1.`) },
    });
    const expiresAt = described.build.credentials.expires_at;
    expect(expiresAt * 1000).toBeGreaterThan(Date.now() + 3_500_000);
    expect(expiresAt * 1000).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect((await buildRow(build.id))?.phase).toBe("build-scheduled");
    const [started] = await events.published("build_started");
    if (!started) throw new Error("no build_started");
    expect(started.actor).toEqual({ kind: "system", name: "builder" });
    expect(started.data).toMatchObject({ build: build.id, connector: "builder-1", dockerTags: ["v2"] });
    expect((await logsOf(build.id)).logs[0]).toEqual({
      message: "build scheduled on connector builder-1",
      type: "phase",
    });
  });

  it("moves only forward through Quay's phases, appends log lines, refuses phases it does not know", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    const job = await leaseOpenJob("build", build.id);
    await buildJobHandler.describe(job, jobContext());
    await buildJobHandler.progress!(
      job,
      { phase: "building", logs: [{ message: "STEP 1/2: FROM scratch" }] },
      jobContext(),
    );
    expect((await buildRow(build.id))?.phase).toBe("building");
    await buildJobHandler.progress!(job, { phase: "pulling", logs: [{ message: "late" }] }, jobContext());
    expect((await buildRow(build.id))?.phase).toBe("building");
    await expect(buildJobHandler.progress!(job, { phase: "complete" }, jobContext())).rejects.toThrow(
      /phase must be one of/,
    );
    const logs = await logsOf(build.id);
    expect(logs.logs.map((l) => l.message)).toEqual([
      "build scheduled on connector builder-1",
      "STEP 1/2: FROM scratch",
      "late",
    ]);
    expect((await buildRow(build.id))?.logCount).toBe(3);
  });

  it("cuts a log at 10,000 lines with one last 'log truncated' line", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    const job = await leaseOpenJob("build", build.id);
    await buildJobHandler.describe(job, jobContext());
    const lines = Array.from({ length: 2_500 }, (_, i) => ({ message: `line ${i}` }));
    for (let i = 0; i < 5; i++) await buildJobHandler.progress!(job, { logs: lines }, jobContext());
    const row = await buildRow(build.id);
    expect(row?.logCount).toBe(MAX_LOG_LINES);
    const tail = await api("GET", `/repository/${REPO}/build/${build.id}/logs?start=${MAX_LOG_LINES - 2}`, {
      token: a.bob,
    });
    expect(tail.json.total).toBe(MAX_LOG_LINES);
    expect(tail.json.logs.at(-1)).toEqual({ message: TRUNCATED_MESSAGE, type: "error" });
    await buildJobHandler.progress!(job, { logs: [{ message: "after" }] }, jobContext());
    expect((await buildRow(build.id))?.logCount).toBe(MAX_LOG_LINES);
  });

  it("counts the log's cap in bytes, not characters, across reports", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    const job = await leaseOpenJob("build", build.id);
    await buildJobHandler.describe(job, jobContext());
    // 12 lines of 20,000 two-byte characters a report: 480 KB each, half that in characters.
    const lines = Array.from({ length: 12 }, () => ({ message: "é".repeat(20_000) }));
    for (let i = 0; i < 10; i++) await buildJobHandler.progress!(job, { logs: lines }, jobContext());
    const { total } = (await api("GET", `/repository/${REPO}/build/${build.id}/logs`, { token: a.bob })).json;
    const tail = await api("GET", `/repository/${REPO}/build/${build.id}/logs?start=${total - 1}`, { token: a.bob });
    expect(tail.json.logs.at(-1)).toEqual({ message: TRUNCATED_MESSAGE, type: "error" });
    expect(total).toBeLessThan(1 + 10 * 12);
  });

  it("completes with the pushed digests and build_succeeded; refuses a bad result, leaving the build running", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    const job = await leaseOpenJob("build", build.id);
    await buildJobHandler.describe(job, jobContext());
    await expect(buildJobHandler.complete(job, { manifest_digests: ["nope"] }, jobContext())).rejects.toThrow(
      /invalid build result/,
    );
    expect((await buildRow(build.id))?.phase).toBe("build-scheduled");
    const events = recordEvents();
    await buildJobHandler.complete(job, { manifest_digests: [DIGEST], image_id: "sha256:img" }, jobContext());
    const row = await buildRow(build.id);
    expect(row).toMatchObject({ phase: "complete", manifestDigests: JSON.stringify([DIGEST]) });
    expect(row?.completedAt).not.toBeNull();
    const [succeeded] = await events.published("build_succeeded");
    expect(succeeded?.data).toMatchObject({
      manifestDigests: [DIGEST],
      imageId: "sha256:img",
    });
    // A completed build is no longer described: the queue closes a job re-leased after it.
    expect(await buildJobHandler.describe(job, jobContext())).toBeNull();
  });

  it("fails with the builder's message (error) or, when the leases ran out, internalerror (shown as Quay's expired)", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    const job = await leaseOpenJob("build", build.id);
    await buildJobHandler.describe(job, jobContext());
    const events = recordEvents();
    await buildJobHandler.fail(job, "Could not find or parse Dockerfile: unknown instruction: GIT", jobContext());
    expect(await buildRow(build.id)).toMatchObject({
      phase: "error",
      error: "Could not find or parse Dockerfile: unknown instruction: GIT",
    });
    expect(await events.published("build_failed")).toHaveLength(1);
    expect((await logsOf(build.id)).logs.at(-1)).toMatchObject({
      type: "error",
      message: expect.stringContaining("GIT"),
    });

    const other = (await requestArchiveBuild(a.will)).json;
    const lease = await leaseOpenJob("build", other.id);
    await buildJobHandler.describe(lease, jobContext());
    // The jobs queue's own reason when a job's leases ran out (src/connector/lease-expiry.ts).
    await buildJobHandler.fail(lease, EXHAUSTED_REASON, jobContext());
    expect((await buildRow(other.id))?.phase).toBe("internalerror");
    expect((await api("GET", `/repository/${REPO}/build/${other.id}`, { token: a.bob })).json.phase).toBe("expired");
  });

  it("restarts a build leased again after its connector died, and tells a cancelled build's job nothing", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    const first = await leaseOpenJob("build", build.id);
    await buildJobHandler.describe(first, jobContext());
    await buildJobHandler.progress!(first, { phase: "building" }, jobContext());
    const second = await leaseOpenJob("build", build.id);
    const again = (await buildJobHandler.describe(second, jobContext())) as {
      build: { credentials: { password: string } };
    };
    expect(again.build.credentials.password).toContain(`${build.id}.2.`);
    expect((await buildRow(build.id))?.phase).toBe("build-scheduled");
    expect((await logsOf(build.id)).logs.at(-1)?.message).toBe("build restarted on connector builder-1 (lease 2)");

    const cancelled = (await requestArchiveBuild(a.will)).json;
    const lease = await leaseOpenJob("build", cancelled.id);
    await db().update(repositoryBuilds).set({ phase: "cancelled" }).where(eq(repositoryBuilds.uuid, cancelled.id));
    expect(await buildJobHandler.describe(lease, jobContext())).toBeNull();
  });

  it("describes a trigger's build as a git source with the deploy key, unsealed", async () => {
    const repository = (await findRepository(db(), REPO))!;
    const trigger = await db()
      .insert(buildTriggers)
      .values({
        uuid: crypto.randomUUID(),
        repositoryId: repository.id,
        service: "custom-git",
        isActive: true,
        config: JSON.stringify({ build_source: "git@git.example.com:team/app.git" }),
        sealedPrivateKey: await encryptSecret(env, "-----BEGIN OPENSSH PRIVATE KEY-----\nkey\n"),
      })
      .returning()
      .get();
    const commit = "b7f7d2b948aacbe844ee465122a85a9368b2b735";
    const build = await queueBuild(db(), jobContext().scope, {
      repository: { id: repository.id, name: REPO },
      displayName: commit.slice(0, 7),
      config: {
        docker_tags: ["main"],
        build_subdir: "",
        context: "",
        trigger_metadata: { commit, ref: "refs/heads/main", git_url: "git@git.example.com:team/app.git" },
        is_manual: false,
        manual_user: null,
        archive_url: null,
      },
      resourceKey: null,
      pullRobot: null,
      trigger: { id: trigger.id, uuid: trigger.uuid, service: "custom-git" },
      performerId: null,
    });
    const described = (await buildJobHandler.describe(await leaseOpenJob("build", build.uuid), jobContext())) as {
      build: Record<string, unknown>;
    };
    expect(described.build).toMatchObject({
      dockerfile_path: "Dockerfile",
      build_subdir: "",
      source: {
        kind: "git",
        url: "git@git.example.com:team/app.git",
        commit,
        ref: "refs/heads/main",
        ssh_private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey\n",
      },
    });
  });
});
