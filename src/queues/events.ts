/**
 * Events the registry puts on the EVENTS queue after a change is committed. Consumers (action
 * logs, notifications, GC) read them; zod checks both ends.
 */
import { z } from "zod";

export const registryEventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("manifest_pushed"),
    repository: z.string(),
    digest: z.string(),
    mediaType: z.string(),
    tag: z.string().nullable(),
    at: z.number(),
  }),
  z.object({ type: z.literal("manifest_deleted"), repository: z.string(), digest: z.string(), at: z.number() }),
  z.object({ type: z.literal("tag_deleted"), repository: z.string(), tag: z.string(), at: z.number() }),
  z.object({ type: z.literal("blob_deleted"), repository: z.string(), digest: z.string(), at: z.number() }),
  // The repository vanished (renamed to a tombstone); the consumer purges its rows in chunks.
  z.object({
    type: z.literal("repository_deleted"),
    repository: z.string(),
    repositoryId: z.number().int(),
    at: z.number(),
  }),
  // A user or organization was hidden; the consumer purges it (src/identity/namespace-deletion.ts).
  z.object({
    type: z.literal("namespace_deleted"),
    namespace: z.string(),
    namespaceId: z.number().int(),
    at: z.number(),
  }),
  // Garbage collection found work in the repository (src/gc/scheduler.ts); its Durable Object does it.
  z.object({ type: z.literal("gc_repository"), repositoryId: z.number().int(), name: z.string() }),
]);

export type RegistryEvent = z.infer<typeof registryEventSchema>;

/**
 * Sends an event without holding up the response. A failed send is logged, never surfaced: the
 * change it describes is already committed.
 */
export function emit(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }, event: RegistryEvent): void {
  ctx.waitUntil(queueEvent(env, event));
}

/**
 * Sends an event and waits for the queue to take it. A failed send is logged, never thrown: the
 * change it describes is already committed (deletions leave a hidden state a sweep can finish).
 */
export async function queueEvent(env: Env, event: RegistryEvent): Promise<void> {
  try {
    await env.EVENTS.send(event);
  } catch (err) {
    console.error(JSON.stringify({ msg: "event not queued", event, err: String(err) }));
  }
}
