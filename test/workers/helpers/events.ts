/**
 * Event helpers: what a test's actions published to the EVENTS queue, and event scopes for domain
 * calls made without a request. The queue binding is one object for the tests, the Worker and its
 * Durable Objects, so a spy on it sees every publication.
 */
import { env } from "cloudflare:workers";
import { gte, sql } from "drizzle-orm";
import { expect, vi } from "vitest";
import { database } from "../../../src/db/client";
import { eventOutbox } from "../../../src/db/schema";
import { type EventKind, looksLikeEvent, type RegistryEvent } from "../../../src/events/catalogue";
import type { EventOrigin } from "../../../src/events/envelope";
import { type EventScope, eventScope } from "../../../src/events/outbox";
import { subjectNamed } from "./registry";

/** Outbox rows written at or after `sinceMs`. */
export async function outboxRowsSince(sinceMs: number): Promise<number> {
  const row = await database(env.DB)
    .select({ n: sql<number>`count(*)` })
    .from(eventOutbox)
    .where(gte(eventOutbox.createdAt, sinceMs))
    .get();
  return row?.n ?? 0;
}

export interface EventRecorder {
  /** Every event sent to the queue since the recorder started, in order. */
  readonly sent: RegistryEvent[];
  /**
   * The events published since the recorder started, once every event committed since then has
   * left the outbox (publication runs after the answer, under waitUntil); `kind` filters them.
   * Each must have been in the outbox, as sent, when it was sent: committed with its change.
   */
  published<K extends EventKind>(kind?: K): Promise<RegistryEvent<K>[]>;
}

/**
 * Records what is published from now on instead of queueing it (so no consumer runs), with the
 * outbox row each event had when it was sent. With `failing`, the first that many sends are
 * refused, as a queue outage would.
 */
export function recordEvents(options: { failing?: number } = {}): EventRecorder {
  const since = Date.now();
  const sent: RegistryEvent[] = [];
  const stored = new Map<string, unknown>();
  let refusals = options.failing ?? 0;
  vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages) => {
    if (refusals > 0) {
      refusals--;
      throw new Error("queue unavailable");
    }
    const events = [...messages].map((m) => m.body).filter(looksLikeEvent) as RegistryEvent[];
    const ids = JSON.stringify(events.map((e) => e.id));
    const rows = await database(env.DB)
      .select()
      .from(eventOutbox)
      .where(sql`${eventOutbox.id} in (select value from json_each(${ids}))`)
      .all();
    for (const row of rows) stored.set(row.id, JSON.parse(row.body));
    sent.push(...events);
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } } };
  });
  return {
    sent,
    async published<K extends EventKind>(kind?: K) {
      await vi.waitFor(async () => expect(await outboxRowsSince(since)).toBe(0));
      for (const event of sent) expect(stored.get(event.id), `${event.kind} was not in the outbox`).toEqual(event);
      return sent.filter((e) => kind === undefined || e.kind === kind) as RegistryEvent<K>[];
    },
  };
}

/** The origin of direct domain calls whose events a test does not read. */
export const testOrigin: EventOrigin = { actor: { kind: "user", name: "tester", id: 0 }, ip: null };

/** An event scope for domain calls in tests, publishing as a request would. */
export function testEvents(origin: EventOrigin): EventScope {
  return eventScope(env, origin, (promise) => void promise);
}

/** The event scope of user `username` (created when missing) acting without a client address. */
export async function eventsAs(username: string): Promise<EventScope> {
  const subject = await subjectNamed(username);
  const id = subject.kind === "user" ? subject.id : 0;
  return testEvents({ actor: { kind: "user", name: username, id }, ip: null });
}

/** The event scope of a test's fixtures (domain writes made to set a scene), by no one in particular. */
export const fixtureEvents = (): EventScope => testEvents({ actor: { kind: "anonymous" }, ip: null });

/**
 * Captures every message sent to the EVENTS queue from now on, jobs (`send`) and events
 * (`sendBatch`) alike, instead of queueing it (so no consumer runs).
 */
export function captureQueued(): unknown[] {
  const sent: unknown[] = [];
  const metadata = { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } };
  vi.spyOn(env.EVENTS, "send").mockImplementation(async (message) => {
    sent.push(message);
    return { metadata };
  });
  vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages) => {
    sent.push(...[...messages].map((m) => m.body));
    return { metadata };
  });
  return sent;
}
