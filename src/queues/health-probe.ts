/**
 * The EVENTS queue's health probe (src/routes/health.ts): a message whose send proves the producer
 * binding works, and which the consumer recognizes and drops (src/queues/consumer.ts). It still
 * counts in the queue's lag (src/metrics/recorder.ts), so lag is measured even when idle.
 */
export const HEALTH_PROBE = { type: "health_probe" } as const;

export function isHealthProbe(body: unknown): boolean {
  return typeof body === "object" && body !== null && (body as { type?: unknown }).type === HEALTH_PROBE.type;
}
