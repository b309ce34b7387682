import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Db } from "../../../src/db/client";
import { coreShardsOf, forgetCorePlacements, writableCoreShard } from "../../../src/db/core-shards";
import { blobs, repositoryActionCounts, repositoryPullStats, tags, users } from "../../../src/db/schema";
import { forgetDirectory } from "../../../src/db/shards";
import { clock } from "../../../src/lib/clock";
import { forgetShadows } from "../../../src/registry/core-db";
import { basic, db, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { placedPair, repositoryNamed } from "../helpers/core-shard";
import { shardDb } from "../helpers/shard-rows";
import { captureJobs, consumeJob } from "../helpers/queue-jobs";

let admin: string;
let viewer: string;
/** Each namespace with its core's database (0: DB) and its account's password. */
const spaces: { name: string; shard: number; password: string }[] = [];

const today = () => new Date(clock.now()).toISOString().slice(0, 10);
/** The day the pull and action counts were seeded on. */
let seededDay: string;
const databaseOf = (shard: number): Db => (shard === 0 ? db() : shardDb(shard));

beforeAll(async () => {
  admin = await initializeAdmin();
  const { one, two } = await placedPair(admin, "ls");
  spaces.push(one, two, { name: "lsdb", shard: 0, password: await makeUser(admin, "lsdb") });
  await makeUser(admin, "lsviewer");
  viewer = await tokenFor("lsviewer");
  seededDay = today();
  for (const [i, space] of spaces.entries()) {
    // A minute apart, so each repository's last_modified is its own.
    if (i > 0) advanceClock(60_000);
    const token = (await v2Token(basic(space.name, space.password), `repository:${space.name}/app:pull,push`)).token;
    expect((await pushImageWith(token, `${space.name}/app`, "v1")).status).toBe(201);
    const owner = await tokenFor(space.name);
    const visible = await api("POST", `/repository/${space.name}/app/changevisibility`, {
      token: owner,
      body: { visibility: "public" },
    });
    expect(visible.status).toBe(200);
    const star = await api("POST", "/user/starred", {
      token: viewer,
      body: { namespace: space.name, repository: "app" },
    });
    expect(star.status).toBe(201);
    // Pulls counted in the core's database (3, 5, 7), and one other action in DB for each.
    const repo = await repositoryNamed(`${space.name}/app`);
    await databaseOf(space.shard)
      .insert(repositoryPullStats)
      .values({ repositoryId: repo.id, day: seededDay, pulls: 3 + 2 * i, lastPulledAt: clock.now() });
    await db().insert(repositoryActionCounts).values({ repositoryId: repo.id, day: seededDay, count: 1 });
  }
});

afterEach(() => {
  forgetDirectory();
  forgetCorePlacements();
  forgetShadows();
  vi.restoreAllMocks();
});

/** What each namespace's repository should show, read from its own database. */
async function expected(space: { name: string; shard: number }) {
  const repo = await repositoryNamed(`${space.name}/app`);
  const core = databaseOf(space.shard);
  const tag = (await core.select().from(tags).where(eq(tags.repositoryId, repo.id)).get())!;
  const shadow = await core.get<{ bytes: number }>(
    sql`select storage_bytes as bytes from repositories where id = ${repo.id}`,
  );
  return { id: repo.id, lastModified: Math.floor(tag.lifetimeStartMs / 1000), bytes: shadow!.bytes };
}

describe("repository listings over cores in several databases", () => {
  it("places two namespaces on the two shards and keeps one in DB", async () => {
    expect(spaces.map((s) => s.shard).sort()).toEqual([0, 1, 2]);
    for (const space of spaces.filter((s) => s.shard !== 0)) {
      const repo = await repositoryNamed(`${space.name}/app`);
      expect(await db().select().from(tags).where(eq(tags.repositoryId, repo.id)).all()).toEqual([]);
      // DB's copy of its usage is never charged: the shard's shadow is.
      expect(repo.storageBytes).toBe(0);
    }
  });

  it("reads the page's placements in one directory read (coreShardsOf), a name without account in DB", async () => {
    const found = await coreShardsOf(env, [...spaces.map((s) => s.name), "nosuchspace", spaces[0]!.name]);
    expect(Object.fromEntries([...found].map(([name, shard]) => [name, shard.number]))).toEqual({
      ...Object.fromEntries(spaces.map((s) => [s.name, s.shard])),
      nosuchspace: 0,
    });
  });

  it("lists each repository's last_modified, popularity and bytes from its own database", async () => {
    const seen = new Set<number>();
    for (const [i, space] of spaces.entries()) {
      const want = await expected(space);
      const res = await api("GET", `/repository?namespace=${space.name}&last_modified=true&popularity=true`, {
        token: viewer,
      });
      expect(res.status).toBe(200);
      expect(res.json.repositories).toHaveLength(1);
      const [item] = res.json.repositories;
      expect(item).toMatchObject({ namespace: space.name, name: "app", last_modified: want.lastModified });
      // The core's pulls and DB's one other action.
      expect(item.popularity).toBe(3 + 2 * i + 1);
      expect(item.quota_report.quota_bytes).toBe(want.bytes);
      expect(want.bytes).toBeGreaterThan(0);
      seen.add(want.lastModified);
    }
    expect(seen.size).toBe(3);
  });

  it("shows the same over a page spanning the three databases: public and starred", async () => {
    const wants = new Map<string, Awaited<ReturnType<typeof expected>> & { popularity: number }>();
    for (const [i, space] of spaces.entries())
      wants.set(space.name, { ...(await expected(space)), popularity: 3 + 2 * i + 1 });
    for (const listing of ["public=true", "starred=true"]) {
      const res = await api("GET", `/repository?${listing}&last_modified=true&popularity=true`, { token: viewer });
      expect(res.status).toBe(200);
      const items = res.json.repositories as { namespace: string; last_modified: number; popularity: number }[];
      expect(items.map((r) => r.namespace).sort()).toEqual([...wants.keys()].sort());
      for (const item of items) {
        const want = wants.get(item.namespace)!;
        expect(item).toMatchObject({ last_modified: want.lastModified, popularity: want.popularity });
        if (listing === "starred=true") expect(item).toMatchObject({ is_starred: true });
      }
    }
  });

  it("shows the repository's tags and daily stats from its core's database", async () => {
    for (const space of spaces) {
      const res = await api("GET", `/repository/${space.name}/app`, { token: viewer });
      expect(res.status).toBe(200);
      expect(Object.keys(res.json.tags)).toEqual(["v1"]);
      const repo = await repositoryNamed(`${space.name}/app`);
      const manifest = await databaseOf(space.shard).get<{ digest: string }>(
        sql`select m.digest as digest from tags t join manifests m on m.id = t.manifest_id where t.repository_id = ${repo.id}`,
      );
      expect(res.json.tags.v1.manifest_digest).toBe(manifest!.digest);
    }
    // Stats count from yesterday back: the seeded day's pulls and action show a day later.
    advanceClock(86_400_000);
    for (const [i, space] of spaces.entries()) {
      const later = await api("GET", `/repository/${space.name}/app?includeStats=true`, { token: viewer });
      expect(later.json.stats.find((d: { date: string }) => d.date === seededDay)).toEqual({
        date: seededDay,
        count: 3 + 2 * i + 1,
      });
    }
  });

  it("finds each repository with its last_modified and popularity (find/repositories, find/all)", async () => {
    for (const [i, space] of spaces.entries()) {
      const want = await expected(space);
      const found = await api("GET", `/find/repositories?query=${space.name}/app`, { token: viewer });
      expect(found.status).toBe(200);
      expect(found.json.results).toHaveLength(1);
      expect(found.json.results[0]).toMatchObject({
        name: "app",
        last_modified: want.lastModified,
        popularity: 3 + 2 * i + 1,
      });
      const all = await api("GET", `/find/all?query=${space.name}`, { token: viewer });
      expect(
        all.json.results.some((r: { kind: string; href: string }) => r.href === `/repository/${space.name}/app`),
      ).toBe(true);
    }
  });
});

describe("quota usage of namespaces whose core is on a shard", () => {
  it("reads the namespace's usage from its shard's shadow (the user's own view)", async () => {
    for (const space of spaces) {
      const core = databaseOf(space.shard);
      const shadow = (await core.select().from(users).where(eq(users.username, space.name)).get())!;
      expect(shadow.storageBytes).toBeGreaterThan(0);
      const own = await api("GET", "/user/", { token: await tokenFor(space.name) });
      expect(own.status).toBe(200);
      expect(own.json.quota_report.quota_bytes).toBe(shadow.storageBytes);
    }
  });

  it("reads an organization's usage from its shard (its view, the superuser's organizations)", async () => {
    const [founder] = spaces;
    const owner = await tokenFor(founder!.name);
    expect((await api("POST", "/organization", { token: owner, body: { name: "lsorg" } })).status).toBe(201);
    const shard = (await writableCoreShard({ ...env, SHARD_REGISTRY_CORE: "true" } as unknown as Env, "lsorg")).number;
    expect(shard).toBeGreaterThan(0);
    const token = (await v2Token(basic(founder!.name, founder!.password), "repository:lsorg/app:pull,push")).token;
    expect((await pushImageWith(token, "lsorg/app", "v1")).status).toBe(201);
    const shadow = (await shardDb(shard).select().from(users).where(eq(users.username, "lsorg")).get())!;
    expect(shadow.storageBytes).toBeGreaterThan(0);
    const view = await api("GET", "/organization/lsorg", { token: owner });
    expect(view.json.quota_report.quota_bytes).toBe(shadow.storageBytes);
    const listed = await api("GET", "/superuser/organizations/", { token: admin });
    const entry = (listed.json.organizations as { name: string; quota_report: { quota_bytes: number } }[]).find(
      (o) => o.name === "lsorg",
    );
    expect(entry!.quota_report.quota_bytes).toBe(shadow.storageBytes);
  });

  it("reads each namespace's usage from its own database in the superuser's listing", async () => {
    const res = await api("GET", "/superuser/users/", { token: admin });
    expect(res.status).toBe(200);
    const listed = res.json.users as { username: string; quota_report: { quota_bytes: number } }[];
    for (const space of spaces) {
      const shadow = (await databaseOf(space.shard).select().from(users).where(eq(users.username, space.name)).get())!;
      expect(listed.find((u) => u.username === space.name)!.quota_report.quota_bytes).toBe(shadow.storageBytes);
    }
  });
});

const digestOf = (i: number) => `sha256:${String(i).padStart(64, "0")}`;

describe("registry size over every database", () => {
  it("merges the databases' digest-ordered windows, counting a digest held by two databases once", async () => {
    // Shard 1 holds more than a step's window (5,001 blobs, blob i of i bytes); shard 2 holds two
    // of them again, past and at the window's end, and one of its own; DB one more of shard 1's.
    await shardDb(1).run(sql`insert into blobs (digest, size, storage_key)
      with recursive n(i) as (select 1 union all select i + 1 from n where i < 5001)
      select printf('sha256:%064d', i), i, 'blobs/x' from n`);
    for (const i of [2, 5000, 5001, 6000])
      await shardDb(2)
        .insert(blobs)
        .values({ digest: digestOf(i), size: i, storageKey: "blobs/x" });
    await db()
      .insert(blobs)
      .values({ digest: digestOf(3), size: 3, storageKey: "blobs/x" });
    const sizes = new Map<string, number>();
    let naive = 0;
    for (const d of [db(), shardDb(1), shardDb(2)])
      for (const row of await d.select({ digest: blobs.digest, size: blobs.size }).from(blobs).all()) {
        sizes.set(row.digest, row.size);
        naive += row.size;
      }
    const distinct = [...sizes.values()].reduce((a, b) => a + b, 0);
    expect(distinct).toBeLessThan(naive);

    const jobs = captureJobs();
    expect((await api("POST", "/superuser/registrysize/", { token: admin })).status).toBe(201);
    let steps = 0;
    while (jobs.length > 0) {
      expect(await consumeJob(jobs.shift()!)).toBe(true);
      steps++;
    }
    expect(steps).toBe(2);
    const done = await api("GET", "/superuser/registrysize/", { token: admin });
    expect(done.json).toMatchObject({ size_bytes: distinct, running: false, queued: false });
  });
});
