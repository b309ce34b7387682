/**
 * The auto-pruner (src/gc/autoprune.ts) over real pushes and policies set through the API: exactly
 * which tags each policy ends, that ended tags stay as restorable history rows, patterns that
 * match and that exclude, namespace policies before the repository's, the registry default,
 * immutable and hidden tags kept, skipped repositories and namespaces, the feature switch, and
 * bounded passes that continue from their cursor (across repositories and inside a large one).
 */
import { env } from "cloudflare:workers";
import { and, eq, isNotNull, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { gcState, repositories, tags, users, type Repository } from "../../src/db/schema";
import { runAutoprune } from "../../src/gc/autoprune";
import { findRepository } from "../../src/registry/repositories";
import { aliveAt } from "../../src/registry/tags";
import { api, initializeAdmin } from "./helpers/api";
import { db, makeUser, pushImageWith, tokenFor } from "./helpers/accounts";
import { registryToken } from "./helpers/registry";

const MINUTE = 60_000;
const DAY = 86_400_000;
let admin: string;
let olga: string;

/** Pushes one image as `olga` tagged with the first name, points the others at it, then ages each tag by its `ages` entry (ms). */
async function seed(name: string, ages: Record<string, number>): Promise<{ repository: Repository; digest: string }> {
  const names = Object.keys(ages);
  // Olga owns or administers every namespace here but the users `quayadmin` and `sleepy`, who act for themselves.
  const owner = ["quayadmin", "sleepy"].includes(name.split("/")[0]!) ? name.split("/")[0]! : "olga";
  const apiToken = owner === "olga" ? olga : await tokenFor(owner);
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], owner);
  const res = await pushImageWith(token, name, names[0]!);
  expect(res.status).toBe(201);
  const digest = res.headers.get("Docker-Content-Digest")!;
  for (const tag of names.slice(1))
    expect(
      (await api("PUT", `/repository/${name}/tag/${tag}`, { token: apiToken, body: { manifest_digest: digest } }))
        .status,
    ).toBe(201);
  const repository = (await findRepository(db(), name))!;
  const now = Date.now();
  for (const [tag, age] of Object.entries(ages)) {
    await db()
      .update(tags)
      .set({ lifetimeStartMs: now - age })
      .where(and(eq(tags.repositoryId, repository.id), eq(tags.name, tag)));
  }
  return { repository, digest };
}

const policy = async (path: string, body: Record<string, unknown>) => {
  const res = await api("POST", `${path}/autoprunepolicy/`, { token: olga, body });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
};

/** Names of the repository's alive, visible tags. */
async function alive(repository: Repository): Promise<string[]> {
  const rows = await db()
    .select({ name: tags.name })
    .from(tags)
    .where(and(eq(tags.repositoryId, repository.id), aliveAt(Date.now()), eq(tags.hidden, false)))
    .all();
  return rows.map((r) => r.name).sort();
}

/** Names of the repository's ended rows (its time machine). */
async function ended(repository: Repository): Promise<string[]> {
  const rows = await db()
    .select({ name: tags.name })
    .from(tags)
    .where(and(eq(tags.repositoryId, repository.id), isNotNull(tags.lifetimeEndMs)))
    .all();
  return rows.map((r) => r.name).sort();
}

/** The Worker's env as an operator would configure it with `vars`. */
const configured = (vars: Record<string, string>) => ({ ...env, ...vars }) as unknown as Env;

const resetCursor = () => db().delete(gcState).where(eq(gcState.pass, "autoprune"));

/** A whole round from the first repository: calls until one says there is no more. */
async function round(on: Env = env): Promise<{ calls: number; repositories: number; tagsPruned: number }> {
  await resetCursor();
  const total = { calls: 0, repositories: 0, tagsPruned: 0 };
  while (total.calls < 100) {
    const run = await runAutoprune(on, Date.now());
    total.calls++;
    total.repositories += run.repositories;
    total.tagsPruned += run.tagsPruned;
    if (!run.more) return total;
  }
  throw new Error("the round never ended");
}

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "olga");
  olga = await tokenFor("olga");
  for (const org of ["counted", "aged", "ordered", "doomed", "many"])
    expect((await api("POST", "/organization", { token: olga, body: { name: org } })).status).toBe(201);
});

describe("policies", () => {
  it("number_of_tags keeps the newest N and ends the rest, which stay restorable in the time machine", async () => {
    const { repository, digest } = await seed("counted/app", {
      test: 4 * MINUTE,
      test2: 3 * MINUTE,
      test3: 2 * MINUTE,
      test4: MINUTE,
    });
    await policy("/organization/counted", { method: "number_of_tags", value: 2 });
    const rowsBefore = (await db().select().from(tags).where(eq(tags.repositoryId, repository.id)).all()).length;
    const run = await round();
    expect(run.tagsPruned).toBeGreaterThanOrEqual(2);
    expect(await alive(repository)).toEqual(["test3", "test4"]);
    expect(await ended(repository)).toEqual(["test", "test2"]);
    const rows = await db().select().from(tags).where(eq(tags.repositoryId, repository.id)).all();
    expect(rows.length).toBe(rowsBefore);
    for (const row of rows.filter((r) => r.lifetimeEndMs !== null))
      expect(row.lifetimeEndMs!).toBeLessThanOrEqual(Date.now());
    // The time machine gives it back.
    expect(
      (
        await api("POST", `/repository/counted/app/tag/test/restore`, {
          token: olga,
          body: { manifest_digest: digest },
        })
      ).status,
    ).toBe(200);
    expect(await alive(repository)).toEqual(["test", "test3", "test4"]);
  });

  it("creation_date ends the tags created longer ago than the span", async () => {
    const { repository } = await seed("aged/app", { ancient: 10 * DAY, old: 8 * DAY, recent: 6 * DAY, fresh: DAY });
    await policy("/organization/aged", { method: "creation_date", value: "7d" });
    await round();
    expect(await ended(repository)).toEqual(["ancient", "old"]);
    expect(await alive(repository)).toEqual(["fresh", "recent"]);
  });

  it("a pattern that must match: only matching tags are counted and ended", async () => {
    const { repository } = await seed("olga/matching", {
      test1: 6 * MINUTE,
      latest: 5 * MINUTE,
      test2: 4 * MINUTE,
      v1: 3 * MINUTE,
      test3: 2 * MINUTE,
      test4: MINUTE,
    });
    await policy("/repository/olga/matching", {
      method: "number_of_tags",
      value: 1,
      tagPattern: "^test.*",
      tagPatternMatches: true,
    });
    await round();
    expect(await ended(repository)).toEqual(["test1", "test2", "test3"]);
    expect(await alive(repository)).toEqual(["latest", "test4", "v1"]);
  });

  it("a pattern that must not match: only the other tags are ended", async () => {
    const { repository } = await seed("olga/excluding", {
      "test-old": 9 * DAY,
      "v-old": 9 * DAY,
      "v-new": MINUTE,
      "test-new": MINUTE,
    });
    await policy("/repository/olga/excluding", {
      method: "creation_date",
      value: "7d",
      tagPattern: "^test.*",
      tagPatternMatches: false,
    });
    await round();
    expect(await ended(repository)).toEqual(["v-old"]);
    expect(await alive(repository)).toEqual(["test-new", "test-old", "v-new"]);
  });

  it("the namespace's policies run before the repository's, and what one ends no other saves", async () => {
    // Oldest first: a1, b1, b2. The organization's policy (keep one `b…`) ends b1; the
    // repository's (keep two) then finds a1 and b2 and keeps both. Run the other way round it
    // would have ended a1 too.
    const { repository } = await seed("ordered/app", { a1: 3 * MINUTE, b1: 2 * MINUTE, b2: MINUTE });
    await policy("/organization/ordered", { method: "number_of_tags", value: 1, tagPattern: "^b" });
    await policy("/repository/ordered/app", { method: "number_of_tags", value: 2 });
    await round();
    expect(await ended(repository)).toEqual(["b1"]);
    expect(await alive(repository)).toEqual(["a1", "b2"]);
    // A generous policy added later does not bring b1 back; an old tag one policy ends stays ended.
    await db()
      .update(tags)
      .set({ lifetimeStartMs: Date.now() - 30 * DAY })
      .where(and(eq(tags.repositoryId, repository.id), eq(tags.name, "a1"), sql`${tags.lifetimeEndMs} is null`));
    await policy("/repository/ordered/app", { method: "creation_date", value: "7d" });
    await policy("/repository/ordered/app", { method: "number_of_tags", value: 50 });
    await round();
    expect(await ended(repository)).toEqual(["a1", "b1"]);
    expect(await alive(repository)).toEqual(["b2"]);
  });

  it("keeps immutable and hidden tags, and does not count them", async () => {
    // The two newest are immutable and hidden: counted, they would leave room for one more only.
    const { repository } = await seed("olga/frozen", {
      one: 5 * MINUTE,
      two: 4 * MINUTE,
      three: 3 * MINUTE,
      internal: 2 * MINUTE,
      pinned: MINUTE,
    });
    expect(
      (await api("PUT", "/repository/olga/frozen/tag/pinned", { token: olga, body: { immutable: true } })).status,
    ).toBe(201);
    await db()
      .update(tags)
      .set({ hidden: true })
      .where(and(eq(tags.repositoryId, repository.id), eq(tags.name, "internal")));
    await policy("/repository/olga/frozen", { method: "number_of_tags", value: 2 });
    await round();
    expect(await ended(repository)).toEqual(["one"]);
    expect(await alive(repository)).toEqual(["pinned", "three", "two"]);
    const internal = await db()
      .select()
      .from(tags)
      .where(and(eq(tags.repositoryId, repository.id), eq(tags.name, "internal")))
      .get();
    expect(internal!.lifetimeEndMs).toBeNull();
  });
});

describe("the registry's default policy (DEFAULT_NAMESPACE_AUTOPRUNE_POLICY)", () => {
  it("applies where neither the namespace nor the repository has a policy", async () => {
    await makeUser(admin, "quayadmin");
    // Quay's guide: four tags pushed, `number_of_tags: 2` leaves test3 and test4.
    const { repository: busybox } = await seed("quayadmin/busybox", {
      test: 4 * MINUTE,
      test2: 3 * MINUTE,
      test3: 2 * MINUTE,
      test4: MINUTE,
    });
    const { repository: own } = await seed("olga/own-policy", { x1: 3 * MINUTE, x2: 2 * MINUTE, x3: MINUTE });
    await policy("/repository/olga/own-policy", { method: "number_of_tags", value: 3 });
    const { repository: inOrg } = await seed("counted/other", { y1: 2 * MINUTE, y2: MINUTE });
    await round(configured({ DEFAULT_NAMESPACE_AUTOPRUNE_POLICY: '{"method":"number_of_tags","value":2}' }));
    expect(await alive(busybox)).toEqual(["test3", "test4"]);
    expect(await ended(busybox)).toEqual(["test", "test2"]);
    expect(await alive(own)).toEqual(["x1", "x2", "x3"]);
    expect(await alive(inOrg)).toEqual(["y1", "y2"]);
  });

  it("does nothing unless configured", async () => {
    const { repository } = await seed("quayadmin/idle", { i1: 3 * DAY, i2: 2 * DAY, i3: DAY });
    await round();
    expect(await alive(repository)).toEqual(["i1", "i2", "i3"]);
    await round(configured({ DEFAULT_NAMESPACE_AUTOPRUNE_POLICY: '{"method":"creation_date","value":"36h"}' }));
    expect(await ended(repository)).toEqual(["i1", "i2"]);
  });
});

describe("what the pruner leaves alone", () => {
  it("deleted repositories, namespaces being deleted and disabled users", async () => {
    const { repository: tombstone } = await seed("olga/gone", { g1: 2 * MINUTE, g2: MINUTE });
    await policy("/repository/olga/gone", { method: "number_of_tags", value: 1 });
    // What deleting a repository does at once (src/registry/repository-deletion.ts), without the purge.
    await db()
      .update(repositories)
      .set({ name: `~deleted/${tombstone.id}`, namespace: "~deleted" })
      .where(eq(repositories.id, tombstone.id));
    const { repository: doomed } = await seed("doomed/app", { d1: 2 * MINUTE, d2: MINUTE });
    await policy("/organization/doomed", { method: "number_of_tags", value: 1 });
    await db().update(users).set({ deletingSince: Date.now() }).where(eq(users.username, "doomed"));
    await makeUser(admin, "sleepy");
    const { repository: disabled } = await seed("sleepy/app", { s1: 2 * MINUTE, s2: MINUTE });
    expect((await api("PUT", "/superuser/users/sleepy", { token: admin, body: { enabled: false } })).status).toBe(200);
    await round(configured({ DEFAULT_NAMESPACE_AUTOPRUNE_POLICY: '{"method":"number_of_tags","value":1}' }));
    for (const repository of [tombstone, doomed, disabled]) expect(await ended(repository)).toEqual([]);
  });

  it("everything, when FEATURE_AUTO_PRUNE is off", async () => {
    const { repository } = await seed("olga/switched", { o1: 2 * MINUTE, o2: MINUTE });
    await policy("/repository/olga/switched", { method: "number_of_tags", value: 1 });
    await resetCursor();
    expect(await runAutoprune(configured({ FEATURE_AUTO_PRUNE: "false" }), Date.now())).toEqual({
      repositories: 0,
      tagsPruned: 0,
      more: false,
    });
    expect(await ended(repository)).toEqual([]);
    await round();
    expect(await ended(repository)).toEqual(["o1"]);
  });
});

describe("bounded passes", () => {
  it("stops inside a large repository and continues from the tag it reached, with its counts", async () => {
    const { repository, digest } = await seed("olga/huge", { seed: 2 * DAY });
    await db().delete(tags).where(eq(tags.repositoryId, repository.id));
    const manifest = await env.DB.prepare("select id from manifests where repository_id = ? and digest = ?")
      .bind(repository.id, digest)
      .first<{ id: number }>();
    const base = Date.now() - DAY;
    await env.DB.prepare(
      `with recursive n(i) as (select 1 union all select i + 1 from n where i < 1050)
       insert into tags (repository_id, name, manifest_id, lifetime_start_ms, reversion, hidden, immutable)
       select ?, printf('bulk-%04d', i), ?, ? + i, 0, 0, 0 from n`,
    )
      .bind(repository.id, manifest!.id, base)
      .run();
    await policy("/repository/olga/huge", { method: "number_of_tags", value: 10 });
    await resetCursor();
    const first = await runAutoprune(env, Date.now());
    expect(first.more).toBe(true);
    const cursor = JSON.parse((await db().select().from(gcState).where(eq(gcState.pass, "autoprune")).get())!.cursor);
    expect(cursor.within).toMatchObject({ repositoryId: repository.id, kept: expect.any(Object) });
    expect((await ended(repository)).length).toBe(first.tagsPruned);
    expect(first.tagsPruned).toBeLessThan(1040);
    let calls = 1;
    for (let more = true; more && calls < 20; calls++) more = (await runAutoprune(env, Date.now())).more;
    const survivors = Array.from({ length: 10 }, (_, k) => `bulk-${String(1041 + k).padStart(4, "0")}`);
    expect(await alive(repository)).toEqual(survivors);
    expect((await ended(repository)).length).toBe(1040);
  });

  it("visits at most 50 repositories a call, and the next call goes on from the last one", async () => {
    for (let n = 0; n < 50; n++) {
      const res = await api("POST", "/repository", {
        token: olga,
        body: { namespace: "many", repository: `r${n}`, visibility: "private", description: "" },
      });
      expect(res.status).toBe(201);
    }
    const { repository: last } = await seed("many/last", { l1: 2 * MINUTE, l2: MINUTE });
    await policy("/repository/many/last", { method: "number_of_tags", value: 1 });
    await resetCursor();
    const first = await runAutoprune(env, Date.now());
    expect(first).toMatchObject({ repositories: 50, more: true });
    expect(await ended(last)).toEqual([]);
    const rest = { repositories: 0, more: true };
    while (rest.more) {
      const run = await runAutoprune(env, Date.now());
      rest.repositories += run.repositories;
      rest.more = run.more;
    }
    expect(await ended(last)).toEqual(["l1"]);
    const live = await db()
      .select({ n: sql<number>`count(*)` })
      .from(repositories)
      .innerJoin(users, eq(users.username, repositories.namespace))
      .where(and(sql`${users.deletingSince} is null`, eq(users.enabled, true)))
      .get();
    expect(first.repositories + rest.repositories).toBe(live!.n);
    // The round is over: the next call starts from the first repository again.
    expect(await db().select().from(gcState).where(eq(gcState.pass, "autoprune")).get()).toBeUndefined();
  });
});
