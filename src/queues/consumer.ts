/**
 * The EVENTS queue consumer. It writes each event to the Worker's structured log (Workers Logs,
 * `wrangler tail`); notifications and action logs (later issues) subscribe here. A
 * `repository_deleted` or `namespace_deleted` event also purges the deleted rows, and a
 * `gc_repository` event has the repository's Durable Object collect its garbage, a bounded amount
 * per message: what is left is queued again as a fresh message (retries are capped, a large purge
 * or collection is not). A failed step is retried. Malformed messages are acknowledged and logged
 * rather than retried forever.
 */
import { database } from "../db/client";
import { purgeNamespace } from "../identity/namespace-deletion";
import { purgeRepository } from "../registry/repository-deletion";
import { repositoryObject } from "../registry/repository-object";
import { registryEventSchema, type RegistryEvent } from "./events";
import { clock } from "../lib/clock";

/** Runs the event's bounded step, if it has one; true when work is left for another message. */
async function step(env: Env, event: RegistryEvent): Promise<boolean> {
  const db = database(env.DB);
  switch (event.type) {
    case "repository_deleted":
      return !(await purgeRepository(db, event.repositoryId)).done;
    case "namespace_deleted":
      return !(await purgeNamespace(db, event.namespaceId)).done;
    case "gc_repository":
      // Collection uses the consumer's clock: a message that waited is only more conservative.
      return (await repositoryObject(env, event.name).collectGarbage(event.repositoryId, clock.now(), event.name)).more;
    default:
      return false;
  }
}

export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = registryEventSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ msg: "malformed registry event dropped", id: message.id }));
      message.ack();
      continue;
    }
    const event = parsed.data;
    console.log(JSON.stringify({ msg: "registry event", ...event }));
    try {
      if (await step(env, event)) await env.EVENTS.send(event);
    } catch (err) {
      console.error(
        JSON.stringify({
          msg: event.type === "gc_repository" ? "garbage collection failed" : "repository purge failed",
          event,
          err: String(err),
        }),
      );
      message.retry();
      continue;
    }
    message.ack();
  }
}
