/**
 * Issue #18's acceptance, a connector killed mid-build: against `npm start` and the real
 * connector. A build (`RUN sleep` on a base image pushed to the same Wharf, its context a tar.gz
 * the build request's `archive_url` names) is leased by a first connector, which is SIGKILLed
 * with everything it runs while the `RUN sleep` runs. Its lease runs out (60 s, no heartbeat
 * renews it); a second connector leases the job again and completes it once: the build
 * `complete`, one build_success notification, the job `done` after 2 attempts. Then a running
 * build cancelled through the API: the connector kills its step, build_cancelled, nothing pushed.
 */
import { randomBytes, randomInt } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { registryHost, run } from "./helpers/clients";
import type { ConnectorProcess } from "./helpers/connector-process";
import {
  createConnector,
  startConnector,
  subscribe,
  until,
  WebhookReceiver,
  waitForBuild,
} from "./helpers/origin-connector";
import { type RunningServer, startWharf } from "./helpers/server";
import { pushShellBase } from "./helpers/shell-base";

const runId = randomBytes(3).toString("hex");
const org = `leases${runId}`;
const repository = `${org}/app`;
let server: RunningServer;
let receiver: WebhookReceiver;
const connectors: ConnectorProcess[] = [];
let tmp: string;

const api = (method: string, pathname: string, body?: unknown) =>
  apiCall(server.url, server.adminToken, method, pathname, body);

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  server = await startWharf({ env: { ALLOW_PRIVATE_OUTBOUND: receiver.hostPort } });
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-origin-lease-"));
  await api("POST", "/organization/", { name: org, email: `${org}@example.com` });
  await api("POST", "/repository", { namespace: org, repository: "app", visibility: "private", description: "" });
  // The base is public: the build pulls it with the build's own push credential, scoped to app.
  const base = `${registryHost(server.url)}/${org}/shbase:latest`;
  await pushShellBase(base, await server.credentialsFor("admin"), tmp);
  await api("POST", `/repository/${org}/shbase/changevisibility`, { visibility: "public" });
}, 180_000);

afterAll(async () => {
  for (const connector of connectors) await connector.kill();
  await receiver?.stop();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Whether a process whose command line is exactly `sleep <seconds>` runs on this machine. */
async function sleeping(seconds: number): Promise<boolean> {
  return (await run("pgrep", ["-f", `^sleep ${seconds}$`]).catch(() => null)) !== null;
}

describe("builds interrupted mid-way", () => {
  it("loses the job when its lease runs out; a second connector builds it once", async () => {
    await subscribe(server.url, server.adminToken, repository, receiver, ["build_start", "build_success"]);
    // A number of seconds no other test's `RUN sleep` uses, so pgrep finds this build's.
    const seconds = 11 + randomInt(7);
    const context = path.join(tmp, "context");
    await mkdir(context);
    await writeFile(
      path.join(context, "Dockerfile"),
      `FROM ${registryHost(server.url)}/${org}/shbase:latest\nRUN sleep ${seconds}\n`,
    );
    await run("tar", ["-czf", path.join(tmp, "context.tar.gz"), "-C", context, "Dockerfile"]);
    const archiveUrl = receiver.serve("/context.tar.gz", await readFile(path.join(tmp, "context.tar.gz")));
    const made = await createConnector(server.url, server.adminToken, `first-${runId}`, ["build"]);
    const first = startConnector(server.url, made.token, path.join(tmp, "work-first"));
    connectors.push(first);

    const queued = await api("POST", `/repository/${repository}/build/`, {
      archive_url: archiveUrl,
      docker_tags: ["latest"],
    });
    await until(() => sleeping(seconds), `the build's RUN sleep ${seconds}\n${first.output().slice(-3000)}`, 90_000);
    const killedAt = Date.now();
    await first.kill();
    // buildah runs the step in a session of its own: the orphaned step runs out by itself, and
    // nothing is left to push its result.
    await until(async () => !(await sleeping(seconds)), "the orphaned RUN sleep to end", 30_000);
    const [leased] = await jobs();
    expect(leased).toMatchObject({ subject: queued.id, state: "leased", attempts: 1 });
    expect((await api("GET", `/repository/${repository}/build/${queued.id}`)).phase).toBe("building");

    // Another connector: it finds nothing to lease until the first one's lease runs out.
    const second = await createConnector(server.url, server.adminToken, `second-${runId}`, ["build"]);
    const replacement = startConnector(server.url, second.token, path.join(tmp, "work-second"));
    connectors.push(replacement);
    const done = await waitForBuild(server.url, server.adminToken, repository, queued.id, 150_000, replacement);
    expect(done.phase, replacement.output().slice(-3000)).toBe("complete");
    // The lease lasted its 60 s from the first connector's last heartbeat (every 15 s).
    await receiver.waitFor("/build_start", 1);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(60_000 - 15_000);

    const [job] = await jobs();
    expect(job).toMatchObject({ subject: queued.id, state: "done", attempts: 2, error: null });
    const successes = await receiver.waitFor("/build_success", 1);
    expect(successes[0]!.body).toMatchObject({ build_id: queued.id, docker_tags: ["latest"] });
    // The log says who built it: the second connector, after the first's lease ran out.
    const logs = await api("GET", `/repository/${repository}/build/${queued.id}/logs`);
    const phases = logs.logs.filter((e: { type?: string }) => e.type === "phase").map((e: any) => e.message);
    expect(phases.at(-1)).toBe("build complete");
    expect(phases.join("\n")).toContain(`second-${runId}`);
    expect(receiver.to("/build_success")).toHaveLength(1);
  }, 240_000);

  it("cancels a running build: the connector stops it at its next heartbeat, build_cancelled, nothing pushed", async () => {
    await subscribe(server.url, server.adminToken, repository, receiver, ["build_cancelled"]);
    const seconds = 600 + randomInt(300);
    const dockerfile = `FROM ${registryHost(server.url)}/${org}/shbase:latest\nRUN sleep ${seconds}\n`;
    const { url, file_id } = await api("POST", "/filedrop/", { mimeType: "application/octet-stream" });
    expect((await fetch(url, { method: "PUT", body: dockerfile })).status).toBeLessThan(300);
    const worker = connectors.at(-1)!;
    const queued = await api("POST", `/repository/${repository}/build/`, { file_id, docker_tags: ["cancelled"] });
    await until(() => sleeping(seconds), `the build's RUN sleep ${seconds}\n${worker.output().slice(-3000)}`, 90_000);
    expect(await api("DELETE", `/repository/${repository}/build/${queued.id}`)).toBe("Okay");
    expect((await api("GET", `/repository/${repository}/build/${queued.id}`)).phase).toBe("cancelled");
    // The connector hears it at its next heartbeat (15 s) and kills the step.
    await until(async () => !(await sleeping(seconds)), "the cancelled build's RUN sleep to be killed", 40_000);
    const [cancelled] = await receiver.waitFor("/build_cancelled");
    expect(cancelled!.body).toMatchObject({ build_id: queued.id, repository, docker_tags: ["cancelled"] });
    const job = (await jobs()).find((j) => j.subject === queued.id);
    expect(job).toMatchObject({ state: "cancelled" });
    expect((await api("GET", `/repository/${repository}/tag/?specificTag=cancelled`)).tags).toEqual([]);
    expect(worker.output()).toMatch(/cancel/i);
  }, 180_000);
});

async function jobs(): Promise<any[]> {
  return (await api("GET", "/superuser/connectors/jobs?kind=build")).jobs;
}
