/**
 * The EVENTS consumer's pull statistics (src/queues/pull-statistics.ts): a delivery's `pulls`
 * messages summed per repository and UTC day into repository_pull_stats, in one D1 batch of a
 * statement per 25 repository-days, beside the registry events of the same delivery.
 */
import { createExecutionContext, createMessageBatch, getQueueResult, type MessageBatchMessage } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { database } from "../../../src/db/client";
import { manifestPullStats, repositories, repositoryPullStats, tagPullStats } from "../../../src/db/schema";
import worker from "../../../src/index";
import { newEvent } from "../../../src/events/catalogue";
import type { PullRecord } from "../../../src/registry/pull-counts";
import { observedEnv } from "../helpers/observed-env";
import { uniqueName } from "../helpers/registry";

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

async function consume(bodies: unknown[], bindings: Env = env) {
  const messages: MessageBatchMessage[] = bodies.map((body, i) => ({
    id: `msg-${i}`,
    timestamp: new Date(),
    attempts: 1,
    body,
  }));
  const batch = createMessageBatch("wharf-events", messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, bindings, ctx);
  return getQueueResult(batch, ctx);
}

async function statsOf(repositoryId: number) {
  return database(env.DB)
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
