/** Worker entry: HTTP through the hono app, queue batches through the events consumer. */
import { createApp } from "./app";
import { consumeEvents } from "./queues/consumer";

export { RepositoryDO, UploadSessionDO } from "../durable-objects";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  queue: (batch, env, _ctx) => consumeEvents(batch, env),
} satisfies ExportedHandler<Env>;
