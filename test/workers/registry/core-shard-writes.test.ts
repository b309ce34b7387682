// The writes under a repository's lock (durable-objects/RepositoryDO.ts) for a namespace whose
// registry core is on a shard (src/db/core-shards.ts): tags, manifests, references, usage and the
// outbox rows of those writes go to the shard, the state, the policies, the quota rules and the
// directory's rename stay in DB. The tests' Worker has DB_SHARD_1 and DB_SHARD_2 with
// SHARD_REGISTRY_CORE off, so each namespace is placed here with an env that has it on (as in
// test/workers/db/core-shards.test.ts); from then on the Durable Object follows the directory.
// Commits are built here, not pushed through /v2: the push path's own routing is another change.
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Db, database } from "../../../src/db/client";
import { writableCoreShard } from "../../../src/db/core-shards";
import {
  blobs,
  connectorJobs,
  eventOutbox,
  manifestReferences,
  manifestScans,
  manifests,
  namespaceQuotas,
  quotaLimits,
  repositories,
  repositoryBlobs,
  tags,
  users,
} from "../../../src/db/schema";
import { type Outcome, unwrap } from "../../../src/errors/outcome";
import type { RegistryEvent } from "../../../src/events/catalogue";
import { systemOrigin } from "../../../src/events/envelope";
import type { Digest } from "../../../src/lib/digest";
import { writableCoreDb } from "../../../src/registry/core-db";
import type { ManifestCommit } from "../../../src/registry/manifests";
import { MediaType } from "../../../src/registry/media-types";
import { repositoryObject } from "../../../src/registry/repository-object";
import { commitWithScanQueue } from "../../../src/secscan/queue";
import { db, makeUser } from "../helpers/accounts";
import { initializeAdmin } from "../helpers/api";
import { testOrigin } from "../helpers/events";
import { shardDb } from "../helpers/shard-rows";

const coreOn = (): Env => ({ ...env, SHARD_REGISTRY_CORE: "true" }) as unknown as Env;
const DAY = 24 * 60 * 60 * 1000;
let admin: string;
/** The shard each namespace of this file was placed on. */
const placedOn = new Map<string, number>();

interface Repo {
  id: number;
  name: string;
}

beforeAll(async () => {
  admin = await initializeAdmin();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** A new namespace whose core is placed on a shard, before anything of it is written. */
async function shardedNamespace(name: string): Promise<number> {
  await makeUser(admin, name);
  const shard = await writableCoreShard(coreOn(), name);
  expect(shard.number).toBeGreaterThan(0);
  placedOn.set(name, shard.number);
  return shard.number;
}

/** A repository in DB's directory (as createRepository makes it), with no shadow yet. */
async function repositoryIn(name: string, firstPushActivityAt: number | null = null): Promise<Repo> {
  const namespace = name.split("/")[0]!;
  const [row] = await db()
    .insert(repositories)
    .values({ name, namespace, firstPushActivityAt })
    .returning({ id: repositories.id, name: repositories.name });
  return row!;
}

const coreOf = (repo: Repo): Db => shardDb(placedOn.get(repo.name.split("/")[0]!)!);
const otherShardOf = (repo: Repo): Db => shardDb(placedOn.get(repo.name.split("/")[0]!) === 1 ? 2 : 1);

function randomDigest(): Digest {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `sha256:${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}` as Digest;
}

/** Blob rows and links of `repo` on its shard (its shadows made first, as the upload path does). */
async function linkedBlobsOf(repo: Repo, sizes: number[]): Promise<Digest[]> {
  await writableCoreDb(env, repo);
  const digests = sizes.map(() => randomDigest());
  const core = coreOf(repo);
  await core
    .insert(blobs)
    .values(digests.map((digest, i) => ({ digest, size: sizes[i]!, storageKey: `blobs/${digest}` })));
  await core.insert(repositoryBlobs).values(digests.map((digest) => ({ repositoryId: repo.id, digest })));
  return digests;
}

/** The commit a push of an image over `config` and `layers` hands the Durable Object. */
function imageCommit(repo: Repo, [config, ...layers]: Digest[], tag: string | null, size = 500): ManifestCommit {
  return {
    repositoryId: repo.id,
    repositoryName: repo.name,
    digest: randomDigest(),
    size,
    parsed: {
      mediaType: MediaType.OciManifest,
      artifactType: MediaType.OciConfig,
      configMediaType: MediaType.OciConfig,
      configDigest: config!,
      subject: null,
      annotations: null,
      blobs: [config!, ...layers],
      manifests: [],
    },
    tag,
    expiresAtMs: null,
    labels: [],
    firstPush: false,
    origin: testOrigin,
  };
}

const stub = (repo: Repo) => repositoryObject(env, repo.name);

/** "ok", or the kind of the refusal a Durable Object answered with. */
function kindOf(outcome: unknown): string {
  const answered = outcome as Outcome<unknown>;
  return answered.ok ? "ok" : answered.error.kind;
}

async function aliveTags(core: Db, repo: Repo) {
  return core
    .select({ name: tags.name, manifestId: tags.manifestId, reversion: tags.reversion })
    .from(tags)
    .where(and(eq(tags.repositoryId, repo.id), sql`${tags.lifetimeEndMs} is null`))
    .orderBy(tags.name)
    .all();
}

const countOf = async (core: Db, table: typeof manifests | typeof tags, repo: Repo) =>
  (await core.select().from(table).where(eq(table.repositoryId, repo.id)).all()).length;

/** Which databases (0 = DB, n = DB_SHARD_n) hold outbox rows of these event ids. */
async function outboxesHolding(ids: string[]): Promise<number[]> {
  const held: number[] = [];
  for (const n of [0, 1, 2]) {
    const rows = await shardDb(n)
      .select({ id: eventOutbox.id })
      .from(eventOutbox)
      .where(sql`${eventOutbox.id} in (select value from json_each(${JSON.stringify(ids)}))`)
      .all();
    if (rows.length > 0) held.push(n);
  }
  return held;
}

/**
 * Refuses every publication from now on, as a queue outage would, so that the outbox rows stay
 * where the writes committed them; returns the events whose publication was tried.
 */
function queueDown(): RegistryEvent[] {
  const tried: RegistryEvent[] = [];
  vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages) => {
    tried.push(...[...messages].map((m) => m.body as RegistryEvent));
    throw new Error("queue unavailable");
  });
  // The publisher logs the refusal; the drain would send the rows later.
  vi.spyOn(console, "error").mockImplementation(() => undefined);
  return tried;
}

async function usageOf(core: Db, namespace: string): Promise<number> {
  return (await core.select({ bytes: users.storageBytes }).from(users).where(eq(users.username, namespace)).get())!
    .bytes;
}

describe("a manifest commit of a namespace on a shard", () => {
  it("writes the manifest, its references, its tag, the usage and its event on the shard alone", async () => {
    await shardedNamespace("coreman");
    const repo = await repositoryIn("coreman/app");
    const commit = imageCommit(repo, await linkedBlobsOf(repo, [100, 200]), "v1");
    const tried = queueDown();
    expect(unwrap(await stub(repo).commitManifest(commit))).toEqual({ tagMoved: true });

    const core = coreOf(repo);
    const manifest = (await core.select().from(manifests).where(eq(manifests.repositoryId, repo.id)).get())!;
    expect(manifest.digest).toBe(commit.digest);
    const references = await core
      .select({ digest: manifestReferences.digest })
      .from(manifestReferences)
      .where(eq(manifestReferences.manifestId, manifest.id))
      .all();
    expect(references.map((r) => r.digest).sort()).toEqual([...commit.parsed.blobs].sort());
    expect(await aliveTags(core, repo)).toEqual([{ name: "v1", manifestId: manifest.id, reversion: false }]);
    // The bytes are charged to the shard's shadows, not to DB's rows.
    expect(await usageOf(core, "coreman")).toBe(100 + 200 + 500);
    expect(await usageOf(db(), "coreman")).toBe(0);
    for (const elsewhere of [db(), otherShardOf(repo)]) {
      expect(await countOf(elsewhere, manifests, repo)).toBe(0);
      expect(await countOf(elsewhere, tags, repo)).toBe(0);
    }
    // push_repo was committed in the shard's outbox; the publication tried failed and left it there.
    await vi.waitFor(() => expect(tried.map((e) => e.kind)).toEqual(["push_repo"]));
    expect(await outboxesHolding([tried[0]!.id])).toEqual([placedOn.get("coreman")]);
  });

  it("publishes its events and clears them from the shard's outbox", async () => {
    const repo = await repositoryIn("coreman/published");
    const sent: RegistryEvent[] = [];
    vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages) => {
      sent.push(...[...messages].map((m) => m.body as RegistryEvent));
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } } };
    });
    unwrap(await stub(repo).commitManifest(imageCommit(repo, await linkedBlobsOf(repo, [10]), "v1")));
    await vi.waitFor(() => expect(sent.map((e) => e.kind)).toEqual(["push_repo"]));
    await vi.waitFor(async () => expect(await outboxesHolding([sent[0]!.id])).toEqual([]));
  });

  it("queues the security scan in DB once the shard's batch has committed", async () => {
    const repo = await repositoryIn("coreman/scanned");
    const commit = { ...imageCommit(repo, await linkedBlobsOf(repo, [10]), "v1"), queueScan: true };
    unwrap(await stub(repo).commitManifest(commit));
    const scan = await db().select().from(manifestScans).where(eq(manifestScans.digest, commit.digest)).get();
    expect(scan?.status).toBe("queued");
    const jobs = await db().select().from(connectorJobs).where(eq(connectorJobs.subject, commit.digest)).all();
    expect(jobs.map((j) => [j.kind, j.repositoryId])).toEqual([["scan", repo.id]]);
    const onShard = await coreOf(repo).select().from(manifestScans).where(eq(manifestScans.digest, commit.digest));
    expect(onShard).toEqual([]);
  });

  it("keeps the commit when the queueing fails after it, and one batch when the core is DB", async () => {
    const repo = await repositoryIn("coreman/scan-lost");
    await writableCoreDb(env, repo);
    const core = coreOf(repo);
    const down = () => {
      throw new Error("DB is unreachable");
    };
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const digest = randomDigest();
    const mark = sql`update repositories set storage_bytes = 7 where id = ${repo.id}`;
    const scan = [sql`insert into manifest_scans (digest, status, queued_at) values (${digest}, 'queued', 0)`];
    const unreachable = database({ prepare: down, batch: down } as unknown as D1Database);
    await commitWithScanQueue({ db: unreachable, core }, [mark], scan);
    const shadow = await core.select().from(repositories).where(eq(repositories.id, repo.id)).get();
    expect(shadow?.storageBytes).toBe(7);
    expect(logged).toHaveBeenCalledWith(expect.stringContaining("scan not queued"));

    const batches = vi.spyOn(env.DB, "batch");
    await commitWithScanQueue({ db: db(), core: db() }, [sql`select 1`], scan);
    expect(batches).toHaveBeenCalledTimes(1);
    expect(batches.mock.calls[0]![0]).toHaveLength(2);
  });

  it("is refused by a Reject limit in DB when the usage counted on the shard's shadow leaves no room", async () => {
    const repo = await repositoryIn("coreman/limited");
    const owner = (await db().select().from(users).where(eq(users.username, "coreman")).get())!;
    const [quota] = await db()
      .insert(namespaceQuotas)
      .values({ namespaceId: owner.id, limitBytes: 10_000 })
      .returning();
    await db().insert(quotaLimits).values({ quotaId: quota!.id, type: "Reject", thresholdPercent: 100 });
    try {
      const commit = imageCommit(repo, await linkedBlobsOf(repo, [300]), "v1");
      // DB's own row counts nothing: only the shard's usage can refuse.
      const core = coreOf(repo);
      await core.update(users).set({ storageBytes: 9_500 }).where(eq(users.username, "coreman"));
      const refused = await stub(repo).commitManifest(commit);
      expect(kindOf(refused)).toBe("quota_exceeded");
      expect(await countOf(core, manifests, repo)).toBe(0);
      expect(await usageOf(core, "coreman")).toBe(9_500);
      // With room on the shard, the same commit goes in and is charged there.
      await core.update(users).set({ storageBytes: 0 }).where(eq(users.username, "coreman"));
      unwrap(await stub(repo).commitManifest(commit));
      expect(await usageOf(core, "coreman")).toBe(800);
      expect(await usageOf(db(), "coreman")).toBe(0);
    } finally {
      await db().delete(namespaceQuotas).where(eq(namespaceQuotas.id, quota!.id));
    }
  });
});

describe("tag writes of a namespace on a shard", () => {
  it("putTag, deleteTag and restoreTag move and end the shard's tags", async () => {
    await shardedNamespace("coretags");
    const repo = await repositoryIn("coretags/app");
    const layers = await linkedBlobsOf(repo, [10, 20]);
    const first = imageCommit(repo, layers, "v1");
    const second = imageCommit(repo, layers, null);
    unwrap(await stub(repo).commitManifest(first));
    unwrap(await stub(repo).commitManifest(second));
    const core = coreOf(repo);
    const idOf = async (digest: Digest) =>
      (await core.select({ id: manifests.id }).from(manifests).where(eq(manifests.digest, digest)).get())!.id;

    expect(unwrap(await stub(repo).putTag(repo, "v1", { manifestDigest: second.digest }, testOrigin))).toEqual({
      created: false,
      moved: true,
    });
    expect(unwrap(await stub(repo).putTag(repo, "v2", { manifestDigest: first.digest }, testOrigin))).toEqual({
      created: true,
      moved: false,
    });
    const visible = async () => (await aliveTags(core, repo)).filter((t) => !t.name.startsWith("$"));
    expect(await visible()).toEqual([
      { name: "v1", manifestId: await idOf(second.digest), reversion: false },
      { name: "v2", manifestId: await idOf(first.digest), reversion: false },
    ]);

    unwrap(await stub(repo).deleteTag(repo, "v2", testOrigin));
    expect((await visible()).map((t) => t.name)).toEqual(["v1"]);
    unwrap(await stub(repo).restoreTag(repo, "v1", first.digest, testOrigin));
    expect(await visible()).toEqual([{ name: "v1", manifestId: await idOf(first.digest), reversion: true }]);
    expect(await countOf(db(), tags, repo)).toBe(0);
    expect(await countOf(otherShardOf(repo), tags, repo)).toBe(0);
  });

  it("refuses every write once changeState made the repository READ_ONLY in DB", async () => {
    const repo = await repositoryIn("coretags/frozen");
    const layers = await linkedBlobsOf(repo, [10]);
    const pushed = imageCommit(repo, layers, "v1");
    unwrap(await stub(repo).commitManifest(pushed));
    const tried = queueDown();
    unwrap(await stub(repo).changeState(repo, "READ_ONLY", testOrigin));
    expect((await db().select().from(repositories).where(eq(repositories.id, repo.id)).get())!.state).toBe("READ_ONLY");
    // The state's event is DB's, as the state is.
    await vi.waitFor(() => expect(tried.map((e) => e.kind)).toEqual(["change_repo_state"]));
    expect(await outboxesHolding([tried[0]!.id])).toEqual([0]);
    vi.restoreAllMocks();

    expect(kindOf(await stub(repo).deleteTag(repo, "v1", testOrigin))).toBe("read_only");
    expect(kindOf(await stub(repo).putTag(repo, "v2", { manifestDigest: pushed.digest }, testOrigin))).toBe(
      "read_only",
    );
    expect(kindOf(await stub(repo).commitManifest(imageCommit(repo, layers, "v3")))).toBe("read_only");
    const core = coreOf(repo);
    expect((await aliveTags(core, repo)).map((t) => t.name)).toEqual(["v1"]);
    expect(await countOf(core, manifests, repo)).toBe(1);

    unwrap(await stub(repo).changeState(repo, "NORMAL", testOrigin));
    unwrap(await stub(repo).deleteTag(repo, "v1", testOrigin));
    expect(await aliveTags(core, repo)).toEqual([]);
  });
});

describe("deleting and collecting a repository of a namespace on a shard", () => {
  it("renames DB's row and the shard's shadow to the tombstone, and recounts the usage on the shard", async () => {
    await shardedNamespace("coregone");
    const kept = await repositoryIn("coregone/kept");
    unwrap(await stub(kept).commitManifest(imageCommit(kept, await linkedBlobsOf(kept, [40]), "v1", 60)));
    const repo = await repositoryIn("coregone/app");
    unwrap(await stub(repo).commitManifest(imageCommit(repo, await linkedBlobsOf(repo, [1000]), "v1")));
    const core = coreOf(repo);
    expect(await usageOf(core, "coregone")).toBe(40 + 60 + 1000 + 500);
    const tried = queueDown();

    expect(await stub(repo).deleteRepository(repo, testOrigin)).toBe(true);
    const tombstone = { name: `~deleted/${repo.id}`, namespace: "~deleted" };
    const row = (where: Db) =>
      where
        .select({ name: repositories.name, namespace: repositories.namespace })
        .from(repositories)
        .where(eq(repositories.id, repo.id))
        .get();
    expect(await row(db())).toEqual(tombstone);
    expect(await row(core)).toEqual(tombstone);
    expect(await usageOf(core, "coregone")).toBe(40 + 60);
    // delete_repo is committed with DB's rename, in DB's outbox.
    await vi.waitFor(() => expect(tried.map((e) => e.kind)).toEqual(["delete_repo"]));
    expect(await outboxesHolding([tried[0]!.id])).toEqual([0]);
    vi.restoreAllMocks();

    // The name is free again: a new repository of it gets its own shadow and writes there.
    const again = await repositoryIn("coregone/app");
    unwrap(await stub(again).commitManifest(imageCommit(again, await linkedBlobsOf(again, [5]), "v1")));
    expect(await row(core)).toEqual(tombstone);
    expect(
      await core.select({ name: repositories.name }).from(repositories).where(eq(repositories.id, again.id)).get(),
    ).toEqual({ name: "coregone/app" });
    expect((await aliveTags(core, again)).map((t) => t.name)).toEqual(["v1"]);
  });

  it("reads an abandoned first push on the shard, where its manifests and its first-push mark are", async () => {
    const old = Date.now() - DAY;
    // No shadow yet: the Durable Object makes it, with DB's mark, before reading it.
    const abandoned = await repositoryIn("coregone/abandoned", old);
    expect(await stub(abandoned).deleteRepository(abandoned, systemOrigin("gc"), Date.now())).toBe(true);
    expect((await db().select().from(repositories).where(eq(repositories.id, abandoned.id)).get())!.name).toBe(
      `~deleted/${abandoned.id}`,
    );

    // DB's copy of the mark still says abandoned and DB holds no manifest; the shard has one.
    const pushed = await repositoryIn("coregone/pushed", old);
    const commit = { ...imageCommit(pushed, await linkedBlobsOf(pushed, [5]), null), firstPush: true };
    unwrap(await stub(pushed).commitManifest(commit));
    const shadow = await coreOf(pushed).select().from(repositories).where(eq(repositories.id, pushed.id)).get();
    expect(shadow?.firstPushActivityAt).toBeNull();
    expect(await stub(pushed).deleteRepository(pushed, systemOrigin("gc"), Date.now())).toBe(false);
    expect((await db().select().from(repositories).where(eq(repositories.id, pushed.id)).get())!.name).toBe(
      "coregone/pushed",
    );
  });

  it("collects the shard's expired tags, unneeded manifests and stale links", async () => {
    const repo = await repositoryIn("coregone/collected");
    const core = coreOf(repo);
    const commit = imageCommit(repo, await linkedBlobsOf(repo, [70, 80]), "v1");
    unwrap(await stub(repo).commitManifest(commit));
    unwrap(await stub(repo).deleteTag(repo, "v1", testOrigin));
    const before = await usageOf(core, "coregone");
    // Past the namespace's time machine (two weeks by default) and the grace period.
    const later = Date.now() + 30 * DAY;
    const tried = queueDown();
    const pass = await stub(repo).collectGarbage(repo.id, later, repo.name);
    expect(pass).toMatchObject({ tagRowsDeleted: 1, manifestsDeleted: 1, blobLinksDeleted: 2 });
    expect(await countOf(core, tags, repo)).toBe(0);
    expect(await countOf(core, manifests, repo)).toBe(0);
    expect(await core.select().from(repositoryBlobs).where(eq(repositoryBlobs.repositoryId, repo.id))).toEqual([]);
    expect(await usageOf(core, "coregone")).toBe(before - 70 - 80 - 500);
    await vi.waitFor(() => expect(tried).toHaveLength(3));
    expect(await outboxesHolding(tried.map((e) => e.id))).toEqual([placedOn.get("coregone")]);
  });
});
