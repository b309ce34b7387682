/**
 * The live event stream against `npm start`, with real clients at both ends: `curl -N` follows a
 * repository's Server-Sent Events (README "Live event stream") while skopeo pushes, and the push's
 * `push_repo` arrives; `curl` resumes with `Last-Event-ID`; an idle stream carries keep-alive
 * comments. The latency from each event's commit (its `at`) to its arrival at curl is printed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { login, registryHost, skopeoCopy } from "./helpers/clients";
import { buildImageLayout } from "./helpers/oci-layout";
import { runSuffix } from "./helpers/seed-commands";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
const host = registryHost(base);
const org = `stream${runSuffix()}`;
const repo = `${org}/app`;
const BOUND_MS = 20_000;
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let tmp: string;
let layout: string;

interface Frame {
  id?: string;
  event?: string;
  data?: any;
  comment?: string;
  /** When curl printed it (this process's clock, which is the registry's: one machine). */
  receivedAt: number;
}

/** `curl -N` following a stream, its output parsed into frames as they arrive. */
class Curl {
  readonly frames: Frame[] = [];
  readonly process: ChildProcess;
  #buffer = "";
  #waiters: Array<() => void> = [];

  constructor(pathname: string, headers: Record<string, string> = {}) {
    const args = ["-N", "-s", "-H", `Authorization: Bearer ${wharf.adminToken}`];
    for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
    this.process = spawn("curl", [...args, `${base}/api/v1${pathname}`], { stdio: ["ignore", "pipe", "ignore"] });
    this.process.stdout!.on("data", (chunk: Buffer) => {
      const receivedAt = Date.now();
      this.#buffer += chunk.toString("utf8");
      for (let end = this.#buffer.indexOf("\n\n"); end >= 0; end = this.#buffer.indexOf("\n\n")) {
        const frame: Frame = { receivedAt };
        for (const line of this.#buffer.slice(0, end).split("\n")) {
          if (line.startsWith(":")) frame.comment = line.slice(1).trim();
          else if (line.startsWith("id: ")) frame.id = line.slice(4);
          else if (line.startsWith("event: ")) frame.event = line.slice(7);
          else if (line.startsWith("data: ")) frame.data = JSON.parse(line.slice(6));
        }
        this.#buffer = this.#buffer.slice(end + 2);
        this.frames.push(frame);
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** The first frame (from the start) that `match` accepts; fails after the bound. */
  async find(match: (frame: Frame) => boolean, ms = BOUND_MS): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      const wait = deadline - Date.now();
      if (wait <= 0) throw new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(): void {
    this.process.kill("SIGTERM");
  }
}

const curls: Curl[] = [];
const follow = (pathname: string, headers?: Record<string, string>) => {
  const curl = new Curl(pathname, headers);
  curls.push(curl);
  return curl;
};
const pushEvent = (tag: string) => (frame: Frame) => frame.event === "push_repo" && frame.data?.data?.tag === tag;

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-stream-"));
  layout = path.join(tmp, "layout");
  await buildImageLayout(layout, "one");
  await apiCall(base, wharf.adminToken, "POST", "/organization/", { name: org });
  await apiCall(base, wharf.adminToken, "POST", "/repository", {
    namespace: org,
    repository: "app",
    visibility: "private",
    description: "",
  });
  await login(host, { username: "$oauthtoken", password: wharf.adminToken }, path.join(tmp, "auth.json"));
});

afterAll(async () => {
  for (const curl of curls) curl.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe("the live event stream, followed with curl -N", () => {
  it("delivers skopeo's push, resumes after Last-Event-ID, and reports the commit-to-arrival latency", async () => {
    const live = follow(`/repository/${repo}/events`);
    await live.find((frame) => frame.comment === "wharf event stream");
    await skopeoCopy(`oci:${layout}:one`, `docker://${host}/${repo}:v1`);
    const pushed = await live.find(pushEvent("v1"));
    expect(pushed.id).toBe(pushed.data.id);
    expect(pushed.data).toMatchObject({ kind: "push_repo", namespace: org, repository: { name: repo } });

    // Tag after tag through the API: each create_tag's commit (`at`) to its arrival at curl.
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      await apiCall(base, wharf.adminToken, "PUT", `/repository/${repo}/tag/t${i}`, {
        manifest_digest: pushed.data.data.digest,
      });
      const frame = await live.find((f) => f.event === "create_tag" && f.data?.data?.tag === `t${i}`);
      latencies.push(frame.receivedAt - frame.data.at);
    }
    latencies.sort((x, y) => x - y);
    const skopeoLatency = pushed.receivedAt - pushed.data.at;
    console.log(
      JSON.stringify({
        msg: "event stream latency, commit to curl (ms)",
        push: skopeoLatency,
        tags: { n: latencies.length, p50: latencies[10], p95: latencies[18], max: latencies[19] },
      }),
    );
    expect(latencies[19]).toBeLessThan(BOUND_MS);

    const resumed = follow(`/repository/${repo}/events`, { "Last-Event-ID": pushed.id! });
    const replayed = await resumed.find((frame) => frame.event === "create_tag");
    expect(replayed.data.data.tag).toBe("t0");
  });

  it("keeps an idle stream open with keep-alive comments", async () => {
    const idle = follow(`/repository/${repo}/events`);
    await idle.find((frame) => frame.comment === "keep-alive", 25_000);
    expect(idle.process.exitCode).toBeNull();
  });
});
