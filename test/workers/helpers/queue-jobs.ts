/**
 * Jobs of the EVENTS queue in the tests: captured instead of sent (the test setup drops sends), then
 * handed one at a time to the Worker's own queue handler, as the queue would deliver them.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import worker from "../../../src/index";
import type { RegistryJob } from "../../../src/queues/jobs";

/** Captures the jobs sent to the EVENTS queue instead of sending them. */
export function captureJobs(): RegistryJob[] {
  const jobs: RegistryJob[] = [];
  vi.spyOn(env.EVENTS, "send").mockImplementation(async (body) => {
    jobs.push(body as RegistryJob);
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } } };
  });
  return jobs;
}

/** Runs `job` through the Worker's queue handler; returns whether it was acknowledged. */
export async function consumeJob(job: RegistryJob): Promise<boolean> {
  const batch = createMessageBatch("wharf-events", [{ id: "m", timestamp: new Date(), attempts: 1, body: job }]);
  const ctx = createExecutionContext();
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  await worker.queue(batch, env, ctx);
  return (await getQueueResult(batch, ctx)).explicitAcks.includes("m");
}
