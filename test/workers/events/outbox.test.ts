/**
 * The events outbox (src/events/outbox.ts) and its consumer's deduplication: a change and its event
 * commit together or not at all; a publication the queue refuses leaves the row, which the cron's
 * drain delivers, from every database's outbox; the consumer hands an event to its subscribers once
 * per id.
 */
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { deliveredEvents, eventOutbox, repositories } from "../../../src/db/schema";
import { newEvent, type RegistryEvent } from "../../../src/events/catalogue";
import { DELIVERED_RETENTION_MS, sweepDelivered } from "../../../src/events/deliveries";
import { drainOutbox, eventStatement, OUTBOX_DRAIN_AGE_MS } from "../../../src/events/outbox";
import worker from "../../../src/index";
import { createRepository } from "../../../src/registry/repositories";
import { api, initializeAdmin } from "../helpers/api";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { eventsAs, recordEvents } from "../helpers/events";
import { envWithFailingShard, shardDb } from "../helpers/shard-rows";

let olga: string;

beforeAll(async () => {
  await makeUser(await initializeAdmin(), "olga");
  olga = await tokenFor("olga");
});

afterEach(() => {
  vi.restoreAllMocks();
});

const outboxIds = async () => (await db().select({ id: eventOutbox.id }).from(eventOutbox).all()).map((r) => r.id);

describe("writing an event with its change", () => {
  it("commits the event in the change's batch, and a failing batch writes neither", async () => {
    const events = await eventsAs("olga");
    const recorder = recordEvents();
    const made = await createRepository(
      db(),
      { name: "olga/atomic", visibility: "private", description: null, kind: "image", creator: null },
      events,
    );
    expect(made.ok).toBe(true);
    const [created] = await recorder.published("create_repo");
    expect(created?.repository?.name).toBe("olga/atomic");

    // The same name again: the insert violates the unique name, and the batch (event included) rolls back.
    const before = await outboxIds();
    const again = await createRepository(
      db(),
      { name: "olga/atomic", visibility: "public", description: null, kind: "image", creator: null },
      events,
    );
    expect(again).toEqual({ ok: false, reason: "exists" });
    expect(await outboxIds()).toEqual(before);
    expect(recorder.sent.filter((e) => e.kind === "create_repo")).toHaveLength(1);
  });

  it("writes a conditional event exactly when its condition holds in the batch", async () => {
    const events = await eventsAs("olga");
    const place = { namespace: "olga", repository: null };
    const kept = newEvent("delete_repo", place, events.origin, {});
    const skipped = newEvent("delete_repo", place, events.origin, {});
    await db().batch([
      eventStatement(db(), kept, { onlyIf: sql`exists (select 1 from ${repositories} where name = 'olga/atomic')` }),
      eventStatement(db(), skipped, { onlyIf: sql`exists (select 1 from ${repositories} where name = 'olga/none')` }),
    ]);
    const ids = await outboxIds();
    expect(ids).toContain(kept.id);
    expect(ids).not.toContain(skipped.id);
    await db().delete(eventOutbox).where(eq(eventOutbox.id, kept.id));
  });
});

describe("publication and the drain", () => {
  it("keeps the row when the queue refuses the event, and the cron's drain delivers it later", async () => {
    const recorder = recordEvents({ failing: 1 });
    const res = await api("PUT", "/repository/olga/atomic", { token: olga, body: { description: "drained" } });
    // The change stands: a refused publication never fails the request.
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(env.EVENTS.sendBatch).toHaveBeenCalledTimes(1));
    const [row] = await db().select().from(eventOutbox).all();
    expect(row).toBeDefined();
    expect(recorder.sent).toEqual([]);

    // A young row is left to its writer; a tick a minute later sends it and clears the outbox.
    expect(await drainOutbox(env, row!.createdAt + 1)).toEqual({ sent: 0, failed: false });
    const ctx = createExecutionContext();
    const controller = createScheduledController({ scheduledTime: row!.createdAt + OUTBOX_DRAIN_AGE_MS });
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await outboxIds()).toEqual([]);
    expect(recorder.sent.map((e) => [e.id, e.kind, e.data])).toEqual([
      [row!.id, "set_repo_description", { description: "drained" }],
    ]);
  });

  it("stops at a refused send and leaves the rest for the next call", async () => {
    recordEvents({ failing: 1 });
    const events = await eventsAs("olga");
    const event = newEvent("delete_repo", { namespace: "olga", repository: null }, events.origin, {}, 1);
    await db()
      .insert(eventOutbox)
      .values({ id: event.id, createdAt: 1, body: JSON.stringify(event) });
    expect(await drainOutbox(env, Date.now())).toEqual({ sent: 0, failed: true });
    expect(await outboxIds()).toEqual([event.id]);
    expect(await drainOutbox(env, Date.now())).toEqual({ sent: 1, failed: false });
    expect(await outboxIds()).toEqual([]);
  });
});

describe("the drain past one database", () => {
  /** An event committed in shard `number`'s outbox at `createdAt`, as a write to that shard leaves it. */
  const inShardOutbox = async (number: number, createdAt: number) => {
    const events = await eventsAs("olga");
    const event = newEvent("delete_repo", { namespace: "olga", repository: null }, events.origin, {}, createdAt);
    await shardDb(number)
      .insert(eventOutbox)
      .values({ id: event.id, createdAt, body: JSON.stringify(event) });
    return event;
  };
  const shardOutboxIds = async (number: number) =>
    (await shardDb(number).select({ id: eventOutbox.id }).from(eventOutbox).all()).map((r) => r.id);

  it("sends a shard's stale outbox row and deletes it there, leaving its young rows to their writer", async () => {
    const recorder = recordEvents();
    const stale = await inShardOutbox(2, Date.now() - 2 * OUTBOX_DRAIN_AGE_MS);
    const young = await inShardOutbox(2, Date.now());
    expect(await drainOutbox(env, Date.now())).toEqual({ sent: 1, failed: false });
    expect(recorder.sent.map((e) => e.id)).toEqual([stale.id]);
    expect(await shardOutboxIds(2)).toEqual([young.id]);
    await shardDb(2).delete(eventOutbox).where(eq(eventOutbox.id, young.id));
  });

  it("drains every other database when one cannot be read, and reports the failure", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const recorder = recordEvents();
    const stale = await inShardOutbox(2, 1);
    expect(await drainOutbox(envWithFailingShard(1), Date.now())).toEqual({ sent: 1, failed: true });
    expect(recorder.sent.map((e) => e.id)).toEqual([stale.id]);
    expect(await shardOutboxIds(2)).toEqual([]);
    expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({ msg: "outbox drain failed", shard: 1 });
  });
});

describe("the consumer", () => {
  const consume = async (bodies: unknown[]) => {
    const batch = createMessageBatch(
      "wharf-events",
      bodies.map((body, i) => ({ id: `m-${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    return getQueueResult(batch, ctx);
  };

  const someEvent = async (): Promise<RegistryEvent> =>
    newEvent(
      "set_repo_description",
      { namespace: "olga", repository: { id: 1, name: "olga/atomic" } },
      (await eventsAs("olga")).origin,
      { description: "x" },
    );

  it("hands an event to its subscribers once, however often its id arrives", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const event = await someEvent();
    const first = await consume([event, event]);
    expect(first.explicitAcks.sort()).toEqual(["m-0", "m-1"]);
    const second = await consume([event]);
    expect(second.explicitAcks).toEqual(["m-0"]);
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)) as { msg: string; id?: string });
    expect(lines.filter((l) => l.msg === "registry event")).toEqual([{ msg: "registry event", ...event }]);
    expect(lines.filter((l) => l.msg === "duplicate event skipped")).toHaveLength(2);
    expect(await db().select().from(deliveredEvents).where(eq(deliveredEvents.id, event.id)).all()).toHaveLength(1);
  });

  it("drops an event that does not match its kind's fields, and retries one a subscriber failed", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const event = await someEvent();
    const result = await consume([
      { ...event, data: { description: 7 } },
      { ...event, kind: "no_such_kind" },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["m-0", "m-1"]);

    const failing = await someEvent();
    vi.spyOn(console, "log").mockImplementation(() => {
      throw new Error("log sink down");
    });
    const retried = await consume([failing]);
    expect(retried.retryMessages.map((m) => m.msgId)).toEqual(["m-0"]);
    expect(await db().select().from(deliveredEvents).where(eq(deliveredEvents.id, failing.id)).all()).toEqual([]);
  });

  it("forgets delivered ids after the retention, in bounded sweeps", async () => {
    const old = crypto.randomUUID();
    await db().insert(deliveredEvents).values({ id: old, deliveredAt: 1 });
    expect(await sweepDelivered(db(), 1 + DELIVERED_RETENTION_MS)).toBe(0);
    expect(await sweepDelivered(db(), 2 + DELIVERED_RETENTION_MS)).toBe(1);
    expect(await db().select().from(deliveredEvents).where(eq(deliveredEvents.id, old)).all()).toEqual([]);
  });
});
