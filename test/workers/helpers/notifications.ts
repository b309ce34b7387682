/**
 * Notification helpers: the deliveries queued on NOTIFICATIONS (test/workers/setup.ts drops them
 * otherwise), handed to the Worker's queue handler as a delivery of that queue would be, and a
 * spy standing in for the receivers of webhooks.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { Delivery } from "../../../src/notifications/message";
import worker from "../../../src/index";

/** Captures what is queued on NOTIFICATIONS from now on. */
export function recordDeliveries(): Delivery[] {
  const queued: Delivery[] = [];
  vi.spyOn(env.NOTIFICATIONS, "sendBatch").mockImplementation(async (messages) => {
    queued.push(...[...messages].map((m) => m.body as Delivery));
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } } };
  });
  return queued;
}

/** Runs the notifications consumer on `deliveries` (`attempts` as the queue counts them). */
export async function consumeDeliveries(deliveries: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    "wharf-notifications",
    deliveries.map((body, i) => ({ id: `delivery-${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

export interface Received {
  url: string;
  body: any;
  headers: Headers;
}

/** Answers the Worker's fetches with `status` (or `answer`) and records them. */
export function receiver(answer: number | ((url: string) => Response | Promise<Response>) = 200): Received[] {
  const received: Received[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const text = typeof init?.body === "string" ? init.body : "";
    received.push({ url, body: text ? JSON.parse(text) : null, headers: new Headers(init?.headers) });
    if (typeof answer !== "number") return answer(url);
    return new Response([204, 205, 304].includes(answer) ? null : "ok", { status: answer });
  });
  return received;
}
