import { createExecutionContext, createMessageBatch, getQueueResult, type MessageBatchMessage } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type EventData, type EventKind, newEvent, type RegistryEvent } from "../../../src/events/catalogue";
import worker from "../../../src/index";

const digest = `sha256:${"a".repeat(64)}` as const;
const origin = { actor: { kind: "user", name: "olga", id: 1 }, ip: "192.0.2.1" } as const;

/** An event of the catalogue about org/app, as the outbox would send it. */
function event<K extends EventKind>(kind: K, data: EventData<K>): RegistryEvent<K> {
  return newEvent(kind, { namespace: "org", repository: { id: 1, name: "org/app" } }, origin, data);
}

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
      event("push_repo", { digest, mediaType: "application/vnd.oci.image.manifest.v1+json", tag: "latest" }),
      event("push_repo", { digest, mediaType: "application/vnd.oci.image.index.v1+json", tag: null }),
      event("delete_manifest", { digest, tags: ["latest"] }),
      event("delete_tag", { tag: "latest", digest }),
      event("delete_blob", { digest }),
    ];
    const result = await consume(events);
    expect(result.outcome).toBe("ok");
    expect(result.explicitAcks.sort()).toEqual(events.map((_, i) => `msg-${i}`).sort());
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    const logged = log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(logged).toEqual(events.map((e) => ({ msg: "registry event", ...e })));
  });

  it("acknowledges malformed messages instead of retrying them, and reports them", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const bodies = [
      {},
      "not an object",
      null,
      42,
      { type: "unknown_job", repository: "org/app", at: 1 },
      { type: "gc_repository", repositoryId: "7", name: "org/app" },
      { ...event("push_repo", { digest, mediaType: "m", tag: null }), data: { digest } },
      { ...event("delete_tag", { tag: "latest", digest }), repository: 7 },
      { ...event("delete_blob", { digest }), at: "yesterday" },
      { ...event("delete_blob", { digest }), kind: "blob_deleted" },
    ];
    const valid = event("delete_tag", { tag: "v1", digest });
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
