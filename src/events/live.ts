/**
 * The live event stream's publishing side and its wire between the Worker and the namespace's
 * stream object (durable-objects/EventStreamDO.ts). Events go to the stream from the commit point,
 * beside the queue (src/events/outbox.ts `publishEvents`), not from the queue's consumer: its
 * batching would hold every event up to a second. The stream is best effort and never the record:
 * a failed publication here is logged and dropped, and the queue still delivers the event to
 * notifications and logs. The subscribing side (SSE) is src/events/live-sse.ts.
 */
import { z } from "zod";
import type { RegistryEvent } from "./catalogue";
import { loggableError } from "../lib/loggable-error";

/**
 * Events each namespace's object keeps for `Last-Event-ID` to resume from, all its repositories
 * together, the most recent ones. A client asking to resume after an older event (or an id the object never held) gets a
 * `reset` event, then the live events: it must re-read the state it shows.
 */
export const STREAM_BUFFER_EVENTS = 1000;
/**
 * And for at most this long: a namespace that falls silent (or is deleted) leaves nothing behind a
 * day later.
 */
export const STREAM_BUFFER_AGE_MS = 24 * 60 * 60_000;

/** The tag of sockets following a whole namespace (the organization stream). */
export const NAMESPACE_TAG = "namespace";
/** The tag of sockets following one repository, by id: an id is never reused, a name may be. */
export const repositoryTag = (repositoryId: number): string => `repository:${repositoryId}`;

/** What a subscribing Worker asks for, in the query of its WebSocket upgrade. */
export const subscriptionSchema = z.object({
  /** The repository followed, by id; absent: the whole namespace. */
  repository: z.coerce.number().int().positive().optional(),
  /** The last event id the client saw (its `Last-Event-ID`): the object replays what followed. */
  after: z.string().min(1).max(100).optional(),
});
export type Subscription = z.infer<typeof subscriptionSchema>;

/** A message from the object to a subscribing Worker: an event, or "the buffer cannot resume you". */
export const streamMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("event"), event: z.unknown() }),
  z.object({ type: z.literal("reset") }),
]);
export type StreamMessage = z.infer<typeof streamMessageSchema>;

/** The namespace's stream object. */
export function streamObject(env: Env, namespace: string) {
  return env.EVENT_STREAM.get(env.EVENT_STREAM.idFromName(namespace));
}

/**
 * Sends committed events to their namespaces' stream objects: one RPC per namespace, concurrently.
 * Never throws: the change is committed whatever happens here, and a failure only costs live
 * subscribers those events (a later resume past them gets them from the buffer only if they
 * reached it). Events of no namespace (a person's failed login) have no stream.
 */
export async function streamEvents(env: Env, events: readonly RegistryEvent[]): Promise<void> {
  const byNamespace = new Map<string, RegistryEvent[]>();
  for (const event of events) {
    if (event.namespace === null) continue;
    const list = byNamespace.get(event.namespace) ?? [];
    list.push(event);
    byNamespace.set(event.namespace, list);
  }
  await Promise.all(
    [...byNamespace].map(async ([namespace, list]) => {
      try {
        await streamObject(env, namespace).publish(list);
      } catch (err) {
        const ids = list.map((e) => e.id);
        console.error(
          JSON.stringify({ msg: "live stream publication dropped", namespace, ids, err: loggableError(err) }),
        );
      }
    }),
  );
}
