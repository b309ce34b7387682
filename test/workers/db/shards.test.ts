// Namespaces' action logs held in more than one D1 database (src/db/shards.ts): the tests' Worker
// has DB and two shards, DB_SHARD_1 and DB_SHARD_2 (vitest.workers.config.mts), each migrated alike.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { count, eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { database } from "../../../src/db/client";
import { actionLogs, namespaceShards, repositoryPullStats } from "../../../src/db/schema";
import { beginShardMove, stepShardMoves } from "../../../src/db/shard-moves";
import { coreMoves } from "../../../src/registry/core-moves";
import { forgetCorePlacements } from "../../../src/db/core-shards";
import {
  allShards,
  DIRECTORY_CACHE_MS,
  forgetDirectory,
  namespaceBinding,
  namespaceIdShard,
  shardOf,
  writableShard,
} from "../../../src/db/shards";
import worker from "../../../src/index";
import { findUser } from "../../../src/identity/users";
import { findRepository } from "../../../src/registry/repositories";
import { basic, db, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { logsOf, recordLogs } from "../helpers/action-logs";
import { observedEnv } from "../helpers/observed-env";
import { request } from "../helpers/registry";

const NOW = Date.now();
let admin: string;
const passwords = new Map<string, string>();
const ids = new Map<string, number>();

async function idOf(name: string): Promise<number> {
  return (await findUser(db(), name))!.id;
}

beforeAll(async () => {
  admin = await initializeAdmin();
  // Created one after the other: consecutive ids, which the assignment spreads over both shards.
  for (const name of ["shardan", "shardbo"]) {
    passwords.set(name, await makeUser(admin, name));
    ids.set(name, await idOf(name));
  }
});

afterEach(() => {
  vi.restoreAllMocks();
  forgetDirectory();
});

/** The action-log entries of namespace `id` held by each database, by shard number. */
async function entriesPerShard(id: number): Promise<Record<number, number>> {
  const held: Record<number, number> = {};
  for (const shard of allShards(env))
    held[shard.number] = (await database(shard.binding)
      .select({ n: count() })
      .from(actionLogs)
      .where(eq(actionLogs.namespaceId, id))
      .get())!.n;
  return held;
}

/** Pushes `user/app:v1` and pulls it by tag through /v2, as that user. */
async function pushAndPull(user: string): Promise<void> {
  const token = (await v2Token(basic(user, passwords.get(user)!), `repository:${user}/app:pull,push`)).token;
  expect((await pushImageWith(token, `${user}/app`, "v1")).status).toBe(201);
  const accept = { Accept: "application/vnd.oci.image.manifest.v1+json" };
  expect((await request("GET", `/v2/${user}/app/manifests/v1`, { token, headers: accept })).status).toBe(200);
}

describe("the directory", () => {
  it("runs on the databases the tests configure, each with the one schema", () => {
    expect(allShards(env).map((s) => s.number)).toEqual([0, 1, 2]);
  });

  it("puts two new namespaces on two shards, stable across isolates' caches, read back by name", async () => {
    const [a, b] = [ids.get("shardan")!, ids.get("shardbo")!];
    const first = [(await writableShard(env, a)).number, (await writableShard(env, b)).number];
    expect(new Set(first).size).toBe(2);
    expect(first.every((n) => n > 0)).toBe(true);
    forgetDirectory();
    expect([(await writableShard(env, a)).number, (await writableShard(env, b)).number]).toEqual(first);
    const rows = await db().select().from(namespaceShards).where(eq(namespaceShards.namespaceId, a)).all();
    expect(rows).toEqual([
      {
        namespaceId: a,
        shard: first[0],
        // SHARD_REGISTRY_CORE is off here: the registry core stays in DB (test/workers/db/core-shards.test.ts).
        coreShard: null,
        state: "active",
        assignedAt: expect.any(Number),
        moveShard: null,
        moveCursor: null,
        moveCoreCursor: null,
        moveCoreShard: null,
        stateAt: null,
      },
    ]);
    expect(await namespaceBinding(env, "shardan")).toBe(allShards(env)[first[0]!]!.binding);
    expect(await namespaceBinding(env, "shardbo")).toBe(allShards(env)[first[1]!]!.binding);
    expect(await shardOf(env, "shardbo")).toBe(database(allShards(env)[first[1]!]!.binding));
    // A name that is no namespace reads DB and is assigned nothing.
    expect(await namespaceBinding(env, "nosuchnamespace")).toBe(env.DB);
  });

  it("keeps a namespace whose entries DB already holds on DB (a registry that adds shards later)", async () => {
    await makeUser(admin, "shardold");
    const id = await idOf("shardold");
    await db()
      .insert(actionLogs)
      .values({ kind: "account_change_password", namespaceId: id, metadata: "{}", datetime: 1 });
    expect((await writableShard(env, id)).number).toBe(0);
    expect((await namespaceIdShard(env, id)).number).toBe(0);
  });

  it("reads a namespace's placement at most once per isolate and minute, an absence too (the /v2 path)", async () => {
    await makeUser(admin, "shardeve");
    const observed = observedEnv();
    expect(await namespaceBinding(observed.env, "shardeve")).toBe(observed.env.DB);
    expect(observed.d1).toHaveLength(2);
    expect(await namespaceBinding(observed.env, "shardeve")).toBe(observed.env.DB);
    expect(observed.d1).toHaveLength(2);
  });

  it("without shard bindings asks nothing: everything is in DB", async () => {
    const observed = observedEnv();
    const bare = Object.fromEntries(Object.entries(observed.env).filter(([key]) => !key.startsWith("DB_SHARD_")));
    expect(await namespaceBinding(bare as Env, "shardan")).toBe(bare.DB);
    expect((await writableShard(bare as Env, ids.get("shardan")!)).number).toBe(0);
    expect(observed.d1).toEqual([]);
  });
});

describe("action logs through the real routes", () => {
  it("writes each namespace's entries (events and pulls) in its own shard, lists them, and fans out", async () => {
    const logs = recordLogs();
    await pushAndPull("shardan");
    await pushAndPull("shardbo");
    await logs.deliver();
    const used = new Set<number>();
    for (const user of ["shardan", "shardbo"]) {
      const id = ids.get(user)!;
      const shard = (await namespaceIdShard(env, id)).number;
      used.add(shard);
      const held = await entriesPerShard(id);
      // Every entry of the namespace in its shard; none in DB or the other shard.
      expect(held[shard]).toBeGreaterThanOrEqual(3);
      expect(Object.entries(held).filter(([n, k]) => Number(n) !== shard && k > 0)).toEqual([]);
      const own = await logsOf(await tokenFor(user), `/repository/${user}/app/logs`);
      expect(own.map((e) => e.kind).sort()).toEqual(expect.arrayContaining(["create_repo", "pull_repo", "push_repo"]));
      expect(own.every((e) => e.metadata.namespace === user)).toBe(true);
    }
    // Two databases besides DB, one namespace each.
    expect([...used].sort()).toEqual([1, 2]);
    // The superuser's listing spans namespaces: it reads every database and merges newest first.
    const all = await logsOf(admin, "/superuser/logs");
    const namespaces = new Set(all.filter((e) => e.kind === "push_repo").map((e) => e.metadata.namespace));
    expect(namespaces).toEqual(new Set(["shardan", "shardbo"]));
    const times = all.map((e) => Date.parse(e.datetime));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    const aggregate = await api("GET", "/superuser/aggregatelogs", { token: admin });
    expect(aggregate.status).toBe(200);
    const pushes = aggregate.json.aggregated.filter((c: { kind: string }) => c.kind === "push_repo");
    expect(pushes.reduce((n: number, c: { count: number }) => n + c.count, 0)).toBe(2);
  });

  it("moves a namespace: writes refused while moving, copied once, flipped, then the old rows purged", async () => {
    // Its registry core moves along (src/registry/core-moves.ts; test/workers/db/core-moves.test.ts).
    await makeUser(admin, "shardcy").then((pw) => passwords.set("shardcy", pw));
    const id = await idOf("shardcy");
    const logs = recordLogs();
    await pushAndPull("shardcy");
    await logs.deliver();
    const from = (await namespaceIdShard(env, id)).number;
    const to = from === 1 ? 2 : 1;
    const held = (await entriesPerShard(id))[from]!;
    expect(held).toBeGreaterThanOrEqual(3);
    // (Its core is in DB, so a move to `from` would move the core alone: test/workers/db/core-moves.test.ts.)
    await expect(beginShardMove(env, id, 7, NOW)).rejects.toThrow(/DB_SHARD_7/);
    await beginShardMove(env, id, to, NOW);
    await expect(beginShardMove(env, id, to, NOW)).rejects.toThrow(/already moving/);
    forgetDirectory();
    forgetCorePlacements();

    // Moving: a push is refused (its core is moving); a write of `DB` alone commits, and its log
    // entry's delivery is retried; nothing is written anywhere.
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const token = (await v2Token(basic("shardcy", passwords.get("shardcy")!), "repository:shardcy/app:pull,push"))
      .token;
    expect((await pushImageWith(token, "shardcy/app", "v2")).status).toBe(403);
    const created = await api("POST", "/repository", {
      token: await tokenFor("shardcy"),
      body: { namespace: "shardcy", repository: "later", visibility: "private", description: "" },
    });
    expect(created.status).toBe(201);
    await logs.deliver().catch(() => undefined);
    const pushed = logs.sent.filter((b) => (b as { kind?: string }).kind === "create_repo").slice(-1);
    expect(await deliver(pushed)).toHaveLength(1);
    expect(await entriesPerShard(id)).toEqual({ 0: 0, [from]: held, [to]: 0 });

    // The copy waits for writes that read the directory before the change, then copies and flips.
    expect(await stepShardMoves(env, NOW + 1000, coreMoves)).toBe(0);
    // Rows of logs and chunks of the core.
    expect(await stepShardMoves(env, NOW + DIRECTORY_CACHE_MS, coreMoves)).toBeGreaterThan(held);
    const flipped = await db().select().from(namespaceShards).where(eq(namespaceShards.namespaceId, id)).get();
    expect(flipped).toMatchObject({ shard: to, coreShard: to, state: "purging", moveShard: from, moveCoreShard: 0 });
    expect(await entriesPerShard(id)).toEqual({ 0: 0, [from]: held, [to]: held });

    // A chunk copied again (a tick that died before its cursor was saved) inserts nothing.
    await db()
      .update(namespaceShards)
      .set({ shard: from, coreShard: null, state: "moving", moveShard: to, moveCursor: 0, stateAt: NOW })
      .where(eq(namespaceShards.namespaceId, id));
    expect(await stepShardMoves(env, NOW + DIRECTORY_CACHE_MS, coreMoves)).toBeGreaterThan(held);
    expect(await entriesPerShard(id)).toEqual({ 0: 0, [from]: held, [to]: held });

    // After the flip the retried write lands in the new shard; listings read it from there.
    expect(await deliver(pushed)).toEqual([]);
    expect((await entriesPerShard(id))[to]).toBe(held + 1);
    forgetDirectory();
    const listed = await logsOf(await tokenFor("shardcy"), "/repository/shardcy/app/logs");
    expect(listed.filter((e) => e.kind === "push_repo")).toHaveLength(1);
    expect(await logsOf(await tokenFor("shardcy"), "/repository/shardcy/later/logs")).toHaveLength(1);

    // The purge waits for readers' cached rows, then empties the old shard and ends the move.
    expect(await stepShardMoves(env, NOW + DIRECTORY_CACHE_MS + 1000, coreMoves)).toBe(0);
    expect(await stepShardMoves(env, NOW + 2 * DIRECTORY_CACHE_MS, coreMoves)).toBeGreaterThan(held);
    expect(await entriesPerShard(id)).toEqual({ 0: 0, [from]: 0, [to]: held + 1 });
    const done = await db().select().from(namespaceShards).where(eq(namespaceShards.namespaceId, id)).get();
    expect(done).toMatchObject({ shard: to, coreShard: to, state: "active", moveShard: null, moveCoreShard: null });
  });
});

describe("pull entries in a shard", () => {
  it("are keyed by their message: a redelivery adds none; a moving namespace's delivery is retried whole", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    passwords.set("sharddo", await makeUser(admin, "sharddo"));
    const id = await idOf("sharddo");
    const token = (await v2Token(basic("sharddo", passwords.get("sharddo")!), "repository:sharddo/app:pull,push"))
      .token;
    expect((await pushImageWith(token, "sharddo/app", "v1")).status).toBe(201);
    const repository = (await findRepository(db(), "sharddo/app"))!;
    const pull = {
      repositoryId: repository.id,
      repository: "sharddo/app",
      namespace: "sharddo",
      digest: `sha256:${"d".repeat(64)}`,
      tag: "v1",
      actor: { kind: "anonymous" },
      clientIp: null,
      at: NOW,
    };
    const message = {
      id: `msg-${crypto.randomUUID()}`,
      body: { type: "pulls", pulls: [pull, { ...pull, at: NOW + 1 }] },
    };
    const pulls = async () => (await entriesPerShard(id))[(await namespaceIdShard(env, id)).number]!;
    const counted = async () =>
      (await db().select().from(repositoryPullStats).where(eq(repositoryPullStats.repositoryId, repository.id)).get())
        ?.pulls ?? 0;
    const shard = (await writableShard(env, id)).number;
    expect(shard).toBeGreaterThan(0);
    expect(await deliverWithIds([message])).toEqual([]);
    expect([await pulls(), await counted()]).toEqual([2, 2]);
    // The same message again (the queue's at-least-once): no entry twice; the counts, as before, add up.
    expect(await deliverWithIds([message])).toEqual([]);
    expect([await pulls(), await counted()]).toEqual([2, 4]);

    await beginShardMove(env, id, shard === 1 ? 2 : 1, NOW);
    const later = { id: `msg-${crypto.randomUUID()}`, body: { type: "pulls", pulls: [{ ...pull, at: NOW + 2 }] } };
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(await deliverWithIds([later])).toEqual([later.id]);
    // Retried whole: neither the entry nor the count is written.
    expect([await pulls(), await counted()]).toEqual([2, 4]);
    // The move called off (by hand), the retry goes through.
    await db()
      .update(namespaceShards)
      .set({ state: "active", moveShard: null, moveCursor: null })
      .where(eq(namespaceShards.namespaceId, id));
    expect(await deliverWithIds([later])).toEqual([]);
    expect([await pulls(), await counted()]).toEqual([3, 5]);
  });
});

describe("a move written by hand", () => {
  it("onto the shard the namespace is on is undone, never copied or purged", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const id = ids.get("shardan")!;
    const shard = (await writableShard(env, id)).number;
    const before = await entriesPerShard(id);
    // Its logs and its core on that shard (the core's rows are not read here).
    await db()
      .update(namespaceShards)
      .set({ state: "moving", coreShard: shard, moveShard: shard, moveCursor: 0, stateAt: NOW })
      .where(eq(namespaceShards.namespaceId, id));
    expect(await stepShardMoves(env, NOW + 2 * DIRECTORY_CACHE_MS, coreMoves)).toBe(0);
    expect(await db().select().from(namespaceShards).where(eq(namespaceShards.namespaceId, id)).get()).toMatchObject({
      shard,
      state: "active",
      moveShard: null,
    });
    expect(await entriesPerShard(id)).toEqual(before);
    expect(error).toHaveBeenCalledOnce();
    await db().update(namespaceShards).set({ coreShard: null }).where(eq(namespaceShards.namespaceId, id));
  });
});

/** Hands `bodies` to the queue handler; the ids of the messages it asked to retry. */
async function deliver(bodies: readonly unknown[]): Promise<string[]> {
  vi.spyOn(console, "error").mockImplementation(() => undefined);
  return deliverWithIds(bodies.map((body) => ({ id: `msg-${crypto.randomUUID()}`, body })));
}

/** Hands messages with their ids to the queue handler; the ids of those it asked to retry. */
async function deliverWithIds(messages: readonly { id: string; body: unknown }[]): Promise<string[]> {
  const batch = createMessageBatch(
    "wharf-events",
    messages.map(({ id, body }) => ({ id, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return (await getQueueResult(batch, ctx)).retryMessages.map((m) => m.msgId);
}
