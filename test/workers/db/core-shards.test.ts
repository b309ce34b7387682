// Where a namespace's registry core lives (src/db/core-shards.ts) and the shadow rows its shard
// keeps (src/db/core-shadows.ts, src/registry/core-db.ts). The tests' Worker has DB, DB_SHARD_1 and
// DB_SHARD_2 (vitest.workers.config.mts); its SHARD_REGISTRY_CORE is off, as in wrangler.toml, so
// the placements with it on are made here with an env that has it.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureShadows, readShadowSource } from "../../../src/db/core-shadows";
import { coreShardOf, forgetCorePlacements, writableCoreShard } from "../../../src/db/core-shards";
import { blobs, namespaceShards, repositories, repositoryBlobs, users } from "../../../src/db/schema";
import { forgetDirectory, placeNamespace } from "../../../src/db/shards";
import { findUser } from "../../../src/identity/users";
import { forgetShadows, writableCoreDb } from "../../../src/registry/core-db";
import { db, makeUser } from "../helpers/accounts";
import { initializeAdmin } from "../helpers/api";
import { shardDb } from "../helpers/shard-rows";

const coreOn = (): Env => ({ ...env, SHARD_REGISTRY_CORE: "true" }) as unknown as Env;
let admin: string;

async function idOf(name: string): Promise<number> {
  return (await findUser(db(), name))!.id;
}

async function coreShardColumn(namespaceId: number): Promise<number | null | undefined> {
  const row = await db().select().from(namespaceShards).where(eq(namespaceShards.namespaceId, namespaceId)).get();
  return row?.coreShard;
}

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["coreon", "coreoff", "corelate", "coreshadow"]) await makeUser(admin, name);
});

afterEach(() => {
  forgetDirectory();
  forgetCorePlacements();
  forgetShadows();
});

describe("placing a namespace's core", () => {
  it("puts the core beside the action logs with SHARD_REGISTRY_CORE on, in DB with it off", async () => {
    const on = await placeNamespace(coreOn(), await idOf("coreon"));
    expect(on.shard).toBeGreaterThan(0);
    expect(on.coreShard).toBe(on.shard);
    const off = await placeNamespace(env, await idOf("coreoff"));
    expect(off.shard).toBeGreaterThan(0);
    expect(off.coreShard).toBeNull();
  });

  it("keeps in DB the core of a namespace whose manifests or blob links are already there", async () => {
    // A repository with a blob link in DB, as a namespace pushed to before the flag was turned on.
    const [repo] = await db()
      .insert(repositories)
      .values({ name: "corelate/app", namespace: "corelate" })
      .returning({ id: repositories.id });
    const digest = `sha256:${"a".repeat(64)}`;
    await db().insert(blobs).values({ digest, size: 1, storageKey: "blobs/a" });
    await db().insert(repositoryBlobs).values({ repositoryId: repo!.id, digest });
    const placed = await placeNamespace(coreOn(), await idOf("corelate"));
    expect(placed.shard).toBeGreaterThan(0);
    expect(placed.coreShard).toBeNull();
    expect((await writableCoreShard(coreOn(), "corelate")).number).toBe(0);
  });

  it("reads follow the directory whatever the flag says now, and never keep an absent row with it on", async () => {
    const on = coreOn();
    expect((await coreShardOf(on, "coreshadow")).number).toBe(0);
    const written = await writableCoreShard(on, "coreshadow");
    expect(written.number).toBeGreaterThan(0);
    // The read before the placement was not kept: the next read finds the shard at once.
    expect((await coreShardOf(on, "coreshadow")).number).toBe(written.number);
    // The flag turned off again: the namespace placed while it was on stays where its core is.
    forgetCorePlacements();
    expect((await coreShardOf(env, "coreshadow")).number).toBe(written.number);
    expect(await coreShardColumn(await idOf("coreshadow"))).toBe(written.number);
  });

  it("answers DB for a name that is no namespace, without placing anything", async () => {
    expect((await writableCoreShard(coreOn(), "nobody-here")).number).toBe(0);
    expect((await coreShardOf(coreOn(), "nobody-here")).number).toBe(0);
  });
});

describe("the shadow rows of a core shard", () => {
  it("copies the repository and its namespace on the first write, then changes nothing on a repeat", async () => {
    const shard = await writableCoreShard(coreOn(), "coreshadow");
    const [repo] = await db()
      .insert(repositories)
      .values({ name: "coreshadow/app", namespace: "coreshadow", firstPushActivityAt: 1234 })
      .returning();
    const core = await writableCoreDb(coreOn(), { id: repo!.id, name: repo!.name });
    expect(core.$client).toBe(shardDb(shard.number).$client);
    const shadow = await core.select().from(repositories).where(eq(repositories.id, repo!.id)).get();
    expect(shadow).toMatchObject({
      name: "coreshadow/app",
      namespace: "coreshadow",
      createdAt: repo!.createdAt,
      firstPushActivityAt: 1234,
      storageBytes: 0,
    });
    const owner = await core.select().from(users).where(eq(users.username, "coreshadow")).get();
    expect(owner).toMatchObject({ id: await idOf("coreshadow"), kind: "user", passwordHash: null });
    // The shard keeps its own first-push mark once made: a repeat does not copy DB's again.
    await core.update(repositories).set({ firstPushActivityAt: null }).where(eq(repositories.id, repo!.id));
    forgetShadows();
    await writableCoreDb(coreOn(), { id: repo!.id, name: repo!.name });
    expect(
      (await core.select().from(repositories).where(eq(repositories.id, repo!.id)).get())!.firstPushActivityAt,
    ).toBeNull();
    // Nothing of it in the other shard.
    const other = shard.number === 1 ? 2 : 1;
    expect(await shardDb(other).select().from(repositories).where(eq(repositories.id, repo!.id)).get()).toBeUndefined();
  });

  it("renames out of the way a shadow whose name DB gave to another repository", async () => {
    const shard = await writableCoreShard(coreOn(), "coreshadow");
    const core = shardDb(shard.number);
    const [old] = await db()
      .insert(repositories)
      .values({ name: "coreshadow/again", namespace: "coreshadow" })
      .returning();
    await writableCoreDb(coreOn(), { id: old!.id, name: old!.name });
    // Deleted and created again under the same name: DB's tombstone, then a new id.
    await db()
      .update(repositories)
      .set({ name: `~deleted/${old!.id}` })
      .where(eq(repositories.id, old!.id));
    const [fresh] = await db()
      .insert(repositories)
      .values({ name: "coreshadow/again", namespace: "coreshadow" })
      .returning();
    await writableCoreDb(coreOn(), { id: fresh!.id, name: fresh!.name });
    const rows = await core.select({ id: repositories.id, name: repositories.name }).from(repositories);
    expect(rows).toContainEqual({ id: fresh!.id, name: "coreshadow/again" });
    expect(rows).toContainEqual({ id: old!.id, name: `~deleted/${old!.id}` });
  });

  it("makes no shadow of a repository DB no longer holds under that name", async () => {
    const shard = await writableCoreShard(coreOn(), "coreshadow");
    const [gone] = await db()
      .insert(repositories)
      .values({ name: "coreshadow/gone", namespace: "coreshadow" })
      .returning();
    await db()
      .update(repositories)
      .set({ name: `~deleted/${gone!.id}` })
      .where(eq(repositories.id, gone!.id));
    await writableCoreDb(coreOn(), { id: gone!.id, name: "coreshadow/gone" });
    expect(
      await shardDb(shard.number).select().from(repositories).where(eq(repositories.id, gone!.id)).get(),
    ).toBeUndefined();
    expect(await readShadowSource(db(), 999_999)).toBeUndefined();
  });

  it("never writes shadows into DB, whose rows are the real ones", async () => {
    const [repo] = await db().insert(repositories).values({ name: "coreoff/app", namespace: "coreoff" }).returning();
    const core = await writableCoreDb(env, { id: repo!.id, name: repo!.name });
    expect(core.$client).toBe(db().$client);
    // ensureShadows on a shard keeps the namespace's other columns as the shard has them.
    const source = (await readShadowSource(db(), repo!.id))!;
    await ensureShadows(shardDb(2), source);
    await ensureShadows(shardDb(2), source);
    expect(
      await shardDb(2).select({ id: repositories.id }).from(repositories).where(eq(repositories.id, repo!.id)),
    ).toHaveLength(1);
  });
});
