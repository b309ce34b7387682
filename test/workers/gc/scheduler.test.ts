/**
 * The cron-driven run (src/gc/scheduler.ts): it queues `gc_repository` for the repositories with
 * work and no others, runs the global passes, survives a failing pass, and sweeps deletions whose
 * purge event was lost (src/gc/deletions.ts). Past one database, the repository scans and the blob
 * pass run in every shard with their cursors there, and a failing shard is named.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { readConfig } from "../../../src/config";
import { eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../src/index";
import { database } from "../../../src/db/client";
import { blobs, eventOutbox, manifests, repositories, tags, users } from "../../../src/db/schema";
import { BLOB_SCAN_ROWS } from "../../../src/gc/blobs";
import { graceMs, readCursor } from "../../../src/gc/grace";
import { NAMESPACE_PURGE_OVERDUE_MS, sweepDeletions } from "../../../src/gc/deletions";
import { runGarbageCollection } from "../../../src/gc/scheduler";
import { repositoryObject } from "../../../src/registry/repository-object";
import { tombstoneName } from "../../../src/registry/repository-deletion";
import { unwrap } from "../../../src/errors/outcome";
import { pushBlob, pushImage, request } from "../helpers/registry";
import { systemOrigin } from "../../../src/events/envelope";
import { testOrigin } from "../helpers/events";
import { envWithFailingShard, shadowRepository, shardDb } from "../helpers/shard-rows";

const db = () => database(env.DB);
const HOUR = 3_600_000;

async function namespace(windowS = 0): Promise<string> {
  const name = `gcsc${crypto.randomUUID().slice(0, 8)}`;
  await db().insert(users).values({ username: name, kind: "user", tagExpirationS: windowS });
  return name;
}
const repository = (name: string) => db().select().from(repositories).where(eq(repositories.name, name)).get();

/** The env with EVENTS recording what is sent instead of queueing it. */
function recordingEnv(extra: Partial<Env> = {}) {
  const sent: unknown[] = [];
  const events = {
    send: async (body: unknown) => void sent.push(body),
    sendBatch: async (messages: Iterable<{ body: unknown }>) => void sent.push(...[...messages].map((m) => m.body)),
  };
  return { env: { ...env, EVENTS: events, ...extra } as unknown as Env, sent };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("runGarbageCollection", () => {
  it("queues gc_repository for each repository with work, and for none without", async () => {
    const ns = await namespace(0);
    const deadTag = `${ns}/dead-tag`;
    const staleLink = `${ns}/stale-link`;
    const clean = `${ns}/clean`;
    const insideWindow = `${await namespace(86_400)}/inside-window`;
    await pushImage(deadTag, "v1");
    unwrap(
      await repositoryObject(env, deadTag).deleteTag(
        { id: (await repository(deadTag))!.id, name: deadTag },
        "v1",
        testOrigin,
      ),
    );
    await pushImage(staleLink, "v1");
    const loose = await pushBlob(staleLink, `loose ${crypto.randomUUID()}`);
    await db()
      .update(blobs)
      .set({ createdAt: Date.now() - 3 * HOUR })
      .where(eq(blobs.digest, loose));
    await db().run(sql`update repository_blobs set created_at = ${Date.now() - 3 * HOUR} where digest = ${loose}`);
    await pushImage(clean, "v1");
    await pushImage(insideWindow, "v1");
    unwrap(
      await repositoryObject(env, insideWindow).deleteTag(
        { id: (await repository(insideWindow))!.id, name: insideWindow },
        "v1",
        testOrigin,
      ),
    );

    const { env: spied, sent } = recordingEnv();
    const run = await runGarbageCollection(spied, Date.now());
    expect(run.failed).toEqual([]);
    // The queue also carries the events of what the blob pass deleted: the jobs are what is asked.
    const queued = (sent as { type?: string; repositoryId: number; name: string }[]).filter((m) => m.type);
    const names = queued.map((m) => m.name);
    expect(names).toContain(deadTag);
    expect(names).toContain(staleLink);
    expect(names).not.toContain(clean);
    expect(names).not.toContain(insideWindow);
    expect(queued.find((m) => m.name === deadTag)).toEqual({
      type: "gc_repository",
      repositoryId: (await repository(deadTag))!.id,
      name: deadTag,
    });
    expect(run.repositoriesQueued).toBe(queued.length);
  });

  it("logs a failing pass and still runs the others", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const broken = {
      ...env.BLOBS,
      list: async () => Promise.reject(new Error("R2 is down")),
      head: env.BLOBS.head.bind(env.BLOBS),
      delete: env.BLOBS.delete.bind(env.BLOBS),
    };
    const { env: spied } = recordingEnv({ BLOBS: broken as unknown as R2Bucket });
    const run = await runGarbageCollection(spied, Date.now());
    expect(run.failed).toEqual(["r2"]);
    expect(run.blobs).toBeDefined();
    expect(run.deletions).toBeDefined();
    expect(run.recounted).toBeDefined();
    expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({
      msg: "garbage collection pass failed",
      pass: "r2",
    });
  });

  it("runs from the Worker's scheduled handler", async () => {
    const name = `${await namespace()}/scheduled`;
    await pushImage(name, "v1");
    await db().update(repositories).set({ storageBytes: -1 });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await repository(name))!.storageBytes).toBeGreaterThan(0);
  });
});

describe("runGarbageCollection past one database", () => {
  it("scans each shard's tables with the shard's own cursors, and publishes a shard's blob events from its outbox", async () => {
    const ns = await namespace(0);
    const name = `${ns}/on-shard-1`;
    // The repository is named in DB, its contents are in shard 1 (parents first: foreign keys).
    const [created] = await db()
      .insert(repositories)
      .values({ name, namespace: ns })
      .returning({ id: repositories.id });
    const id = created!.id;
    await shadowRepository(1, { id, name });
    const [manifest] = await shardDb(1)
      .insert(manifests)
      .values({ repositoryId: id, digest: `sha256:${"a".repeat(64)}`, mediaType: "x", size: 1 })
      .returning({ id: manifests.id });
    const now = Date.now();
    await shardDb(1)
      .insert(tags)
      .values({
        repositoryId: id,
        name: "gone",
        manifestId: manifest!.id,
        lifetimeStartMs: 0,
        lifetimeEndMs: now - HOUR,
      });
    // More blobs than one window of the blob pass, all in use: the pass stops at a cursor.
    await shardDb(1).run(sql`
      with recursive n(i) as (select 1 union all select i + 1 from n where i < ${BLOB_SCAN_ROWS + 20})
      insert into blobs (digest, size, storage_key, created_at)
      select 'sha256:' || printf('%064d', i), 1, 'blobs/sha256/' || printf('%064d', i), ${now} from n`);
    // A collectable blob in shard 2, its bytes named by no database.
    const loose = `sha256:${crypto.randomUUID().replaceAll("-", "").padEnd(64, "b")}`;
    const looseKey = `uploads/${crypto.randomUUID()}`;
    await env.BLOBS.put(looseKey, "loose");
    await shardDb(2)
      .insert(blobs)
      .values({ digest: loose, size: 5, storageKey: looseKey, createdAt: now - 2 * graceMs(env) });

    const { env: spied, sent } = recordingEnv();
    const run = await runGarbageCollection(spied, now);
    expect(run.failed).toEqual([]);
    const queued = (sent as { type?: string; repositoryId: number; name: string }[]).filter((m) => m.type);
    expect(queued).toContainEqual({ type: "gc_repository", repositoryId: id, name });

    const shardCursor = await readCursor(shardDb(1), "blobs");
    expect(shardCursor).toBe(`sha256:${String(BLOB_SCAN_ROWS).padStart(64, "0")}`);
    expect(await readCursor(db(), "blobs")).not.toBe(shardCursor);
    expect(await readCursor(shardDb(2), "blobs")).toBeNull();

    const events = (sent as { kind?: string; data?: { digest?: string } }[]).filter((m) => m.kind);
    expect(events).toContainEqual(
      expect.objectContaining({ kind: "gc_blob_deleted", data: { digest: loose, size: 5 } }),
    );
    expect(await shardDb(2).select().from(blobs).where(eq(blobs.digest, loose)).get()).toBeUndefined();
    // Published from the outbox it was committed in, and cleared there.
    expect(await shardDb(2).select().from(eventOutbox).all()).toEqual([]);
    // Its bytes were written a moment ago: with more than one database they wait out the longest
    // an object may wait for its row (a push in another database), then go with a later run.
    expect(await env.BLOBS.head(looseKey)).not.toBeNull();
    const later = now + Math.max(graceMs(env), readConfig(env).UPLOAD_EXPIRY_SECONDS * 1000) + 1000;
    for (let run = 0; run < 6 && (await env.BLOBS.head(looseKey)); run++) await runGarbageCollection(spied, later);
    expect(await env.BLOBS.head(looseKey)).toBeNull();
  });

  it("names a failing shard's passes and still runs every other database's", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const run = await runGarbageCollection(envWithFailingShard(2, recordingEnv().env), Date.now());
    // The empty-repository pass reads each shard's first-push marks too (src/gc/empty-repositories.ts).
    expect(run.failed).toEqual(["repositories (shard 2)", "blobs (shard 2)", "empty (shard 2)"]);
    expect(run.repositoriesQueued).toBeDefined();
    expect(run.blobs).toBeDefined();
    expect(run.r2).toBeDefined();
    const passes = error.mock.calls.map(([line]) => (JSON.parse(String(line)) as { pass: string }).pass);
    expect(passes).toEqual(["repositories (shard 2)", "blobs (shard 2)", "empty (shard 2)"]);
  });
});

describe("sweepDeletions", () => {
  it("purges a deleted repository whose event was lost, and running it again changes nothing", async () => {
    const name = `${await namespace()}/tombstoned`;
    await pushImage(name, "v1");
    const id = (await repository(name))!.id;
    expect(await repositoryObject(env, name).deleteRepository({ id, name }, systemOrigin("gc"))).toBe(true);
    const live = `${await namespace()}/live`;
    await pushImage(live, "v1");

    for (let i = 0; i < 10 && (await db().select().from(repositories).where(eq(repositories.id, id)).get()); i++)
      await sweepDeletions(db(), Date.now());
    expect(
      await db()
        .select()
        .from(repositories)
        .where(eq(repositories.name, tombstoneName(id)))
        .get(),
    ).toBeUndefined();
    expect(await db().select().from(tags).where(eq(tags.repositoryId, id)).all()).toEqual([]);
    expect(await sweepDeletions(db(), Date.now())).toEqual({ repositoriesPurged: 0, namespacesPurged: 0 });
    expect(
      (
        await request("GET", `/v2/${live}/manifests/v1`, {
          headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
        })
      ).status,
    ).toBe(200);
  });

  it("finishes a namespace deletion left unpurged for too long, but leaves a recent one to its queued event", async () => {
    const overdue = await namespace();
    const recent = await namespace();
    await pushImage(`${overdue}/a`, "v1");
    await pushImage(`${overdue}/b`, "v1");
    await pushImage(`${recent}/a`, "v1");
    const now = Date.now();
    await db()
      .update(users)
      .set({ deletingSince: now - NAMESPACE_PURGE_OVERDUE_MS - 1000 })
      .where(eq(users.username, overdue));
    await db().update(users).set({ deletingSince: now }).where(eq(users.username, recent));

    let purged = 0;
    for (let i = 0; i < 10; i++) purged += (await sweepDeletions(db(), now)).namespacesPurged;
    expect(purged).toBe(1);
    expect(await db().select().from(users).where(eq(users.username, overdue)).get()).toBeUndefined();
    expect(await db().select().from(repositories).where(eq(repositories.namespace, overdue)).all()).toEqual([]);
    expect(await db().select().from(users).where(eq(users.username, recent)).get()).toBeDefined();
    expect(await repository(`${recent}/a`)).toBeDefined();
  });
});
