/**
 * Action-log helpers: the tests' setup swallows what is sent to the EVENTS queue, so a test that
 * reads action logs records what its actions send (events and pull records alike) and hands it to
 * the real queue consumer ({@link LogRecorder.deliver}), as the queue would. Then it reads the
 * entries through the API.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import worker from "../../../src/index";
import { pullCounter } from "../../../src/registry/pull-counts";
import { api } from "./api";
import { outboxRowsSince } from "./events";

export interface LogRecorder {
  /** Every message body sent since the recorder started. */
  readonly sent: unknown[];
  /** Hands what was sent since the last call (once every event left the outbox) to the consumer. */
  deliver(): Promise<void>;
}

/** Hands `bodies` to the Worker's queue handler as one batch; every message must be acknowledged. */
export async function consume(bodies: readonly unknown[], targetEnv: Env = env): Promise<void> {
  if (bodies.length === 0) return;
  const batch = createMessageBatch(
    "wharf-events",
    // Unique ids, as the queue gives: a pull's entry in a D1 shard is keyed by its message's id.
    bodies.map((body) => ({ id: `msg-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, targetEnv, ctx);
  const result = await getQueueResult(batch, ctx);
  expect(result.retryMessages).toEqual([]);
}

export function recordLogs(): LogRecorder {
  const since = Date.now();
  const sent: unknown[] = [];
  let handed = 0;
  vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages) => {
    sent.push(...[...messages].map((m) => m.body));
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } } };
  });
  return {
    sent,
    async deliver() {
      await vi.waitFor(async () => expect(await outboxRowsSince(since)).toBe(0));
      await pullCounter(env.EVENTS).flush();
      const bodies = sent.slice(handed);
      handed = sent.length;
      await consume(bodies);
    },
  };
}

/** The entries of a logs listing (`/user/logs`, `/repository/x/y/logs`, …) as `token`; expects 200. */
export async function logsOf(token: string, path: string): Promise<any[]> {
  const res = await api("GET", path, { token });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json.logs;
}

/** The one entry of `kind` in a listing; fails unless exactly one is there. */
export async function entryOf(token: string, path: string, kind: string): Promise<any> {
  const entries = (await logsOf(token, path)).filter((e) => e.kind === kind);
  expect(entries, `${kind} entries in ${path}`).toHaveLength(1);
  return entries[0];
}

/** Performs `action` (it must succeed), delivers what it sent, and answers the one entry of `kind` in `path` as `reader`. */
export async function loggedEntry(
  reader: string,
  path: string,
  kind: string,
  action: () => Promise<{ status: number }>,
): Promise<any> {
  const logs = recordLogs();
  const res = await action();
  expect(res.status, kind).toBeLessThan(300);
  await logs.deliver();
  return entryOf(reader, path, kind);
}
