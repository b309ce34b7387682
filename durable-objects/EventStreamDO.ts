/**
 * One Durable Object per namespace (user or organization): the hub of the live event stream
 * (src/events/live.ts, README "Live event stream"). Every publication of committed events reaches
 * it in one RPC ({@link EventStreamDO.publish}); it keeps the last {@link STREAM_BUFFER_EVENTS} of
 * them in its SQLite storage, for `Last-Event-ID` to resume from, and forwards each to the Workers
 * subscribed to the namespace or to the event's repository.
 *
 * Subscribers are Workers holding a client's SSE response, connected here over the WebSocket
 * Hibernation API: an object holding open HTTP responses could never hibernate, one holding only
 * hibernatable WebSockets sleeps between events and costs nothing while idle. Each socket is tagged
 * with what it follows (`namespace`, or `repository:<id>`), so forwarding asks workerd for the
 * sockets of one tag instead of keeping a list that hibernation would lose. Access is the
 * subscribing Worker's business: this object forwards what it is asked to.
 */
import { DurableObject } from "cloudflare:workers";
import type { RegistryEvent } from "../src/events/catalogue";
import {
  NAMESPACE_TAG,
  repositoryTag,
  STREAM_BUFFER_AGE_MS,
  STREAM_BUFFER_EVENTS,
  subscriptionSchema,
} from "../src/events/live";
import { clock } from "../src/lib/clock";

export class EventStreamDO extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#createBuffer();
  }

  /**
   * Stores `events` (oldest first) and forwards each to the sockets following its namespace or its
   * repository. Events already buffered (a repeated publication) are neither stored nor sent again.
   */
  async publish(events: RegistryEvent[]): Promise<void> {
    const sql = this.ctx.storage.sql;
    for (const event of events) {
      const body = JSON.stringify(event);
      // `returning`, not the cursor's rowsWritten: workerd counted a write for an insert the conflict skipped.
      const inserted = sql
        .exec(
          "insert into buffered_events (id, repository_id, at, body) values (?, ?, ?, ?) on conflict (id) do nothing returning seq",
          event.id,
          event.repository?.id ?? null,
          event.at,
          body,
        )
        .toArray().length;
      if (inserted === 0) continue;
      const message = frame({ type: "event", event: body });
      const sockets = this.ctx.getWebSockets(NAMESPACE_TAG);
      if (event.repository) sockets.push(...this.ctx.getWebSockets(repositoryTag(event.repository.id)));
      for (const socket of sockets) send(socket, message);
    }
    sql.exec(
      "delete from buffered_events where seq <= (select max(seq) from buffered_events) - ?",
      STREAM_BUFFER_EVENTS,
    );
    if ((await this.ctx.storage.getAlarm()) === null)
      await this.ctx.storage.setAlarm(clock.now() + STREAM_BUFFER_AGE_MS);
  }

  /** Forgets events past {@link STREAM_BUFFER_AGE_MS}; an object left with nothing keeps nothing. */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    sql.exec("delete from buffered_events where at <= ?", clock.now() - STREAM_BUFFER_AGE_MS);
    const oldest = sql.exec<{ at: number | null }>("select min(at) as at from buffered_events").one().at;
    if (oldest !== null) await this.ctx.storage.setAlarm(oldest + STREAM_BUFFER_AGE_MS + 1);
    else if (this.ctx.getWebSockets().length === 0) {
      // A silent or deleted namespace: drop everything its object stored, then stand ready again.
      await this.ctx.storage.deleteAll();
      this.#createBuffer();
    }
  }

  /**
   * A Worker subscribes: `Upgrade: websocket`, with what it follows and the last event id its
   * client saw. The replay is sent before this returns, and nothing runs between the replay's read
   * and the socket's acceptance (both synchronous), so no event falls between replay and live.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket")
      return new Response("expected a WebSocket upgrade", { status: 426 });
    const url = new URL(request.url);
    const parsed = subscriptionSchema.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) return new Response("invalid subscription", { status: 400 });
    const { repository, after } = parsed.data;
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [repository === undefined ? NAMESPACE_TAG : repositoryTag(repository)]);
    if (after !== undefined) this.#replay(server, after, repository);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends what followed `after` in the buffer, or a reset when the buffer no longer holds it. */
  #replay(socket: WebSocket, after: string, repository: number | undefined): void {
    const sql = this.ctx.storage.sql;
    const seen = sql.exec<{ seq: number }>("select seq from buffered_events where id = ?", after).toArray()[0];
    if (!seen) {
      send(socket, frame({ type: "reset" }));
      return;
    }
    const rows =
      repository === undefined
        ? sql.exec<{ body: string }>("select body from buffered_events where seq > ? order by seq", seen.seq)
        : sql.exec<{ body: string }>(
            "select body from buffered_events where seq > ? and repository_id = ? order by seq",
            seen.seq,
            repository,
          );
    for (const row of rows) send(socket, frame({ type: "event", event: row.body }));
  }

  /** How many subscribers are connected (the whole namespace's, or one repository's): for metrics and tests. */
  subscriberCount(repositoryId?: number): number {
    return this.ctx.getWebSockets(repositoryId === undefined ? undefined : repositoryTag(repositoryId)).length;
  }

  /** Subscribers send nothing; a message is ignored. */
  override async webSocketMessage(): Promise<void> {}

  /** The subscribing Worker went (its client left): finish the closing handshake. */
  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    try {
      socket.close(code === 1005 || code === 1006 ? 1000 : code, "subscriber left");
    } catch {
      // Already closed: nothing to finish.
    }
  }

  #createBuffer(): void {
    // `seq` orders the buffer; `id` is the event's, so a repeated publication stores nothing twice.
    this.ctx.storage.sql.exec(
      `create table if not exists buffered_events (
         seq integer primary key autoincrement,
         id text not null unique,
         repository_id integer,
         at integer not null,
         body text not null
       )`,
    );
  }
}

/** A message to a subscriber; events travel as the JSON text they were stored as, never re-encoded. */
function frame(message: { type: "event"; event: string } | { type: "reset" }): string {
  return message.type === "event" ? `{"type":"event","event":${message.event}}` : JSON.stringify(message);
}

/** A socket closing as it is sent to loses the message: its subscriber is gone anyway. */
function send(socket: WebSocket, message: string): void {
  try {
    socket.send(message);
  } catch {
    // The subscriber left; webSocketClose tidies up.
  }
}
