/**
 * The events outbox (docs/events.md, "Delivery"). An event is written by {@link eventStatement}, a
 * statement that joins the D1 batch of the change it reports, so the change and its event commit
 * together or not at all. After the commit the writer publishes it ({@link EventScope.publish}):
 * the events go to the EVENTS queue and their rows are deleted, in the background, and a failure
 * there never fails the change. Whatever a failed or interrupted publish leaves behind, the cron's
 * {@link drainOutbox} sends later: every event is delivered at least once, and consumers drop
 * repeats by id (src/events/deliveries.ts).
 */
import { asc, lte, type SQL, sql } from "drizzle-orm";
import { type Db, database } from "../db/client";
import { eventOutbox } from "../db/schema";
import { allShards } from "../db/shards";
import type { RegistryEvent } from "./catalogue";
import type { EventOrigin } from "./envelope";
import { streamEvents } from "./live";
import { loggableError } from "../lib/loggable-error";

export interface EventStatementOptions {
  /**
   * Write the row only where this condition holds when the statement runs. Put the statement
   * before a conditional change, with the change's own condition, and the event exists exactly
   * when the change happened (one transaction: nothing runs between the two).
   */
  onlyIf?: SQL;
  /**
   * Fields of the body the statement computes itself, by JSON path (`$.repository.id`): values
   * only the batch knows, such as the id of a row inserted before it. Each is wrapped in `json()`,
   * so it must be a number or JSON text (`json_group_array(…)`). The writer publishes the event
   * with the same values, read after the commit.
   */
  computed?: Record<string, SQL>;
}

/**
 * The statement writing `event` to the outbox, for the batch of the change it reports, so the two
 * commit together or not at all. In a raw batch (`batchSql`) use its `.getSQL()`.
 */
export function eventStatement(db: Db, event: RegistryEvent, options: EventStatementOptions = {}) {
  const body = JSON.stringify(event);
  const { onlyIf, computed } = options;
  if (onlyIf === undefined && computed === undefined) {
    return db.insert(eventOutbox).values({ id: event.id, createdAt: event.at, body });
  }
  const patches = Object.entries(computed ?? {}).map(([path, value]) => sql`, ${path}, json(${value})`);
  const bodySql = patches.length === 0 ? sql`${body}` : sql`json_set(${body}${sql.join(patches)})`;
  return db.insert(eventOutbox).select(sql`select ${event.id}, ${event.at}, ${bodySql} where ${onlyIf ?? sql`true`}`);
}

/**
 * What a domain write run under a lock returns: its result and the events it committed, for the
 * lock's holder to publish once the lock is released (durable-objects/RepositoryDO.ts).
 */
export interface Committed<T> {
  value: T;
  events: RegistryEvent[];
}

/**
 * Who causes the changes of one request or pass, and how their events leave once committed. A
 * domain write takes one: it builds its events with `origin`, commits them with the change and
 * then calls `publish` with the events it committed (those a conditional statement did not write
 * are left out: the writer knows from the batch's results).
 */
export interface EventScope {
  readonly origin: EventOrigin;
  /**
   * Sends events just committed to the queue without holding up the caller; never throws.
   * `outbox` is the database whose batch committed them (`DB` when left out): a write to a
   * namespace's core on a shard commits its events there (src/registry/label-writes.ts).
   */
  publish(events: readonly RegistryEvent[], outbox?: Db): void;
}

/**
 * An {@link EventScope} whose publications run under `waitUntil`: a request's
 * `executionCtx.waitUntil`, or a Durable Object's `ctx.waitUntil` (the object runs a pending
 * promise to its end after answering; were it evicted first, the drain sends the rows).
 */
export function eventScope(env: Env, origin: EventOrigin, waitUntil: (promise: Promise<unknown>) => void): EventScope {
  return {
    origin,
    publish(events, outbox) {
      if (events.length > 0) waitUntil(publishEvents(env, events, outbox));
    },
  };
}

/**
 * Sends committed events to the EVENTS queue and deletes their outbox rows, in `outbox`: the
 * database whose batch committed them (`DB` unless a writer committed in a shard). A failure is
 * logged, not thrown: the change is committed, and the rows still in the outbox are the drain's.
 */
export async function publishEvents(
  env: Env,
  events: readonly RegistryEvent[],
  outbox: Db = database(env.DB),
): Promise<void> {
  // The live stream gets them at the same moment, not from the queue (src/events/live.ts).
  const [{ error }] = await Promise.all([sendAndClear(env, outbox, events), streamEvents(env, events)]);
  if (error !== undefined) {
    const ids = events.map((e) => e.id);
    console.error(
      JSON.stringify({ msg: "events not published; the outbox drain sends them", ids, err: String(error) }),
    );
  }
}

/** sendBatch takes at most 100 messages and 256 KB; this leaves room for the queue's own framing. */
const SEND_MESSAGES = 100;
const SEND_BYTES = 200 * 1024;

/**
 * Sends `events` in batches the queue accepts, deleting each batch's rows once it is sent. Stops at
 * the first failure: `sent` counts the events sent before it.
 */
async function sendAndClear(
  env: Env,
  db: Db,
  events: readonly RegistryEvent[],
): Promise<{ sent: number; error?: unknown }> {
  let sent = 0;
  try {
    for (const chunk of sendChunks(events)) {
      await env.EVENTS.sendBatch(chunk.map((body) => ({ body })));
      sent += chunk.length;
      await clearRows(
        db,
        chunk.map((e) => e.id),
      );
    }
  } catch (error) {
    return { sent, error };
  }
  return { sent };
}

function sendChunks(events: readonly RegistryEvent[]): RegistryEvent[][] {
  const chunks: RegistryEvent[][] = [];
  let chunk: RegistryEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = JSON.stringify(event).length;
    if (chunk.length === SEND_MESSAGES || (chunk.length > 0 && bytes + size > SEND_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(event);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Deletes outbox rows by id: one statement, the ids as one JSON parameter (D1 binds at most 100). */
async function clearRows(db: Db, ids: string[]): Promise<void> {
  await db.delete(eventOutbox).where(sql`${eventOutbox.id} in (select value from json_each(${JSON.stringify(ids)}))`);
}

/**
 * How old a row must be before the drain sends it: younger ones are most likely being published
 * by their writer right now (publication follows the commit within milliseconds), and sending them
 * too would only make duplicates for consumers to drop.
 */
export const OUTBOX_DRAIN_AGE_MS = 60_000;
/** Rows the drain reads per call; the cron calls it every minute. */
export const OUTBOX_DRAIN_ROWS = 500;

export interface DrainResult {
  /** Events sent to the queue (and their rows deleted), over every database. */
  sent: number;
  /** True when a send or a database failed: what is left waits for the next call. */
  failed: boolean;
}

/**
 * Sends what the outboxes still hold: events whose publication failed (the queue refused, the
 * isolate died between commit and send) or whose rows were not deleted after sending. Every
 * database has an outbox (a change commits its event in its own database's batch, src/db/shards.ts),
 * so each is drained in turn with its own client, `DB` first; one that fails (unreachable, or the
 * queue refusing its send) is logged and the others are still drained.
 */
export async function drainOutbox(env: Env, nowMs: number): Promise<DrainResult> {
  const result: DrainResult = { sent: 0, failed: false };
  for (const shard of allShards(env)) {
    try {
      const { sent, error } = await drainOne(env, database(shard.binding), nowMs);
      result.sent += sent;
      if (error === undefined) continue;
      result.failed = true;
      console.error(JSON.stringify({ msg: "outbox drain stopped", shard: shard.number, sent, err: String(error) }));
    } catch (err) {
      result.failed = true;
      console.error(JSON.stringify({ msg: "outbox drain failed", shard: shard.number, err: loggableError(err) }));
    }
  }
  return result;
}

/**
 * One database's outbox, oldest first, at most {@link OUTBOX_DRAIN_ROWS} rows older than
 * {@link OUTBOX_DRAIN_AGE_MS}. Throws when the database cannot be read.
 */
async function drainOne(env: Env, db: Db, nowMs: number): Promise<{ sent: number; error?: unknown }> {
  const rows = await db
    .select({ id: eventOutbox.id, body: eventOutbox.body })
    .from(eventOutbox)
    .where(lte(eventOutbox.createdAt, nowMs - OUTBOX_DRAIN_AGE_MS))
    .orderBy(asc(eventOutbox.createdAt), asc(eventOutbox.id))
    .limit(OUTBOX_DRAIN_ROWS)
    .all();
  // The bodies were written by eventStatement from checked events; the consumer checks them again.
  return sendAndClear(
    env,
    db,
    rows.map((row) => JSON.parse(row.body) as RegistryEvent),
  );
}
