/**
 * The subscribing side of the live event stream: a Server-Sent Events body that the Worker holds
 * for its client, fed by a WebSocket to the namespace's stream object (durable-objects/
 * EventStreamDO.ts). The Worker, not the object, holds the client's response: an object holding
 * an open response could not hibernate, while the Worker pays only while it has something to do.
 *
 * Each event goes out as `id:` (the event id, so `Last-Event-ID` resumes), `event:` (its kind) and
 * `data:` (the event JSON of docs/events.md, as this subscriber may see it). A comment every
 * {@link KEEPALIVE_MS} keeps proxies from closing an idle stream; the stream ends when the client
 * goes, when the subscriber's access is gone, or after {@link STREAM_LIFETIME_MS}, after which
 * EventSource reconnects with `Last-Event-ID` and misses nothing the buffer still holds.
 */
import { clock } from "../lib/clock";
import { type RegistryEvent, parseEvent } from "./catalogue";
import { streamMessageSchema, streamObject } from "./live";

/** Idle comments, so proxies on the way (and their idle timeouts, often a minute or more) keep the stream open. */
export const KEEPALIVE_MS = 15_000;
/** The subscriber's access is checked again this often, while events flow or not (tokens live 5 minutes). */
export const RECHECK_MS = 60_000;
/** A stream ends after this long and the client resumes: bounds each request's subrequests and memory. */
export const STREAM_LIFETIME_MS = 30 * 60_000;
/** Frames waiting for a client that does not read; past this the stream ends and the client resumes. */
const MAX_PENDING = 500;
/** What EventSource waits before reconnecting, sent once at the start. */
const RETRY_MS = 3_000;

/** What the route decides about the subscriber (src/routes/api/events.ts). */
export interface StreamAccess {
  /** Whether the subscriber may still follow the stream: its credential and its access, read again. */
  recheck(): Promise<boolean>;
  /** The event as this subscriber may see it, or null when it may not see it at all. */
  view(event: RegistryEvent): Promise<RegistryEvent | null>;
}

export interface StreamRequest {
  namespace: string;
  /** The repository followed, by id; undefined: the whole namespace. */
  repositoryId?: number;
  /** The client's `Last-Event-ID`, if it is resuming. */
  lastEventId?: string;
  access: StreamAccess;
}

const encoder = new TextEncoder();

/** One SSE frame of an event. Event ids are UUIDs and kinds identifiers: neither holds a newline. */
export function eventFrame(event: RegistryEvent): string {
  return `id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * Subscribes to the namespace's stream object and returns the SSE body to answer with. The caller
 * has checked access once already; this checks it again every {@link RECHECK_MS}.
 */
export async function openEventStream(env: Env, request: StreamRequest): Promise<ReadableStream<Uint8Array>> {
  const query = new URLSearchParams();
  if (request.repositoryId !== undefined) query.set("repository", String(request.repositoryId));
  if (request.lastEventId !== undefined) query.set("after", request.lastEventId);
  const answer = await streamObject(env, request.namespace).fetch(`https://event-stream/subscribe?${query}`, {
    headers: { Upgrade: "websocket" },
  });
  const socket = answer.webSocket;
  if (!socket) throw new Error(`the event stream object refused the subscription (${answer.status})`);
  socket.accept();

  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const started = clock.now();
  let checkedAt = started;
  let ended = false;
  let pending = 0;
  // Frames leave in the order they came: each step waits for the one before (access checks are async).
  let chain: Promise<void> = Promise.resolve();

  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    try {
      socket.close(1000, "stream ended");
    } catch {
      // Already closed by the object.
    }
    writer.close().catch(() => undefined);
  };
  const write = (text: string) => writer.write(encoder.encode(text));
  const step = (work: () => Promise<void>) => {
    if (ended) return;
    if (++pending > MAX_PENDING) return end();
    chain = chain
      .then(async () => {
        if (!ended) await work();
      })
      .catch(end)
      .finally(() => pending--);
  };
  /** False (and the stream ended) when the subscriber may no longer follow it or its time is up. */
  const stillAllowed = async (): Promise<boolean> => {
    const now = clock.now();
    if (now - started >= STREAM_LIFETIME_MS) return false;
    if (now - checkedAt < RECHECK_MS) return true;
    if (!(await request.access.recheck())) return false;
    checkedAt = now;
    return true;
  };

  socket.addEventListener("message", (message) => {
    step(async () => {
      const parsed = streamMessageSchema.safeParse(JSON.parse(String(message.data)));
      if (!parsed.success) return;
      if (!(await stillAllowed())) return end();
      if (parsed.data.type === "reset") {
        await write(`event: reset\ndata: {"reason":"Last-Event-ID is older than the stream's buffer"}\n\n`);
        return;
      }
      const event = parseEvent(parsed.data.event);
      const shown = event ? await request.access.view(event) : null;
      if (shown) await write(eventFrame(shown));
    });
  });
  socket.addEventListener("close", end);
  socket.addEventListener("error", end);
  // The client left: the readable side was cancelled, so the writable side errors.
  writer.closed.catch(end);
  const keepAlive = setInterval(() => {
    step(async () => {
      if (!(await stillAllowed())) return end();
      await write(": keep-alive\n\n");
    });
  }, KEEPALIVE_MS);

  step(() => write(`retry: ${RETRY_MS}\n: wharf event stream\n\n`));
  return readable;
}
