/**
 * The global blob pass (src/gc/blobs.ts) and the touches that protect what a push relies on
 * (src/registry/blobs.ts touchBlobs): a blob goes only when no manifest anywhere references it and
 * nothing used it for the grace period; its links and R2 bytes go with it, unless another row uses
 * those bytes.
 */
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { type Db, database } from "../../../src/db/client";
import { allShardDbs } from "../../../src/db/shards";
import { blobs, eventOutbox, repositories, repositoryBlobs } from "../../../src/db/schema";
import { BLOB_SCAN_ROWS, collectBlobs } from "../../../src/gc/blobs";
import { graceMs } from "../../../src/gc/grace";
import { deleteIfUnchanged } from "../../../src/gc/r2-sweep";
import { contentKey } from "../../../src/storage/keys";
import type { Digest } from "../../../src/registry/reference";
import {
  OCI_CONFIG,
  OCI_LAYER,
  OCI_MANIFEST,
  bytesOf,
  expectBlobContent,
  pushBlob,
  pushManifest,
  randomBytes,
  request,
  uniqueName,
} from "../helpers/registry";
import { shadowRepository, shardDb } from "../helpers/shard-rows";

const db = () => database(env.DB);
const GRACE = graceMs(env);

/** Runs the blob pass at `nowMs` over the whole table of `rows` (DB unless given); returns the blobs it deleted. */
async function blobPass(nowMs: number, rows: Db = db()): Promise<number> {
  let deleted = 0;
  for (;;) {
    const step = await collectBlobs(rows, allShardDbs(env), new R2BlobStore(env.BLOBS), nowMs, GRACE);
    deleted += step.blobsDeleted;
    if (step.wrapped) return deleted;
  }
}
const blobRow = (digest: string) => db().select().from(blobs).where(eq(blobs.digest, digest)).get();
const links = async (digest: string) =>
  (await db().select().from(repositoryBlobs).where(eq(repositoryBlobs.digest, digest)).all()).length;
const storedBytes = (digest: string) => env.BLOBS.head(contentKey(digest as Digest));
/** Makes a blob look last used two grace periods ago. */
const age = (digest: string) =>
  db()
    .update(blobs)
    .set({ createdAt: Date.now() - 2 * GRACE, lastUsedAt: 0 })
    .where(eq(blobs.digest, digest));

/** Pushes `layer` and a config, then a manifest over them tagged `tag`; returns the manifest's digest and text. */
async function pushImageOf(name: string, tag: string, layer: Uint8Array) {
  const config = JSON.stringify({ os: "linux", architecture: "amd64", id: crypto.randomUUID() });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: await pushBlob(name, config), size: bytesOf(config).byteLength },
    layers: [{ mediaType: OCI_LAYER, digest: await pushBlob(name, layer), size: layer.byteLength }],
  });
  return { digest: await pushManifest(name, tag, manifest, OCI_MANIFEST), manifest };
}

describe("the blob pass", () => {
  it("keeps an uploaded blob nothing references for the grace period, then removes it, its links and its bytes", async () => {
    const name = uniqueName("gcb");
    const digest = await pushBlob(name, `waiting for its manifest ${crypto.randomUUID()}`);
    const now = Date.now();
    await blobPass(now + GRACE / 2);
    expect(await blobRow(digest)).toBeDefined();
    expect(await storedBytes(digest)).not.toBeNull();
    expect((await request("HEAD", `/v2/${name}/blobs/${digest}`)).status).toBe(200);

    expect(await blobPass(now + GRACE + 60_000)).toBeGreaterThanOrEqual(1);
    expect(await blobRow(digest)).toBeUndefined();
    expect(await links(digest)).toBe(0);
    expect(await storedBytes(digest)).toBeNull();
    expect((await request("HEAD", `/v2/${name}/blobs/${digest}`)).status).toBe(404);
  });

  it("keeps a blob that another repository's manifest references, long after the grace period", async () => {
    const layer = randomBytes(700);
    const owner = uniqueName("gcb");
    const loose = uniqueName("gcb");
    await pushImageOf(owner, "v1", layer);
    const digest = await pushBlob(loose, layer);
    expect(await links(digest)).toBe(2);
    await blobPass(Date.now() + 10 * GRACE);
    expect(await blobRow(digest)).toBeDefined();
    await expectBlobContent(owner, digest, layer);
  });

  it("keeps the bytes when the blob row goes but a manifest's bytes live at the same key", async () => {
    const name = uniqueName("gcb");
    const image = await pushImageOf(name, "v1", randomBytes(300));
    // The manifest's own bytes uploaded as a blob too (some clients copy manifests as blobs).
    expect(await pushBlob(uniqueName("gcb"), image.manifest)).toBe(image.digest);
    await blobPass(Date.now() + 2 * GRACE);
    expect(await blobRow(image.digest)).toBeUndefined();
    expect(await storedBytes(image.digest)).not.toBeNull();
    const pulled = await request("GET", `/v2/${name}/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
    expect(await pulled.text()).toBe(image.manifest);
  });

  it("removes a chunked upload's object (an uploads/ key) with its row", async () => {
    const key = `uploads/${crypto.randomUUID()}`;
    const digest = `sha256:${crypto.randomUUID().replaceAll("-", "").padEnd(64, "0")}`;
    await env.BLOBS.put(key, "assembled by multipart");
    await db()
      .insert(blobs)
      .values({ digest, size: 22, storageKey: key, createdAt: Date.now() - 2 * GRACE });
    // Its object was written a moment ago; past the grace period the pass takes row and object.
    await blobPass(Date.now() + GRACE);
    expect(await blobRow(digest)).toBeUndefined();
    expect(await env.BLOBS.head(key)).toBeNull();
  });

  it("reads a bounded window per call and covers the whole table over successive calls", async () => {
    const count = BLOB_SCAN_ROWS + 20;
    const old = Date.now() - 2 * GRACE;
    await db().run(sql`
      with recursive n(i) as (select 1 union all select i + 1 from n where i < ${count})
      insert into blobs (digest, size, storage_key, created_at)
      select 'sha256:' || printf('%064d', i), 1, 'blobs/sha256/' || printf('%064d', i), ${old} from n`);
    const first = await collectBlobs(db(), allShardDbs(env), new R2BlobStore(env.BLOBS), Date.now(), GRACE);
    expect(first.scanned).toBe(BLOB_SCAN_ROWS);
    expect(first.wrapped).toBe(false);
    await blobPass(Date.now());
    const left = await db().all(sql`select digest from blobs where digest like 'sha256:000%'`);
    expect(left).toEqual([]);
  });
});

describe("the blob pass past one database", () => {
  /** The `gc_blob_deleted` events of `digest` in the outbox of `rows`. */
  const deletionEvents = async (rows: Db, digest: string) =>
    rows
      .select({ id: eventOutbox.id })
      .from(eventOutbox)
      .where(
        sql`json_extract(${eventOutbox.body}, '$.kind') = 'gc_blob_deleted'
          and json_extract(${eventOutbox.body}, '$.data.digest') = ${digest}`,
      )
      .all();

  it("deletes a row in its own database, keeping the bytes while a shard's row names them; the shard's pass takes them with its row", async () => {
    const name = uniqueName("gcb");
    const digest = await pushBlob(name, `held by two databases ${crypto.randomUUID()}`);
    const row = (await blobRow(digest))!;
    const repo = (await db().select().from(repositories).where(eq(repositories.name, name)).get())!;
    // Shard 1 holds the same content for the same repository (parents first: foreign keys).
    await shadowRepository(1, repo);
    await shardDb(1).insert(blobs).values({ digest, size: row.size, storageKey: row.storageKey });
    await shardDb(1).insert(repositoryBlobs).values({ repositoryId: repo.id, digest });
    await age(digest);
    const shardRow = () => shardDb(1).select().from(blobs).where(eq(blobs.digest, digest)).get();
    const shardLinks = async () =>
      (await shardDb(1).select().from(repositoryBlobs).where(eq(repositoryBlobs.digest, digest)).all()).length;

    const now = Date.now();
    expect(await blobPass(now)).toBeGreaterThanOrEqual(1);
    expect(await blobRow(digest)).toBeUndefined();
    expect(await links(digest)).toBe(0);
    expect(await deletionEvents(db(), digest)).toHaveLength(1);
    expect(await storedBytes(digest)).not.toBeNull();
    // The shard's row was used within the grace period: its own pass keeps it, and so the bytes.
    await blobPass(now, shardDb(1));
    expect(await shardRow()).toBeDefined();
    expect(await shardLinks()).toBe(1);
    expect(await storedBytes(digest)).not.toBeNull();

    await shardDb(1)
      .update(blobs)
      .set({ createdAt: now - 2 * GRACE, lastUsedAt: 0 })
      .where(eq(blobs.digest, digest));
    expect(await blobPass(now + GRACE, shardDb(1))).toBe(1);
    expect(await shardRow()).toBeUndefined();
    expect(await shardLinks()).toBe(0);
    // Its event committed in the shard's outbox, with the row's delete.
    expect(await deletionEvents(shardDb(1), digest)).toHaveLength(1);
    expect(await storedBytes(digest)).toBeNull();
  });

  it("keeps bytes written within the grace period, which a push in another database may be about to name", async () => {
    // The race of docs/sharding-the-registry-core.md §4.5: DB's row is old and collectable; a push
    // in shard 2 has just stored the same content and has not committed its row yet.
    const name = uniqueName("gcb");
    const digest = await pushBlob(name, `stored again elsewhere ${crypto.randomUUID()}`);
    await age(digest);
    const now = Date.now();
    expect(await blobPass(now)).toBeGreaterThanOrEqual(1);
    expect(await blobRow(digest)).toBeUndefined();
    expect(await storedBytes(digest)).not.toBeNull();
    // The push commits its row in shard 2 after DB's pass: the bytes it names are there.
    const repo = (await db().select().from(repositories).where(eq(repositories.name, name)).get())!;
    await shadowRepository(2, repo);
    await shardDb(2)
      .insert(blobs)
      .values({ digest, size: 1, storageKey: contentKey(digest as Digest) });
    expect(await shardDb(2).select().from(blobs).where(eq(blobs.digest, digest)).get()).toBeDefined();
    expect(await storedBytes(digest)).not.toBeNull();
  });
});

describe("touches: what a push relies on outlives the grace period", () => {
  it("a HEAD answered 200 records a use of a stale blob, and writes nothing for a fresh one", async () => {
    const name = uniqueName("gcb");
    const headed = await pushBlob(name, `headed ${crypto.randomUUID()}`);
    const ignored = await pushBlob(name, `ignored ${crypto.randomUUID()}`);
    const fresh = await pushBlob(name, `fresh ${crypto.randomUUID()}`);
    await age(headed);
    await age(ignored);
    expect((await request("HEAD", `/v2/${name}/blobs/${headed}`)).status).toBe(200);
    expect((await request("HEAD", `/v2/${name}/blobs/${fresh}`)).status).toBe(200);
    expect((await blobRow(headed))!.lastUsedAt).toBeGreaterThan(Date.now() - 60_000);
    expect((await blobRow(fresh))!.lastUsedAt).toBe(0);

    await blobPass(Date.now() + GRACE / 2);
    expect(await blobRow(headed)).toBeDefined();
    expect(await blobRow(ignored)).toBeUndefined();
  });

  it("a manifest push records a use of every blob it checks", async () => {
    const name = uniqueName("gcb");
    const config = JSON.stringify({ os: "linux", architecture: "amd64", id: crypto.randomUUID() });
    const layer = randomBytes(400);
    const digests = [await pushBlob(name, config), await pushBlob(name, layer)];
    for (const digest of digests) await age(digest);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: digests[0], size: bytesOf(config).byteLength },
      layers: [{ mediaType: OCI_LAYER, digest: digests[1], size: layer.byteLength }],
    });
    await pushManifest(name, "v1", manifest, OCI_MANIFEST);
    for (const digest of digests) expect((await blobRow(digest))!.lastUsedAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it("a cross-repository mount and an upload of known content record a use", async () => {
    const source = uniqueName("gcb");
    const target = uniqueName("gcb");
    const bytes = `mounted ${crypto.randomUUID()}`;
    const digest = await pushBlob(source, bytes);
    await age(digest);
    const mounted = await request("POST", `/v2/${target}/blobs/uploads/?mount=${digest}&from=${source}`);
    expect(mounted.status).toBe(201);
    expect((await blobRow(digest))!.lastUsedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(await links(digest)).toBe(2);

    await age(digest);
    expect(await pushBlob(uniqueName("gcb"), bytes)).toBe(digest);
    expect((await blobRow(digest))!.lastUsedAt).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe("deleteIfUnchanged", () => {
  it("leaves an object written again after the caller decided, and deletes one that was not", async () => {
    const key = `blobs/sha256/${"e".repeat(63)}${Math.floor(Math.random() * 10)}`;
    await env.BLOBS.put(key, "bytes");
    expect(await deleteIfUnchanged(new R2BlobStore(env.BLOBS), [key], Date.now() - 60_000)).toBe(0);
    expect(await env.BLOBS.head(key)).not.toBeNull();
    expect(await deleteIfUnchanged(new R2BlobStore(env.BLOBS), [key, "blobs/sha256/missing"], Date.now() + 1000)).toBe(
      1,
    );
    expect(await env.BLOBS.head(key)).toBeNull();
  });
});
