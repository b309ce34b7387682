/**
 * The EVENTS queue consumer. It writes each event to the Worker's structured log (Workers Logs,
 * `wrangler tail`); notifications and action logs (later issues) subscribe here. A
 * `repository_deleted` or `namespace_deleted` event also purges the deleted rows, a bounded
 * amount per message: what is left is queued again as a fresh message (retries are capped, a large purge is
 * not). A failed purge is retried. Malformed messages are acknowledged and logged rather than
 * retried forever.
 */
import { database } from "../db/client";
import { purgeNamespace } from "../identity/namespace-deletion";
import { purgeRepository } from "../registry/repository-deletion";
import { registryEventSchema } from "./events";

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
    if (event.type === "repository_deleted" || event.type === "namespace_deleted") {
      try {
        const db = database(env.DB);
        const { done } = event.type === "repository_deleted" ? await purgeRepository(db, event.repositoryId) : await purgeNamespace(db, event.namespaceId);
        if (!done) await env.EVENTS.send(event);
      } catch (err) {
        console.error(JSON.stringify({ msg: "repository purge failed", event, err: String(err) }));
        message.retry();
        continue;
      }
    }
    message.ack();
  }
}
