/**
 * The connector's resilience against a fake edge (helpers/fake-edge.ts): it backs off while the
 * edge answers 503; a lease lost mid-build (409 `lease_lost`) kills the build at once and sends
 * nothing more for that job; SIGTERM mid-build fails the job with `retry` after the grace period
 * and exits 0; a token the edge does not know ends it with status 1. The builds run a real
 * `RUN sleep` under buildah, from a base image (sh and sleep) pushed to the run's Wharf.
 */
import { randomBytes, randomInt } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { registryHost, run } from "../helpers/clients";
import { ConnectorProcess } from "../helpers/connector-process";
import { FakeEdge, type QueuedJob } from "../helpers/fake-edge";
import { GitServer } from "../helpers/git-server";
import type { Credentials } from "../helpers/registry-auth";
import { pushShellBase } from "../helpers/shell-base";
import { connectWharf } from "../helpers/server";

const base = inject("wharfUrl");
const host = registryHost(base);
const runId = randomBytes(3).toString("hex");
const namespace = "connlife";
let creds: Credentials;
let git: GitServer;
let tmp: string;
const baseImage = `${host}/${namespace}/shbase-${runId}:latest`;

beforeAll(async () => {
  const wharf = await connectWharf(base, inject("wharfStateDir"));
  creds = await wharf.credentialsFor(namespace);
  git = await GitServer.start();
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-connector-life-"));
  await pushShellBase(baseImage, creds, tmp);
});
afterAll(async () => {
  await git?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** Whether a process whose command line is exactly `sleep <seconds>` runs on this machine. */
async function sleeping(seconds: number): Promise<boolean> {
  const out = await run("pgrep", ["-f", `^sleep ${seconds}$`]).catch(() => null);
  return out !== null;
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A build job whose Dockerfile runs `sleep <seconds>` on the shell base. */
async function sleepingBuild(edge: FakeEdge, seconds: number): Promise<QueuedJob> {
  const name = `sleep-${runId}-${seconds}`;
  const commit = await git.createRepository(name, { Dockerfile: `FROM ${baseImage}\nRUN sleep ${seconds}\n` });
  return edge.queue("build", {
    uuid: randomBytes(8).toString("hex"),
    repository: `${namespace}/${name}`,
    registry: host,
    insecure: true,
    docker_tags: ["latest"],
    build_subdir: "",
    context: "",
    dockerfile_path: "Dockerfile",
    source: { kind: "git", url: git.url(name), commit, ref: "refs/heads/main", ssh_private_key: null },
    credentials: { username: creds.username, password: creds.password, expires_at: Date.now() + 3_600_000 },
  });
}

function start(edge: FakeEdge, workDir: string, extra: string[] = []): ConnectorProcess {
  return ConnectorProcess.start(
    ["--edge", edge.url, "--insecure-registry", "--allow-private-sources", "--work-dir", workDir, ...extra],
    { WHARF_CONNECTOR_TOKEN: edge.token },
  );
}

describe("the connector's lifecycle", () => {
  it("backs off (jittered, doubling) while the edge answers 503, then connects", async () => {
    const edge = await FakeEdge.start();
    edge.unavailable = 3;
    const connector = start(edge, path.join(tmp, "work-backoff"));
    try {
      await edge.waitFor(() => edge.callsTo("/hello").some((c) => c.status === 200), "hello accepted", 30_000);
      const hellos = edge.callsTo("/hello");
      expect(hellos.map((c) => c.status)).toEqual([503, 503, 503, 200]);
      const gaps = hellos.slice(1).map((c, i) => c.at - hellos[i]!.at);
      // Waits are drawn from the upper half of 1 s, 2 s, 4 s.
      expect(gaps[0]).toBeGreaterThanOrEqual(450);
      expect(gaps[0]).toBeLessThan(1600);
      expect(gaps[1]).toBeGreaterThanOrEqual(950);
      expect(gaps[1]).toBeLessThan(2600);
      expect(gaps[2]).toBeGreaterThanOrEqual(1950);
      expect(gaps[2]).toBeLessThan(4600);
      // Then it polls for work every poll_seconds.
      await edge.waitFor(() => edge.callsTo("/lease").length >= 2, "two polls", 10_000);
      await connector.signal("SIGTERM");
      expect((await connector.waitForExit(15_000)).code).toBe(0);
    } finally {
      await connector.kill();
      await edge.stop();
    }
  });

  it("kills the build when its lease is lost, sends nothing more for it, and on SIGTERM fails the running job with retry", async () => {
    const edge = await FakeEdge.start();
    const workDir = path.join(tmp, "work-lost");
    const lostSeconds = 3000 + randomInt(900);
    const lost = await sleepingBuild(edge, lostSeconds);
    const connector = start(edge, workDir, ["--grace-seconds", "2"]);
    try {
      await waitUntil(() => sleeping(lostSeconds), "the build's RUN sleep to start", 90_000);
      expect(edge.callsTo("/heartbeat", lost).some((c) => c.body?.phase === "building")).toBe(true);
      edge.loseLease(lost);
      await connector.waitForOutput(/lease lost; its work was stopped and its result dropped/, 15_000);
      await waitUntil(async () => !(await sleeping(lostSeconds)), "the RUN sleep to be killed", 10_000);
      // No completion, no failure: another connector holds the job now.
      expect(edge.callsTo("/complete", lost)).toEqual([]);
      expect(edge.callsTo("/fail", lost)).toEqual([]);
      await waitUntil(async () => (await readdir(workDir)).length === 0, "the job's directory to go", 10_000);

      // It goes on leasing; the next build is stopped by SIGTERM after the grace period.
      const stoppedSeconds = 3900 + randomInt(90);
      const stopped = await sleepingBuild(edge, stoppedSeconds);
      await waitUntil(() => sleeping(stoppedSeconds), "the second build's RUN sleep to start", 90_000);
      const signalledAt = Date.now();
      await connector.signal("SIGTERM");
      expect((await connector.waitForExit(30_000)).code).toBe(0);
      expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(1900);
      expect(stopped.failed).toEqual({ error: "the connector stopped before the job finished", retry: true });
      expect(edge.callsTo("/complete", stopped)).toEqual([]);
      expect(await sleeping(stoppedSeconds)).toBe(false);
      expect(await readdir(workDir)).toEqual([]);
      // No lease after the signal.
      expect(edge.callsTo("/lease").filter((c) => c.at > signalledAt + 100)).toEqual([]);
    } finally {
      await connector.kill();
      await edge.stop();
    }
  });

  it("never runs one job twice: a job leased again while running here replaces the stale run", async () => {
    const edge = await FakeEdge.start();
    const seconds = 4 + randomInt(3);
    const job = await sleepingBuild(edge, seconds);
    const connector = start(edge, path.join(tmp, "work-twice"), ["--concurrency", "2"]);
    let most = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const out = await run("pgrep", ["-fc", `^sleep ${seconds}$`]).catch(() => null);
        most = Math.max(most, Number(out?.stdout.toString("utf8").trim() ?? 0));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await waitUntil(() => sleeping(seconds), "the build's RUN sleep to start", 90_000);
      const firstLease = job.leaseToken;
      // Its lease ran out (a stalled connector): the other worker of the same process leases it again.
      edge.expireLease(job);
      await edge.waitFor(() => Boolean(job.completed || job.failed), "the job to end", 120_000);
      expect(job.failed, connector.output()).toBeUndefined();
      expect(job.attempts).toBe(2);
      expect(connector.output()).toMatch(/was leased again while running here: stopping the stale run first/);
      // One completion, with the second lease; the stale run's calls were refused or never made.
      const completes = edge.callsTo("/complete", job);
      expect(completes.map((c) => [c.status, c.lease])).toEqual([[200, job.leaseToken]]);
      expect(job.leaseToken).not.toBe(firstLease);
      expect(most).toBe(1);
    } finally {
      watching = false;
      await watch;
      await connector.kill();
      await edge.stop();
    }
  });

  it("exits 1 when the edge does not know its token", async () => {
    const edge = await FakeEdge.start();
    const connector = ConnectorProcess.start(["--edge", edge.url, "--token", "wharfc_not-a-token"]);
    try {
      expect((await connector.waitForExit(30_000)).code).toBe(1);
      expect(connector.output()).toMatch(
        /the edge refused this connector: POST \/connector\/v1\/hello: 401 unauthorized/,
      );
    } finally {
      await connector.kill();
      await edge.stop();
    }
  });
});
