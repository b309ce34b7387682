/**
 * The EVENTS queue consumer. Today it writes each event to the Worker's structured log (Workers
 * Logs, `wrangler tail`); notifications and action logs (later issues) subscribe here. Malformed
 * messages are acknowledged and logged rather than retried forever.
 */
import { registryEventSchema } from "./events";

export async function consumeEvents(batch: MessageBatch<unknown>): Promise<void> {
  for (const message of batch.messages) {
    const parsed = registryEventSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ msg: "malformed registry event dropped", id: message.id }));
    } else {
      console.log(JSON.stringify({ msg: "registry event", ...parsed.data }));
    }
    message.ack();
  }
}
