// Background jobs on a namespace whose registry core is on a shard (docs/sharding-the-registry-core.md,
// Stage 4): auto-prune, the storage recount, empty repositories, the purge, expiry notices and the
// namespace's settings each act on the shard where the directory puts the core, with `DB` keeping
// the directory. Namespaces are placed as in test/workers/v2/core-shard-round-trip.test.ts, then
// pushed to through /v2.
import { env } from "cloudflare:workers";
import { and, count, eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import type { Db } from "../../../src/db/client";
import { copyNamespaceSettings } from "../../../src/db/core-shadows";
import { forgetCorePlacements } from "../../../src/db/core-shards";
import { manifests, repositories, repositoryBlobs, repositoryNotifications, tags, users } from "../../../src/db/schema";
import { allShardDbs, forgetDirectory } from "../../../src/db/shards";
import { systemOrigin } from "../../../src/events/envelope";
import { deliverEvent } from "../../../src/events/subscribers";
import { runAutoprune } from "../../../src/gc/autoprune";
import { sweepDeletions } from "../../../src/gc/deletions";
import { abandonedBefore, collectEmptyRepositories } from "../../../src/gc/empty-repositories";
import { coresOf, recountStorage } from "../../../src/gc/storage";
import { namespaceEvent } from "../../../src/identity/account-events";
import { purgeNamespace } from "../../../src/identity/namespace-deletion";
import { notifyExpiringTags } from "../../../src/notifications/expiry";
import { forgetShadows } from "../../../src/registry/core-db";
import { deleteRepository, purgeRepository, tombstoneName } from "../../../src/registry/repository-deletion";
import { db, pushImageWith, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { clock } from "../../../src/lib/clock";
import { placedUser, repositoryNamed } from "../helpers/core-shard";
import { recordDeliveries } from "../helpers/notifications";
import { registryToken, request } from "../helpers/registry";
import { envWithFailingShard, shardDb } from "../helpers/shard-rows";

const DAY = 86_400_000;
let admin: string;
/** The namespace used throughout, and its core's shard. */
const NS = "jobsone";
let shard: number;

beforeAll(async () => {
  admin = await initializeAdmin();
  shard = (await placedUser(admin, NS)).shard;
});

afterEach(() => {
  forgetDirectory();
  forgetCorePlacements();
  forgetShadows();
});

async function push(name: string, tag: string): Promise<string> {
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], NS);
  const res = await pushImageWith(token, name, tag);
  expect(res.status).toBe(201);
  return res.headers.get("Docker-Content-Digest")!;
}

/** How many rows of each core table name repository `id` in database `d`, and whether its shadow is there. */
async function coreRows(d: Db, id: number) {
  const of = async (table: typeof tags | typeof manifests | typeof repositoryBlobs) =>
    (await d.select({ n: count() }).from(table).where(eq(table.repositoryId, id)).get())!.n;
  const shadow = await d.select({ id: repositories.id }).from(repositories).where(eq(repositories.id, id)).get();
  return { tags: await of(tags), manifests: await of(manifests), links: await of(repositoryBlobs), row: !!shadow };
}

/** The env with EVENTS recording what is sent instead of queueing it (no purge runs behind the test). */
function recordingEnv(): Env {
  const events = { send: async () => {}, sendBatch: async () => {} };
  return { ...env, EVENTS: events } as unknown as Env;
}

describe("background jobs on a namespace whose core is on a shard", () => {
  it("places the namespace on a shard", () => {
    expect(shard).toBeGreaterThan(0);
  });

  it("auto-prune reads the tags on the shard and ends the ones the policy chooses there", async () => {
    const name = `${NS}/pruned`;
    for (const tag of ["old", "mid", "new"]) await push(name, tag);
    const repo = await repositoryNamed(name);
    const now = Date.now();
    const ages: Record<string, number> = { old: 3 * DAY, mid: 2 * DAY, new: DAY };
    for (const [tag, age] of Object.entries(ages))
      await shardDb(shard)
        .update(tags)
        .set({ lifetimeStartMs: now - age })
        .where(and(eq(tags.repositoryId, repo.id), eq(tags.name, tag)));
    const on = {
      ...env,
      DEFAULT_NAMESPACE_AUTOPRUNE_POLICY: '{"method":"number_of_tags","value":1}',
    } as unknown as Env;
    let pruned = 0;
    for (let more = true, calls = 0; more && calls < 20; calls++) {
      const run = await runAutoprune(on, Date.now());
      pruned += run.tagsPruned;
      more = run.more;
    }
    expect(pruned).toBe(2);
    const rows = await shardDb(shard).select().from(tags).where(eq(tags.repositoryId, repo.id)).all();
    expect(rows.filter((t) => t.lifetimeEndMs === null).map((t) => t.name)).toEqual(["new"]);
    expect(
      rows
        .filter((t) => t.lifetimeEndMs !== null)
        .map((t) => t.name)
        .sort(),
    ).toEqual(["mid", "old"]);
  });

  it("the storage recount counts on the shard's shadows, copies the count to DB and repairs the time-machine window", async () => {
    const name = `${NS}/counted`;
    await push(name, "v1");
    const repo = await repositoryNamed(name);
    const owner = (await db().select().from(users).where(eq(users.username, NS)).get())!;
    const usage = async (d: Db) => ({
      namespace: (await d.select().from(users).where(eq(users.id, owner.id)).get())!.storageBytes,
      repository: (await d.select().from(repositories).where(eq(repositories.id, repo.id)).get())!.storageBytes,
    });
    const exact = await usage(shardDb(shard));
    expect(exact.repository).toBeGreaterThan(0);
    for (const d of [shardDb(shard), db()]) {
      await d.update(users).set({ storageBytes: 7 }).where(eq(users.id, owner.id));
      await d.update(repositories).set({ storageBytes: 7 }).where(eq(repositories.id, repo.id));
    }
    // A missed copy of the window: the shadow disagrees with DB.
    await shardDb(shard).update(users).set({ tagExpirationS: 1 }).where(eq(users.id, owner.id));

    await recountStorage(db(), 50, coresOf(env));
    expect(await usage(shardDb(shard))).toEqual(exact);
    expect(await usage(db())).toEqual(exact);
    const shadowOwner = await shardDb(shard).select().from(users).where(eq(users.id, owner.id)).get();
    expect(shadowOwner!.tagExpirationS).toBe(owner.tagExpirationS);
  });

  it("an abandoned first push is deleted from its shard's mark, a live one and a deliberate one are kept", async () => {
    const expiryMs = readConfig(env).UPLOAD_EXPIRY_SECONDS * 1000;
    const open = async (name: string) => expect((await request("POST", `/v2/${name}/blobs/uploads/`)).status).toBe(202);
    await open(`${NS}/abandoned`);
    await open(`${NS}/alive`);
    await open(`${NS}/described`);
    advanceClock(expiryMs + 3_600_000);
    // `alive`'s push comes back: its shard's mark moves, DB's copy keeps its creation time.
    await open(`${NS}/alive`);
    const alive = await repositoryNamed(`${NS}/alive`);
    const shadowAlive = await shardDb(shard).select().from(repositories).where(eq(repositories.id, alive.id)).get();
    expect(shadowAlive!.firstPushActivityAt).toBeGreaterThan(alive.firstPushActivityAt!);
    // `described` was made deliberate through the API, which clears DB's mark.
    await db()
      .update(repositories)
      .set({ firstPushActivityAt: null })
      .where(eq(repositories.name, `${NS}/described`));
    const abandoned = await repositoryNamed(`${NS}/abandoned`);

    const now = clock.now();
    expect(abandonedBefore(now, readConfig(env).UPLOAD_EXPIRY_SECONDS)).toBeGreaterThan(abandoned.createdAt);
    expect(await collectEmptyRepositories(recordingEnv(), db(), now)).toEqual({ deleted: 1 });
    const gone = await db().select().from(repositories).where(eq(repositories.id, abandoned.id)).get();
    expect(gone!.name).toBe(tombstoneName(abandoned.id));
    const shadowGone = await shardDb(shard).select().from(repositories).where(eq(repositories.id, abandoned.id)).get();
    expect(shadowGone!.name).toBe(tombstoneName(abandoned.id));
    expect(await repositoryNamed(`${NS}/alive`)).toBeDefined();
    expect(await repositoryNamed(`${NS}/described`)).toBeDefined();
    // A second pass finds nothing more.
    expect(await collectEmptyRepositories(recordingEnv(), db(), now)).toEqual({ deleted: 0 });
  });

  it("the purge removes the core rows on the shard, the shadow, then DB's rows, and resumes after a failure", async () => {
    const name = `${NS}/purged`;
    await push(name, "v1");
    const repo = await repositoryNamed(name);
    expect(await coreRows(shardDb(shard), repo.id)).toEqual({ tags: 1, manifests: 1, links: 2, row: true });
    expect(await deleteRepository(recordingEnv(), repo, systemOrigin("gc"))).toBe(true);

    // The shard is unreachable: the purge throws before deleting anything in DB.
    await expect(purgeRepository(allShardDbs(envWithFailingShard(shard)), repo.id)).rejects.toThrow(/unreachable/);
    expect(await db().select().from(repositories).where(eq(repositories.id, repo.id)).get()).toBeDefined();
    expect((await coreRows(shardDb(shard), repo.id)).tags).toBe(1);

    // The sweep finds the tombstone again and finishes it (with the earlier test's abandoned one).
    expect((await sweepDeletions(allShardDbs(env), Date.now())).repositoriesPurged).toBeGreaterThanOrEqual(1);
    expect(await coreRows(shardDb(shard), repo.id)).toEqual({ tags: 0, manifests: 0, links: 0, row: false });
    expect(await db().select().from(repositories).where(eq(repositories.id, repo.id)).get()).toBeUndefined();
    // Once done, a repeat finds nothing to do.
    expect(await purgeRepository(allShardDbs(env), repo.id)).toEqual({ done: true, deleted: 0 });
  });

  it("announces an expiring tag on the shard once", async () => {
    const name = `${NS}/expiring`;
    await push(name, "soon");
    await push(name, "later");
    const repo = await repositoryNamed(name);
    const now = Date.now();
    for (const [tag, inMs] of [
      ["soon", 2 * DAY],
      ["later", 9 * DAY],
    ] as const)
      await shardDb(shard)
        .update(tags)
        .set({ lifetimeEndMs: now + inMs })
        .where(and(eq(tags.repositoryId, repo.id), eq(tags.name, tag)));
    const created = await api("POST", `/repository/${name}/notification/`, {
      token: await tokenFor(NS),
      body: {
        event: "repo_image_expiry",
        method: "webhook",
        config: { url: "https://hooks.example.com/x" },
        eventConfig: { days: 3 },
      },
    });
    expect(created.status).toBe(201);
    const queued = recordDeliveries();
    expect(await notifyExpiringTags(env, now)).toBe(1);
    expect(queued[0]!.payload.tags).toEqual(["soon"]);
    expect(await notifyExpiringTags(env, now + 60_000)).toBe(0);
    expect(await notifyExpiringTags(env, now + 7 * DAY)).toBe(1);
    expect(queued[1]!.payload.tags).toEqual(["later"]);
    expect(queued).toHaveLength(2);
  });

  it("announces to many notifications over bounded runs, each tag once per notification", async () => {
    const repo = await repositoryNamed(`${NS}/expiring`);
    const [model] = await db()
      .select()
      .from(repositoryNotifications)
      .where(eq(repositoryNotifications.repositoryId, repo.id))
      .all();
    const copies = Array.from({ length: 120 }, () => ({ ...model!, uuid: crypto.randomUUID() }));
    for (const copy of copies) await db().insert(repositoryNotifications).values(copy);
    const queued = recordDeliveries();
    const now = Date.now();
    const runs: number[] = [];
    for (let i = 0; i < 4; i++) runs.push(await notifyExpiringTags(env, now));
    // At most 100 notifications a run: the copies announce `soon` over two runs, then nothing is left.
    expect(runs[0]).toBeLessThanOrEqual(100);
    expect(runs.reduce((a, b) => a + b, 0)).toBe(120);
    expect(runs.slice(2)).toEqual([0, 0]);
    expect(new Set(queued.map((d) => d.notification)).size).toBe(120);
    expect(queued.every((d) => JSON.stringify(d.payload.tags) === '["soon"]')).toBe(true);
  });

  it("a tag_expiration_s change reaches the namespace's shadow on its shard", async () => {
    await push(`${NS}/window`, "v1");
    const owner = (await db().select().from(users).where(eq(users.username, NS)).get())!;
    const seconds = owner.tagExpirationS + 3600;
    await db().update(users).set({ tagExpirationS: seconds }).where(eq(users.id, owner.id));
    // The committed change's event reaches the subscriber (as the EVENTS consumer hands it on).
    await deliverEvent(
      env,
      namespaceEvent("user_change_tag_expiration", NS, systemOrigin("gc"), { tagExpirationS: seconds }),
    );
    const shadow = async () => (await shardDb(shard).select().from(users).where(eq(users.id, owner.id)).get())!;
    expect((await shadow()).tagExpirationS).toBe(seconds);
    // Idempotent, and a no-op for a namespace whose core is in DB.
    await copyNamespaceSettings(env, NS);
    expect((await shadow()).tagExpirationS).toBe(seconds);
    await copyNamespaceSettings(env, "admin-not-placed");
  });

  it("a namespace's purge removes its repositories' core rows and its shadows on the shard", async () => {
    const placed = await placedUser(admin, "jobsgone");
    const token = await registryToken(
      [{ type: "repository", name: "jobsgone/app", actions: ["pull", "push"] }],
      "jobsgone",
    );
    expect((await pushImageWith(token, "jobsgone/app", "v1")).status).toBe(201);
    const repo = await repositoryNamed("jobsgone/app");
    const owner = (await db().select().from(users).where(eq(users.username, "jobsgone")).get())!;
    await db().update(users).set({ deletingSince: Date.now(), enabled: false }).where(eq(users.id, owner.id));
    for (let i = 0; i < 10; i++) if ((await purgeNamespace(allShardDbs(env), owner.id)).done) break;
    const onShard = shardDb(placed.shard);
    expect(await coreRows(onShard, repo.id)).toEqual({ tags: 0, manifests: 0, links: 0, row: false });
    expect(await onShard.select().from(users).where(eq(users.id, owner.id)).get()).toBeUndefined();
    expect(await db().select().from(users).where(eq(users.id, owner.id)).get()).toBeUndefined();
    expect(await db().select().from(repositories).where(eq(repositories.id, repo.id)).get()).toBeUndefined();
  });
});
