// Moving a namespace's registry core between databases (src/registry/core-moves.ts, driven by the
// cron's src/db/shard-moves.ts): from DB to a shard (the migration path of a registry that turns
// SHARD_REGISTRY_CORE on with namespaces in DB), from a shard to another, and back to DB. Every
// core row arrives once with its manifest ids remapped, writes are refused while the copy runs and
// until readers follow the flip, reads are served throughout, and the bytes survive the old
// database's garbage collection.
import { env } from "cloudflare:workers";
import { count, eq, sql } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Db } from "../../../src/db/client";
import { forgetCorePlacements } from "../../../src/db/core-shards";
import {
  blobs,
  manifests,
  namespaceShards,
  repositories,
  repositoryBlobs,
  repositoryPullStats,
  tagPullStats,
  users,
} from "../../../src/db/schema";
import { beginShardMove, stepShardMoves } from "../../../src/db/shard-moves";
import { allShardDbs, DIRECTORY_CACHE_MS, forgetDirectory, writableShard } from "../../../src/db/shards";
import { collectBlobs } from "../../../src/gc/blobs";
import { graceMs } from "../../../src/gc/grace";
import { forgetShadows } from "../../../src/registry/core-db";
import { coreMoves } from "../../../src/registry/core-moves";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { db, makeUser, pushImageWith, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { placedUser } from "../helpers/core-shard";
import { registryToken, request } from "../helpers/registry";
import { shardDb } from "../helpers/shard-rows";
import readme from "../../../README.md?raw";

const ACCEPT = { Accept: "application/vnd.oci.image.manifest.v1+json" };
// Moves are stepped at times in the past, so that the flip's wait for readers is over when the
// test writes again (src/db/core-shards.ts reads the real clock).
const BASE = Date.now() - 20 * DIRECTORY_CACHE_MS;
let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
});

afterEach(() => {
  vi.restoreAllMocks();
  forgetAll();
});

function forgetAll(): void {
  forgetDirectory();
  forgetCorePlacements();
  forgetShadows();
}

const idOf = async (name: string) => (await db().select().from(users).where(eq(users.username, name)).get())!.id;
const repoId = async (name: string) =>
  (await db().select().from(repositories).where(eq(repositories.name, name)).get())!.id;

/** A push into `repository` as its owner `user`; the manifest's digest. */
async function push(user: string, repository: string, tag: string): Promise<Response> {
  const token = await registryToken([{ type: "repository", name: repository, actions: ["pull", "push"] }], user);
  return pushImageWith(token, repository, tag);
}

/** Everything of repository `id`'s core in database `d`, by the keys that survive a move. */
async function coreOf(d: Db, id: number) {
  const tagRows = await d.all<{ name: string; digest: string; start: number; end: number | null }>(sql`
    select t.name as name, m.digest as digest, t.lifetime_start_ms as start, t.lifetime_end_ms as "end"
    from tags t join manifests m on m.id = t.manifest_id where t.repository_id = ${id}
    order by t.name, t.lifetime_start_ms`);
  const references = await d.all<{ parent: string; digest: string }>(sql`
    select m.digest as parent, r.digest as digest from manifest_references r join manifests m on m.id = r.manifest_id
    where m.repository_id = ${id} order by 1, 2`);
  const labels = await d.all<{ id: string; parent: string }>(sql`
    select l.id as id, m.digest as parent from manifest_labels l join manifests m on m.id = l.manifest_id
    where m.repository_id = ${id} order by 1`);
  const of = async (
    table: typeof manifests | typeof repositoryBlobs | typeof repositoryPullStats | typeof tagPullStats,
  ) => (await d.select({ n: count() }).from(table).where(eq(table.repositoryId, id)).get())!.n;
  return {
    tags: tagRows,
    references,
    labels,
    manifests: await of(manifests),
    links: await of(repositoryBlobs),
    repositoryPulls: await of(repositoryPullStats),
    tagPulls: await of(tagPullStats),
  };
}

const EMPTY = { tags: [], references: [], labels: [], manifests: 0, links: 0, repositoryPulls: 0, tagPulls: 0 };

/** Steps the cron's moves at `at` until namespace `id`'s row reaches `state`; the directory row. */
async function stepUntil(id: number, state: "purging" | "active", at: number) {
  for (let tick = 0; tick < 50; tick++) {
    await stepShardMoves(env, at, coreMoves);
    const row = (await db().select().from(namespaceShards).where(eq(namespaceShards.namespaceId, id)).get())!;
    if (row.state === state) return row;
  }
  const row = await db().select().from(namespaceShards).where(eq(namespaceShards.namespaceId, id)).get();
  throw new Error(`namespace ${id} never reached ${state}: ${JSON.stringify(row)}`);
}

describe("moving a namespace's core out of DB", () => {
  it("copies every core row once, refuses writes meanwhile, serves reads, then purges DB's rows", async () => {
    await makeUser(admin, "movean");
    const id = await idOf("movean");
    // Core in DB: the tests' Worker has SHARD_REGISTRY_CORE off. Two repositories; a tag moved
    // (its ended lifetime is history to keep), a label, pull statistics.
    expect((await push("movean", "movean/app", "v1")).status).toBe(201);
    const second = await push("movean", "movean/app", "v1");
    const digest = second.headers.get("Docker-Content-Digest")!;
    expect((await push("movean", "movean/app", "v2")).status).toBe(201);
    expect((await push("movean", "movean/other", "latest")).status).toBe(201);
    const token = await tokenFor("movean");
    const label = await api("POST", `/repository/movean/app/manifest/${digest}/labels`, {
      token,
      body: { key: "team", value: "core", media_type: null },
    });
    expect(label.status).toBe(201);
    const [app, other] = [await repoId("movean/app"), await repoId("movean/other")];
    await db()
      .insert(repositoryPullStats)
      .values({ repositoryId: app, day: "2026-12-01", pulls: 7, lastPulledAt: BASE });
    await db()
      .insert(tagPullStats)
      .values({ repositoryId: app, tag: "v1", pulls: 5, lastPulledAt: BASE, lastDigest: digest });
    const before = { app: await coreOf(db(), app), other: await coreOf(db(), other) };
    expect(before.app.tags).toHaveLength(3);
    expect(before.app.labels).toHaveLength(1);
    const bytes = (await db().select().from(repositories).where(eq(repositories.id, app)).get())!.storageBytes;

    // Its action logs may be placed already (on shard 0, 1 or 2); they move along to 1.
    const placed = await db().select().from(namespaceShards).where(eq(namespaceShards.namespaceId, id)).get();
    const logsFrom = placed?.shard ?? 0;
    await beginShardMove(env, id, 1, BASE);
    // Every isolate's kept directory row is older than the move after DIRECTORY_CACHE_MS.
    forgetAll();
    // Moving: a push is refused as a read-only repository is; a pull is served from DB.
    const refused = await push("movean", "movean/app", "v3");
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("DENIED");
    const pull = await registryToken([{ type: "repository", name: "movean/app", actions: ["pull"] }], "movean");
    expect((await request("GET", "/v2/movean/app/manifests/v1", { token: pull, headers: ACCEPT })).status).toBe(200);
    // On /api/v1 the same refusal is Quay's 503.
    const apiRefused = await api("POST", `/repository/movean/app/manifest/${digest}/labels`, {
      token,
      body: { key: "later", value: "x", media_type: null },
    });
    expect(apiRefused.status).toBe(503);

    // The copy waits for writes that read the directory before the move, then copies and flips.
    expect(await stepShardMoves(env, BASE + 1000, coreMoves)).toBe(0);
    const flipped = await stepUntil(id, "purging", BASE + DIRECTORY_CACHE_MS);
    expect(flipped).toMatchObject({ shard: 1, coreShard: 1, moveShard: logsFrom, moveCoreShard: 0 });
    for (const [name, rid] of [
      ["app", app],
      ["other", other],
    ] as const)
      expect(await coreOf(shardDb(1), rid)).toEqual(before[name]);
    // Shadows of the namespace and its repositories, with the storage recounted there.
    const shadow = await shardDb(1).select().from(repositories).where(eq(repositories.id, app)).get();
    expect(shadow).toMatchObject({ name: "movean/app", namespace: "movean", storageBytes: bytes });
    expect(await shardDb(1).select().from(users).where(eq(users.id, id)).get()).toMatchObject({ username: "movean" });

    // A copy run again from the start (a tick that died before saving its cursor) adds nothing.
    await db()
      .update(namespaceShards)
      .set({
        shard: logsFrom,
        coreShard: null,
        state: "moving",
        moveShard: 1,
        moveCursor: 0,
        moveCoreCursor: null,
        stateAt: BASE,
      })
      .where(eq(namespaceShards.namespaceId, id));
    await stepUntil(id, "purging", BASE + DIRECTORY_CACHE_MS);
    expect(await coreOf(shardDb(1), app)).toEqual(before.app);

    // Until readers follow the flip, writes stay refused.
    await db().update(namespaceShards).set({ stateAt: Date.now() }).where(eq(namespaceShards.namespaceId, id));
    forgetAll();
    expect((await push("movean", "movean/app", "v3")).status).toBe(403);
    await db()
      .update(namespaceShards)
      .set({ stateAt: BASE + DIRECTORY_CACHE_MS })
      .where(eq(namespaceShards.namespaceId, id));
    forgetAll();

    // The purge waits for readers too, then leaves DB only the directory's rows.
    expect(await stepShardMoves(env, BASE + DIRECTORY_CACHE_MS + 1000, coreMoves)).toBe(0);
    const done = await stepUntil(id, "active", BASE + 3 * DIRECTORY_CACHE_MS);
    expect(done).toMatchObject({ shard: 1, coreShard: 1, moveShard: null, moveCoreShard: null, moveCoreCursor: null });
    expect(await coreOf(db(), app)).toEqual(EMPTY);
    expect(await coreOf(db(), other)).toEqual(EMPTY);
    expect(await db().select().from(repositories).where(eq(repositories.id, app)).get()).toBeDefined();
    expect(await coreOf(shardDb(1), app)).toEqual(before.app);

    // Reads and writes on the shard: pulls by tag and digest, the layer's bytes, a new push.
    const res = await request("GET", "/v2/movean/app/manifests/v1", { token: pull, headers: ACCEPT });
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    const layer = ((await res.json()) as { layers: { digest: string }[] }).layers[0]!.digest;
    const listed = await api("GET", "/repository/movean/app/tag/?onlyActiveTags=true", { token });
    expect(listed.json.tags.map((t: { name: string }) => t.name).sort()).toEqual(["v1", "v2"]);
    const labels = await api("GET", `/repository/movean/app/manifest/${digest}/labels`, { token });
    expect(labels.json.labels.map((l: { key: string }) => l.key)).toEqual(["team"]);
    expect((await push("movean", "movean/app", "v3")).status).toBe(201);
    expect((await coreOf(db(), app)).manifests).toBe(0);

    // DB's garbage collection takes its blob rows, no longer referenced there, but not the bytes,
    // which the shard's rows name.
    expect(await db().select().from(blobs).where(eq(blobs.digest, layer)).get()).toBeDefined();
    const far = Date.now() + 30 * 86_400_000;
    await collectBlobs(db(), allShardDbs(env), new R2BlobStore(env.BLOBS), far, graceMs(env));
    expect(await db().select().from(blobs).where(eq(blobs.digest, layer)).get()).toBeUndefined();
    expect(await shardDb(1).select().from(blobs).where(eq(blobs.digest, layer)).get()).toBeDefined();
    const bytesBack = await request("GET", `/v2/movean/app/blobs/${layer}`, { token: pull });
    expect(bytesBack.status).toBe(200);
    expect((await bytesBack.text()).startsWith("layer ")).toBe(true);
  });
});

describe("moving a core between shards, and back to DB", () => {
  it("moves a placed namespace's core to the other shard, removing the old shadows, then into DB", async () => {
    const owner = await placedUser(admin, "moveco");
    const id = await idOf("moveco");
    const pushed = await push("moveco", "moveco/app", "v1");
    expect(pushed.status).toBe(201);
    const app = await repoId("moveco/app");
    const before = await coreOf(shardDb(owner.shard), app);
    expect(before.manifests).toBe(1);
    const to = owner.shard === 1 ? 2 : 1;

    await beginShardMove(env, id, to, BASE);
    await stepUntil(id, "purging", BASE + DIRECTORY_CACHE_MS);
    await stepUntil(id, "active", BASE + 2 * DIRECTORY_CACHE_MS);
    expect(await coreOf(shardDb(to), app)).toEqual(before);
    expect(await coreOf(shardDb(owner.shard), app)).toEqual(EMPTY);
    // The old shard keeps no shadow of the repository or the namespace.
    expect(
      await shardDb(owner.shard).select().from(repositories).where(eq(repositories.id, app)).get(),
    ).toBeUndefined();
    expect(await shardDb(owner.shard).select().from(users).where(eq(users.id, id)).get()).toBeUndefined();
    // Readers follow the flip within DIRECTORY_CACHE_MS, long before the purge; here at once.
    forgetAll();
    const pull = await registryToken([{ type: "repository", name: "moveco/app", actions: ["pull"] }], "moveco");
    const res = await request("GET", "/v2/moveco/app/manifests/v1", { token: pull, headers: ACCEPT });
    expect(res.headers.get("Docker-Content-Digest")).toBe(pushed.headers.get("Docker-Content-Digest"));

    // Back to DB, where the repository's row is the real one: no shadow is made, the rows arrive.
    forgetAll();
    await beginShardMove(env, id, 0, BASE + 10 * DIRECTORY_CACHE_MS);
    await stepUntil(id, "purging", BASE + 11 * DIRECTORY_CACHE_MS);
    const back = await stepUntil(id, "active", BASE + 12 * DIRECTORY_CACHE_MS);
    expect(back).toMatchObject({ shard: 0, coreShard: null });
    expect(await coreOf(db(), app)).toEqual(before);
    expect(await coreOf(shardDb(to), app)).toEqual(EMPTY);
    forgetAll();
    expect((await request("GET", "/v2/moveco/app/manifests/v1", { token: pull, headers: ACCEPT })).status).toBe(200);
    expect((await push("moveco", "moveco/app", "v2")).status).toBe(201);
    expect((await coreOf(db(), app)).manifests).toBe(2);
  });

  it("lets a namespace push while a move takes its action logs alone (its core on the target already)", async () => {
    await makeUser(admin, "movelogs");
    const id = await idOf("movelogs");
    // Logs placed on a shard, the core in DB (SHARD_REGISTRY_CORE off): a move to DB moves the logs.
    expect((await writableShard(env, id)).number).toBeGreaterThan(0);
    expect((await push("movelogs", "movelogs/app", "v1")).status).toBe(201);
    await beginShardMove(env, id, 0, BASE);
    forgetAll();
    expect((await push("movelogs", "movelogs/app", "v2")).status).toBe(201);
    const flipped = await stepUntil(id, "purging", BASE + DIRECTORY_CACHE_MS);
    expect(flipped).toMatchObject({ shard: 0, coreShard: null, moveCoreShard: null });
    await db().update(namespaceShards).set({ stateAt: Date.now() }).where(eq(namespaceShards.namespaceId, id));
    forgetAll();
    expect((await push("movelogs", "movelogs/app", "v3")).status).toBe(201);
    expect((await coreOf(db(), await repoId("movelogs/app"))).manifests).toBe(3);
  });

  it("refuses a move to the databases the namespace is on already", async () => {
    const owner = await placedUser(admin, "movedo");
    await expect(beginShardMove(env, await idOf("movedo"), owner.shard, BASE)).rejects.toThrow(/already/);
  });
});

describe("the README's move", () => {
  it("runs as written (another namespace's name) and takes the namespace's core out of DB", async () => {
    await makeUser(admin, "movereadme");
    const id = await idOf("movereadme");
    const pushed = await push("movereadme", "movereadme/app", "v1");
    expect(pushed.status).toBe(201);
    const app = await repoId("movereadme/app");
    const before = await coreOf(db(), app);
    const line = readme.split("\n").find((l) => l.includes("npx wrangler d1 execute DB --remote --command"))!;
    const statement = line.slice(line.indexOf('"') + 1, line.lastIndexOf('"'));
    expect(statement).toContain("'acme'");
    await env.DB.prepare(statement.replace("'acme'", "'movereadme'")).run();
    forgetAll();
    expect((await push("movereadme", "movereadme/app", "v2")).status).toBe(403);
    const now = Date.now();
    await stepUntil(id, "purging", now + DIRECTORY_CACHE_MS);
    const done = await stepUntil(id, "active", now + 2 * DIRECTORY_CACHE_MS);
    expect(done).toMatchObject({ shard: 2, coreShard: 2 });
    expect(await coreOf(shardDb(2), app)).toEqual(before);
    expect(await coreOf(db(), app)).toEqual(EMPTY);
  });
});
