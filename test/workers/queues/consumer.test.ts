import { createExecutionContext, createMessageBatch, getQueueResult, type MessageBatchMessage } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../src/index";

const digest = `sha256:${"a".repeat(64)}`;

function messages(bodies: unknown[]): MessageBatchMessage[] {
  return bodies.map((body, i) => ({ id: `msg-${i}`, timestamp: new Date(), attempts: 1, body }));
}

async function consume(bodies: unknown[]) {
  const batch = createMessageBatch("wharf-events", messages(bodies));
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("EVENTS queue consumer", () => {
  it("acknowledges every valid registry event and logs it", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const events = [
      {
        type: "manifest_pushed",
        repository: "org/app",
        digest,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        tag: "latest",
        at: 1,
      },
      {
        type: "manifest_pushed",
        repository: "org/app",
        digest,
        mediaType: "application/vnd.oci.image.index.v1+json",
        tag: null,
        at: 2,
      },
      { type: "manifest_deleted", repository: "org/app", digest, at: 3 },
      { type: "tag_deleted", repository: "org/app", tag: "latest", at: 4 },
      { type: "blob_deleted", repository: "org/app", digest, at: 5 },
    ];
    const result = await consume(events);
    expect(result.outcome).toBe("ok");
    expect(result.explicitAcks.sort()).toEqual(events.map((_, i) => `msg-${i}`).sort());
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    const logged = log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(logged).toEqual(events.map((event) => ({ msg: "registry event", ...event })));
  });

  it("acknowledges malformed messages instead of retrying them, and reports them", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const bodies = [
      {},
      "not an object",
      null,
      42,
      { type: "unknown_event", repository: "org/app", at: 1 },
      { type: "manifest_pushed", repository: "org/app", digest, at: 1 },
      { type: "tag_deleted", repository: 7, tag: "latest", at: 1 },
      { type: "blob_deleted", repository: "org/app", digest, at: "yesterday" },
    ];
    const valid = { type: "tag_deleted", repository: "org/app", tag: "v1", at: 9 };
    const result = await consume([...bodies, valid]);
    expect(result.outcome).toBe("ok");
    expect(result.explicitAcks.sort()).toEqual([...bodies, valid].map((_, i) => `msg-${i}`).sort());
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    const reported = error.mock.calls.map(([line]) => JSON.parse(String(line)) as { msg: string; id: string });
    expect(reported.map((r) => r.id)).toEqual(bodies.map((_, i) => `msg-${i}`));
    expect(reported.every((r) => r.msg === "malformed queue message dropped")).toBe(true);
  });

  it("acknowledges an empty batch", async () => {
    const result = await consume([]);
    expect(result.outcome).toBe("ok");
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([]);
  });
});
