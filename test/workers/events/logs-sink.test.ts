/**
 * The log sink (src/events/logs-sink.ts): with ACTION_LOG_SINK_URL, the consumer queues every
 * entry it writes (events and pulls) as `log_sink` jobs, and each job is one Splunk HEC request
 * with `Authorization: Splunk <token>` and Quay's event JSON; a failing collector fails the job
 * (the queue retries it); off by default; batches bounded in bytes.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SINK_BATCH_BYTES, type SinkEntry, sendToSink, sinkBatches } from "../../../src/events/logs-sink";
import { pullCounter } from "../../../src/registry/pull-counts";
import { api, initializeAdmin } from "../helpers/api";
import { basic, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { consume, recordLogs } from "../helpers/action-logs";
import { outboxRowsSince } from "../helpers/events";
import { receiveAt, recordExportJobs } from "../helpers/log-exports";
import { request } from "../helpers/registry";

const COLLECTOR = "https://splunk.example.com:8088";
const URL_ = `${COLLECTOR}/services/collector/event`;
const sinkEnv = { ...env, ACTION_LOG_SINK_URL: URL_, ACTION_LOG_SINK_TOKEN: "hec-token-1" } as unknown as Env;
const IP = "198.51.100.9";
let password: string;
let sam: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  password = await makeUser(admin, "sam");
  sam = await tokenFor("sam");
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs the actions' messages through the consumer with `targetEnv`; the sink jobs it queued. */
async function consumeWith(targetEnv: Env, logs: ReturnType<typeof recordLogs>, since: number) {
  const jobs = recordExportJobs(["log_sink"]);
  await vi.waitFor(async () => expect(await outboxRowsSince(since)).toBe(0));
  await pullCounter(env.EVENTS).flush();
  await consume(logs.sent.splice(0), targetEnv);
  return jobs;
}

describe("the log sink", () => {
  it("sends every entry, events and pulls, as Splunk HEC JSON with the token, from the consumer", async () => {
    const since = Date.now();
    const logs = recordLogs();
    await api("POST", "/repository", {
      token: sam,
      headers: { "CF-Connecting-IP": IP },
      body: { namespace: "sam", repository: "sunk", visibility: "private", description: "" },
    });
    const token = (await v2Token(basic("sam", password), "repository:sam/sunk:pull,push")).token;
    await pushImageWith(token, "sam/sunk", "v1");
    const accept = { Accept: "application/vnd.oci.image.manifest.v1+json", "CF-Connecting-IP": IP };
    expect((await request("GET", "/v2/sam/sunk/manifests/v1", { token, headers: accept })).status).toBe(200);
    const received = receiveAt(COLLECTOR);
    const jobs = await consumeWith(sinkEnv, logs, since);
    // Nothing reaches the collector until the sink's own jobs run.
    expect(received).toEqual([]);
    expect(jobs.jobs.length).toBeGreaterThan(0);
    await jobs.run(sinkEnv);
    expect(received.length).toBeGreaterThan(0);
    for (const r of received) {
      expect(r.url).toBe(URL_);
      expect(r.headers.get("Authorization")).toBe("Splunk hec-token-1");
      expect(r.headers.get("Content-Type")).toBe("application/json");
    }
    // HEC's batch format: JSON objects one after another, here a line each.
    const sent = received.flatMap((r) => r.text.split("\n")).map((line) => JSON.parse(line));
    const kinds = sent.map((e) => e.event.kind);
    expect(kinds).toEqual(expect.arrayContaining(["create_repo", "push_repo", "pull_repo"]));
    const created = sent.find((e) => e.event.kind === "create_repo");
    expect(created).toEqual({
      time: expect.any(Number),
      host: expect.any(String),
      sourcetype: "access_combined",
      event: {
        kind: "create_repo",
        account: "sam",
        performer: "sam",
        repository: "sunk",
        ip: IP,
        metadata_json: expect.objectContaining({ repo: "sunk", namespace: "sam" }),
        datetime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      },
    });
    const pulled = sent.find((e) => e.event.kind === "pull_repo");
    expect(pulled.event).toMatchObject({
      account: "sam",
      performer: "sam",
      repository: "sunk",
      ip: IP,
      metadata_json: { repo: "sunk", namespace: "sam", tag: "v1", username: "sam" },
    });
    expect(Math.abs(created.time * 1000 - Date.parse(created.event.datetime))).toBeLessThan(1);
  });

  it("is off by default: no sink job is queued", async () => {
    const since = Date.now();
    const logs = recordLogs();
    await api("POST", "/repository", {
      token: sam,
      body: { namespace: "sam", repository: "unsunk", visibility: "private", description: "" },
    });
    const jobs = await consumeWith(env, logs, since);
    expect(jobs.jobs).toEqual([]);
  });

  it("a collector answering 500 fails the job, for the queue to retry it", async () => {
    const received = receiveAt(COLLECTOR, 503);
    const entry: SinkEntry = {
      kind: "create_repo",
      account: "sam",
      performer: "sam",
      repository: "x",
      ip: null,
      metadata_json: {},
      datetime: new Date().toISOString(),
    };
    await expect(sendToSink(sinkEnv, [entry])).rejects.toThrow(/503/);
    expect(received).toHaveLength(1);
  });

  it("never calls a private collector unless ALLOW_PRIVATE_OUTBOUND (the outbound guard)", async () => {
    const entry = {
      kind: "k",
      account: null,
      performer: null,
      repository: null,
      ip: null,
      metadata_json: {},
      datetime: new Date().toISOString(),
    };
    const privateEnv = {
      ...sinkEnv,
      ACTION_LOG_SINK_URL: "http://10.1.2.3:8088/services/collector/event",
    } as unknown as Env;
    const spy = vi.spyOn(globalThis, "fetch");
    await expect(sendToSink(privateEnv, [entry])).rejects.toThrow();
    expect(spy).not.toHaveBeenCalled();
  });

  it("batches stay under the bound, in order, each entry once", () => {
    const entries: SinkEntry[] = Array.from({ length: 500 }, (_, i) => ({
      kind: "push_repo",
      account: "sam",
      performer: "sam",
      repository: "r",
      ip: null,
      metadata_json: { i, padding: "x".repeat(500) },
      datetime: new Date(0).toISOString(),
    }));
    const batches = sinkBatches(entries);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(JSON.stringify(batch).length).toBeLessThanOrEqual(SINK_BATCH_BYTES + 2);
    expect(batches.flat()).toEqual(entries);
  });
});
