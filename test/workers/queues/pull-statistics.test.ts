/**
 * The EVENTS consumer's pull statistics (src/queues/pull-statistics.ts): a delivery's `pulls`
 * messages summed per repository and UTC day into repository_pull_stats, in one D1 batch of a
 * statement per 25 repository-days, beside the registry events of the same delivery.
 */
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  type MessageBatchMessage,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { database, type Db } from "../../../src/db/client";
import { writableCoreShard } from "../../../src/db/core-shards";
import {
  actionLogs,
  deliveredEvents,
  manifestPullStats,
  repositories,
  repositoryPullStats,
  tagPullStats,
  users,
} from "../../../src/db/schema";
import worker from "../../../src/index";
import { newEvent } from "../../../src/events/catalogue";
import { DELIVERED_RETENTION_MS } from "../../../src/events/deliveries";
import type { PullRecord } from "../../../src/registry/pull-counts";
import { writableCoreDb } from "../../../src/registry/core-db";
import { observedEnv } from "../helpers/observed-env";
import { uniqueName } from "../helpers/registry";
import { envWithFailingShard, shardDb } from "../helpers/shard-rows";

const DAY = 86_400_000;
/** 2026-03-01T00:00:00Z */
const MARCH_1 = Date.UTC(2026, 2, 1);

async function repository(): Promise<{ id: number; name: string }> {
  const name = uniqueName("stats");
  const [row] = await database(env.DB)
    .insert(repositories)
    .values({ name, namespace: name.split("/")[0]! })
    .returning({ id: repositories.id });
  return { id: row!.id, name };
}

function pullOf(repo: { id: number; name: string }, at: number): PullRecord {
  return {
    repositoryId: repo.id,
    repository: repo.name,
    namespace: repo.name.split("/")[0]!,
    digest: `sha256:${"b".repeat(64)}`,
    tag: "latest",
    actor: { kind: "anonymous" },
    clientIp: null,
    at,
  };
}

async function consume(bodies: unknown[], bindings: Env = env, ids = bodies.map((_, i) => `msg-${i}`)) {
  const messages: MessageBatchMessage[] = bodies.map((body, i) => ({
    id: ids[i]!,
    timestamp: new Date(),
    attempts: 1,
    body,
  }));
  const batch = createMessageBatch("wharf-events", messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, bindings, ctx);
  return getQueueResult(batch, ctx);
}

async function statsOf(repositoryId: number, db: Db = database(env.DB)) {
  return db
    .select({ day: repositoryPullStats.day, pulls: repositoryPullStats.pulls, last: repositoryPullStats.lastPulledAt })
    .from(repositoryPullStats)
    .where(eq(repositoryPullStats.repositoryId, repositoryId))
    .orderBy(repositoryPullStats.day)
    .all();
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("pull statistics from the EVENTS queue", () => {
  it("sums a delivery's pulls per repository and UTC day in one statement, beside registry events", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const [a, b] = [await repository(), await repository()];
    const gone = { id: 2_000_000_000, name: "nobody/gone" };
    const lateMarch1 = MARCH_1 + DAY - 1000;
    // A registry event in the same delivery (docs/events.md) goes its own way, to the subscribers.
    const tagDeleted = newEvent(
      "delete_tag",
      { namespace: a.name.split("/")[0]!, repository: { id: a.id, name: a.name } },
      { actor: { kind: "anonymous" }, ip: null },
      { tag: "old", digest: `sha256:${"0".repeat(64)}` },
      1,
    );
    const bodies = [
      { type: "pulls", pulls: [pullOf(a, MARCH_1 + 5), pullOf(a, lateMarch1), pullOf(b, MARCH_1 + 7)] },
      tagDeleted,
      { type: "pulls", pulls: [pullOf(a, MARCH_1 + 100), pullOf(a, MARCH_1 + DAY), pullOf(gone, MARCH_1)] },
      { type: "pulls", pulls: [] },
      { type: "pulls", pulls: [{ ...pullOf(a, MARCH_1), repositoryId: "one" }] },
    ];
    const observed = observedEnv();
    const result = await consume(bodies, observed.env);

    expect(result.explicitAcks.sort()).toEqual(bodies.map((_, i) => `msg-${i}`).sort());
    expect(result.retryMessages).toEqual([]);
    // One statement for all the pulls; the event's delivery record (src/events/deliveries.ts) apart.
    expect(observed.d1.filter((query) => /repository_pull_stats/.test(query))).toHaveLength(1);
    expect(observed.d1.find((query) => /repository_pull_stats/.test(query))).toMatch(
      /^insert into repository_pull_stats/,
    );
    expect(await statsOf(a.id)).toEqual([
      { day: "2026-03-01", pulls: 3, last: lateMarch1 },
      { day: "2026-03-02", pulls: 1, last: MARCH_1 + DAY },
    ]);
    expect(await statsOf(b.id)).toEqual([{ day: "2026-03-01", pulls: 1, last: MARCH_1 + 7 }]);
    // A repository deleted since its pulls: nothing recorded, nothing failed.
    expect(await statsOf(gone.id)).toEqual([]);
    const dropped = error.mock.calls.map(([line]) => JSON.parse(String(line)) as { msg: string; id: string });
    expect(dropped).toEqual([
      { msg: "malformed pulls message dropped", id: "msg-3" },
      { msg: "malformed pulls message dropped", id: "msg-4" },
    ]);
    const logged = log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(logged).toContainEqual({ msg: "pulls counted", pulls: 6, repositoryDays: 4 });
    expect(logged).toContainEqual({ msg: "registry event", ...tagDeleted });

    // A later delivery adds to the same days, keeping the latest pull.
    await consume([{ type: "pulls", pulls: [pullOf(a, MARCH_1 + 1), pullOf(b, MARCH_1 + 9)] }]);
    expect((await statsOf(a.id))[0]).toEqual({ day: "2026-03-01", pulls: 4, last: lateMarch1 });
    expect(await statsOf(b.id)).toEqual([{ day: "2026-03-01", pulls: 2, last: MARCH_1 + 9 }]);
  });

  it("writes 25 repository-days a statement, all in one batch", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const repo = await repository();
    const pulls = Array.from({ length: 60 }, (_, i) => pullOf(repo, MARCH_1 + i * DAY));
    const observed = observedEnv();
    const result = await consume([{ type: "pulls", pulls }], observed.env);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    // Three statements of days, one each for the one tag and the one manifest, one of pull_repo logs;
    // before them, with D1 shards configured (src/db/shards.ts), the read of the namespaces' ids.
    expect(observed.d1.filter((query) => /^insert/.test(query))).toHaveLength(6);
    expect(observed.d1.filter((query) => !/^insert/.test(query))).toHaveLength(1);
    expect(observed.d1.filter((query) => /^insert into repository_pull_stats/.test(query))).toHaveLength(3);
    const rows = await statsOf(repo.id);
    expect(rows).toHaveLength(60);
    expect(rows.every((row) => row.pulls === 1)).toBe(true);
    expect(rows.at(-1)!.day).toBe(new Date(MARCH_1 + 59 * DAY).toISOString().slice(0, 10));
  });

  it("retries every pulls message of a delivery whose statistics fail to write, and writes none of them", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const repo = await repository();
    const failing = new Proxy(env.DB, {
      get(target, property) {
        if (property === "batch") return async () => Promise.reject(new Error("D1 is down"));
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const bodies = [
      { type: "pulls", pulls: [pullOf(repo, MARCH_1)] },
      { type: "pulls", pulls: [pullOf(repo, MARCH_1 + 1)] },
      { type: "tag_deleted", repository: repo.name, tag: "x", at: 1 },
    ];
    const result = await consume(bodies, { ...env, DB: failing } as Env);
    expect(result.retryMessages.map((m) => m.msgId).sort()).toEqual(["msg-0", "msg-1"]);
    expect(result.explicitAcks).toEqual(["msg-2"]);
    expect(await statsOf(repo.id)).toEqual([]);
    expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({ msg: "pull statistics not written", pulls: 2 });
  });

  it("sums pulls per tag (by tag only) and per manifest (by tag or digest), keeping the last", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const repo = await repository();
    const [one, two] = [`sha256:${"1".repeat(64)}`, `sha256:${"2".repeat(64)}`];
    const pull = (tag: string | null, digest: string, at: number) => ({ ...pullOf(repo, at), tag, digest });
    const observed = observedEnv();
    await consume(
      [
        {
          type: "pulls",
          pulls: [pull("v1", one, MARCH_1 + 3), pull("v1", two, MARCH_1 + 9), pull(null, one, MARCH_1 + 20)],
        },
        { type: "pulls", pulls: [pull("v2", two, MARCH_1 + 1), pull("v1", one, MARCH_1 + 5)] },
      ],
      observed.env,
    );
    // One statement per table for the whole delivery.
    expect(observed.d1.filter((query) => /^insert into tag_pull_stats/.test(query))).toHaveLength(1);
    expect(observed.d1.filter((query) => /^insert into manifest_pull_stats/.test(query))).toHaveLength(1);
    const tagRows = () =>
      database(env.DB)
        .select()
        .from(tagPullStats)
        .where(eq(tagPullStats.repositoryId, repo.id))
        .orderBy(tagPullStats.tag)
        .all();
    const manifestRows = () =>
      database(env.DB)
        .select()
        .from(manifestPullStats)
        .where(eq(manifestPullStats.repositoryId, repo.id))
        .orderBy(manifestPullStats.digest)
        .all();
    expect(await tagRows()).toEqual([
      { repositoryId: repo.id, tag: "v1", pulls: 3, lastPulledAt: MARCH_1 + 9, lastDigest: two },
      { repositoryId: repo.id, tag: "v2", pulls: 1, lastPulledAt: MARCH_1 + 1, lastDigest: two },
    ]);
    expect(await manifestRows()).toEqual([
      { repositoryId: repo.id, digest: one, pulls: 3, lastPulledAt: MARCH_1 + 20 },
      { repositoryId: repo.id, digest: two, pulls: 2, lastPulledAt: MARCH_1 + 9 },
    ]);
    // A later delivery adds; an older pull does not move the last digest back.
    await consume([{ type: "pulls", pulls: [pull("v1", one, MARCH_1 + 4)] }]);
    expect((await tagRows())[0]).toMatchObject({ pulls: 4, lastPulledAt: MARCH_1 + 9, lastDigest: two });
    expect((await manifestRows())[0]).toMatchObject({ pulls: 4, lastPulledAt: MARCH_1 + 20 });
  });

  it("deletes a repository's statistics with it", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const repo = await repository();
    await consume([{ type: "pulls", pulls: [pullOf(repo, MARCH_1)] }]);
    expect(await statsOf(repo.id)).toHaveLength(1);
    await database(env.DB).delete(repositories).where(eq(repositories.id, repo.id));
    expect(await statsOf(repo.id)).toEqual([]);
  });
});

/**
 * Namespaces whose registry core is on a shard (src/db/core-shards.ts): their counts go to that
 * database, one batch per database, each marked per message (src/queues/
 * pull-statistics-per-database.ts). The tests' Worker has SHARD_REGISTRY_CORE off, so a namespace
 * is placed here with it on, before anything reads its placement.
 */
describe("pull statistics of namespaces whose core is on a shard", () => {
  const coreOn = () => ({ ...env, SHARD_REGISTRY_CORE: "true" }) as unknown as Env;

  /** A repository whose namespace's core (and action logs) is on a shard, its shadows made there. */
  async function shardedRepository(): Promise<{ id: number; name: string; shard: number }> {
    const namespace = `core${crypto.randomUUID().slice(0, 8)}`;
    const name = `${namespace}/app`;
    await database(env.DB).insert(users).values({ username: namespace, kind: "user" });
    const shard = await writableCoreShard(coreOn(), namespace);
    expect(shard.number).toBeGreaterThan(0);
    const [row] = await database(env.DB)
      .insert(repositories)
      .values({ name, namespace })
      .returning({ id: repositories.id });
    await writableCoreDb(coreOn(), { id: row!.id, name });
    return { id: row!.id, name, shard: shard.number };
  }

  /** Message ids unique to a test: the markers of one test must not skip another's messages. */
  const idsFor = (count: number) => {
    const run = crypto.randomUUID().slice(0, 8);
    return Array.from({ length: count }, (_, i) => `${run}-${i}`);
  };

  const pullLogsOf = async (db: Db, repositoryId: number) =>
    (
      await db
        .select({ id: actionLogs.id })
        .from(actionLogs)
        .where(and(eq(actionLogs.repositoryId, repositoryId), eq(actionLogs.kind, "pull_repo")))
        .all()
    ).length;

  const markersIn = async (db: Db, ids: string[]) =>
    (await db.select({ id: deliveredEvents.id }).from(deliveredEvents).all())
      .map((row) => row.id)
      .filter((id) => ids.some((m) => id === `pulls:${m}`))
      .sort();

  it("counts them on the shard, with their pull_repo entries, and nothing in DB", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const s = await shardedRepository();
    const ids = idsFor(2);
    const result = await consume(
      [
        { type: "pulls", pulls: [pullOf(s, MARCH_1), pullOf(s, MARCH_1 + 9)] },
        { type: "pulls", pulls: [pullOf(s, MARCH_1 + DAY)] },
      ],
      env,
      ids,
    );
    expect(result.explicitAcks.sort()).toEqual(ids);
    expect(result.retryMessages).toEqual([]);
    expect(await statsOf(s.id, shardDb(s.shard))).toEqual([
      { day: "2026-03-01", pulls: 2, last: MARCH_1 + 9 },
      { day: "2026-03-02", pulls: 1, last: MARCH_1 + DAY },
    ]);
    expect(await shardDb(s.shard).select().from(tagPullStats).where(eq(tagPullStats.repositoryId, s.id))).toEqual([
      { repositoryId: s.id, tag: "latest", pulls: 3, lastPulledAt: MARCH_1 + DAY, lastDigest: pullOf(s, 0).digest },
    ]);
    expect(await statsOf(s.id)).toEqual([]);
    expect(await database(env.DB).select().from(tagPullStats).where(eq(tagPullStats.repositoryId, s.id))).toEqual([]);
    expect(await pullLogsOf(shardDb(s.shard), s.id)).toBe(3);
    expect(await pullLogsOf(database(env.DB), s.id)).toBe(0);
    // The markers sit in the database that counted the messages, and only there.
    expect(await markersIn(shardDb(s.shard), ids)).toEqual(ids.map((id) => `pulls:${id}`));
    expect(await markersIn(database(env.DB), ids)).toEqual([]);
  });

  it("counts a delivery mixing a namespace in DB and one on a shard each in its database", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const [a, s] = [await repository(), await shardedRepository()];
    const ids = idsFor(2);
    const observed = observedEnv();
    const result = await consume(
      [
        { type: "pulls", pulls: [pullOf(a, MARCH_1), pullOf(s, MARCH_1 + 1)] },
        { type: "pulls", pulls: [pullOf(a, MARCH_1 + 2)] },
      ],
      observed.env,
      ids,
    );
    expect(result.explicitAcks.sort()).toEqual(ids);
    // DB's markers read in one query, then its one batch: the markers, the counts, the entries.
    expect(observed.d1.filter((query) => /^select .* from "delivered_events"/.test(query))).toHaveLength(1);
    expect(observed.d1Batches).toHaveLength(1);
    expect(await statsOf(a.id)).toEqual([{ day: "2026-03-01", pulls: 2, last: MARCH_1 + 2 }]);
    expect(await statsOf(a.id, shardDb(s.shard))).toEqual([]);
    expect(await statsOf(s.id, shardDb(s.shard))).toEqual([{ day: "2026-03-01", pulls: 1, last: MARCH_1 + 1 }]);
    expect(await statsOf(s.id)).toEqual([]);
    expect(await pullLogsOf(database(env.DB), a.id)).toBe(2);
    expect(await pullLogsOf(shardDb(s.shard), s.id)).toBe(1);
    expect(await markersIn(database(env.DB), ids)).toEqual(ids.map((id) => `pulls:${id}`));
    expect(await markersIn(shardDb(s.shard), ids)).toEqual([`pulls:${ids[0]}`]);
  });

  it("retries what a failing database did not commit, and counts every pull once when redelivered", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const [a, s] = [await repository(), await shardedRepository()];
    const ids = idsFor(3);
    const bodies = [
      { type: "pulls", pulls: [pullOf(a, MARCH_1)] },
      { type: "pulls", pulls: [pullOf(s, MARCH_1 + 1)] },
      { type: "pulls", pulls: [pullOf(a, MARCH_1 + 2), pullOf(s, MARCH_1 + 3)] },
    ];
    const down = await consume(bodies, envWithFailingShard(s.shard), ids);
    // DB committed its share; the messages with a pull on the shard wait for it.
    expect(down.explicitAcks).toEqual([ids[0]]);
    expect(down.retryMessages.map((m) => m.msgId).sort()).toEqual([ids[1], ids[2]]);
    expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({ shard: s.shard });
    expect(await statsOf(a.id)).toEqual([{ day: "2026-03-01", pulls: 2, last: MARCH_1 + 2 }]);
    expect(await statsOf(s.id, shardDb(s.shard))).toEqual([]);

    // The shard is back: the same messages again (all three, as a redelivery of the whole may be)
    // add on the shard what it lacks and nothing in DB, which holds their markers.
    for (let round = 0; round < 2; round++) {
      const again = await consume(bodies, env, ids);
      expect(again.explicitAcks.sort()).toEqual(ids);
      expect(again.retryMessages).toEqual([]);
      expect(await statsOf(a.id)).toEqual([{ day: "2026-03-01", pulls: 2, last: MARCH_1 + 2 }]);
      expect(await statsOf(s.id, shardDb(s.shard))).toEqual([{ day: "2026-03-01", pulls: 2, last: MARCH_1 + 3 }]);
      expect(await pullLogsOf(database(env.DB), a.id)).toBe(2);
      expect(await pullLogsOf(shardDb(s.shard), s.id)).toBe(2);
    }
  });

  it("rolls back a database's batch whose marker another delivery wrote meanwhile, and skips it on the retry", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const s = await shardedRepository();
    const [id] = idsFor(1);
    const binding = shardDb(s.shard).$client;
    // Between this delivery's read of the markers and its batch, another delivery of the same
    // message commits its marker.
    const racing = new Proxy(binding, {
      get(target, property) {
        if (property === "batch")
          return async (statements: D1PreparedStatement[]) => {
            await target
              .prepare("insert into delivered_events (id, delivered_at) values (?, 1)")
              .bind(`pulls:${id}`)
              .run();
            return target.batch(statements);
          };
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const bodies = [{ type: "pulls", pulls: [pullOf(s, MARCH_1)] }];
    const raced = await consume(bodies, { ...env, [`DB_SHARD_${s.shard}`]: racing } as unknown as Env, [id!]);
    expect(raced.retryMessages.map((m) => m.msgId)).toEqual([id]);
    expect(await statsOf(s.id, shardDb(s.shard))).toEqual([]);
    expect(await pullLogsOf(shardDb(s.shard), s.id)).toBe(0);
    // The retry finds the marker: the other delivery counted the message.
    const retried = await consume(bodies, env, [id!]);
    expect(retried.explicitAcks).toEqual([id]);
    expect(await statsOf(s.id, shardDb(s.shard))).toEqual([]);
  });

  it("the cron tick sweeps old markers in every database", async () => {
    const now = Date.UTC(2026, 5, 1);
    const [old, fresh] = [`pulls:${crypto.randomUUID()}`, `pulls:${crypto.randomUUID()}`];
    for (const n of [0, 1, 2])
      await shardDb(n)
        .insert(deliveredEvents)
        .values([
          { id: old, deliveredAt: now - DELIVERED_RETENTION_MS - 1 },
          { id: fresh, deliveredAt: now - 1000 },
        ]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: now }), env, ctx);
    await waitOnExecutionContext(ctx);
    for (const n of [0, 1, 2]) {
      const kept = (await shardDb(n).select({ id: deliveredEvents.id }).from(deliveredEvents).all()).map((r) => r.id);
      expect(kept).toContain(fresh);
      expect(kept).not.toContain(old);
    }
  });
});
