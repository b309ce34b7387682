/**
 * The R2 sweep (src/gc/r2-sweep.ts): an object nothing references goes once it is older than
 * max(grace, UPLOAD_EXPIRY_SECONDS); referenced objects, young objects and uploads still in
 * progress (incomplete multipart uploads, which R2 does not list) stay. Keys are shared by every
 * database (DB and the shards, src/db/shards.ts): a row in any of them keeps an object.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { readConfig } from "../../../src/config";
import { eq } from "drizzle-orm";
import { database } from "../../../src/db/client";
import { allShardDbs } from "../../../src/db/shards";
import { blobs, manifests } from "../../../src/db/schema";
import { graceMs } from "../../../src/gc/grace";
import { sweepR2 } from "../../../src/gc/r2-sweep";
import { contentKey } from "../../../src/storage/keys";
import type { Digest } from "../../../src/registry/reference";
import { OCI_MANIFEST, pushBlob, pushImage, request, sha256, uniqueName } from "../helpers/registry";
import { envWithFailingShard, shadowRepository, shardDb } from "../helpers/shard-rows";

const db = () => database(env.DB);
const MIN_AGE = Math.max(graceMs(env), readConfig(env).UPLOAD_EXPIRY_SECONDS * 1000);

/** Sweeps the whole bucket at `nowMs`, `limit` objects per call; returns the calls made and the deletions. */
async function sweepAll(nowMs: number, limit = 500) {
  let calls = 0;
  let deleted = 0;
  for (;;) {
    const step = await sweepR2(allShardDbs(env), new R2BlobStore(env.BLOBS), nowMs, MIN_AGE, limit);
    calls++;
    deleted += step.deleted;
    if (step.wrapped) return { calls, deleted };
  }
}
const exists = async (key: string) => (await env.BLOBS.head(key)) !== null;
const orphanKey = async () => contentKey((await sha256(crypto.randomUUID())) as Digest);

describe("the R2 sweep", () => {
  it("deletes an object nothing references only once it is old enough", async () => {
    const content = await orphanKey();
    const upload = `uploads/${crypto.randomUUID()}`;
    await env.BLOBS.put(content, "orphan");
    await env.BLOBS.put(upload, "assembled, never recorded");
    await sweepAll(Date.now() + MIN_AGE / 2);
    expect(await exists(content)).toBe(true);
    expect(await exists(upload)).toBe(true);
    await sweepAll(Date.now() + MIN_AGE + 60_000);
    expect(await exists(content)).toBe(false);
    expect(await exists(upload)).toBe(false);
  });

  it("keeps blobs' objects and manifests' bytes, however old", async () => {
    const name = uniqueName("gcr");
    const image = await pushImage(name, "v1");
    const recordedUpload = `uploads/${crypto.randomUUID()}`;
    await env.BLOBS.put(recordedUpload, "a chunked upload's blob");
    const digest = await sha256("a chunked upload's blob");
    await db().insert(blobs).values({ digest, size: 23, storageKey: recordedUpload });
    // The same content also at its content address (a lost race between two uploads).
    await env.BLOBS.put(contentKey(digest as Digest), "a chunked upload's blob");

    await sweepAll(Date.now() + 10 * MIN_AGE);
    for (const blob of [image.config, ...image.layers]) expect(await exists(contentKey(blob as Digest))).toBe(true);
    expect(await exists(contentKey(image.digest as Digest))).toBe(true);
    expect(await exists(recordedUpload)).toBe(true);
    const pulled = await request("GET", `/v2/${name}/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
    expect(await pulled.text()).toBe(image.manifest);
    // A blob row names its own key only: the content address of a blob stored elsewhere is free.
    expect(await exists(contentKey(digest as Digest))).toBe(false);
  });

  it("never touches an upload in progress: R2 does not list an incomplete multipart upload", async () => {
    const key = `uploads/${crypto.randomUUID()}`;
    const multipart = await env.BLOBS.createMultipartUpload(key);
    const part = await multipart.uploadPart(1, "the only part so far");
    await sweepAll(Date.now() + 10 * MIN_AGE);
    await multipart.complete([part]);
    expect(await (await env.BLOBS.get(key))!.text()).toBe("the only part so far");
  });

  it("pages through the bucket with a saved cursor, covering every prefix", async () => {
    const keys = [
      await orphanKey(),
      await orphanKey(),
      await orphanKey(),
      `uploads/${crypto.randomUUID()}`,
      `uploads/${crypto.randomUUID()}`,
    ];
    for (const key of keys) await env.BLOBS.put(key, "orphan");
    const kept = await pushBlob(uniqueName("gcr"), `recorded ${crypto.randomUUID()}`);
    const { calls } = await sweepAll(Date.now() + MIN_AGE + 60_000, 2);
    expect(calls).toBeGreaterThanOrEqual(3);
    for (const key of keys) expect(await exists(key)).toBe(false);
    expect(await exists(contentKey(kept as Digest))).toBe(true);
  });

  it("keeps an object that only a shard's blob row names, and deletes it once no database does", async () => {
    const upload = `uploads/${crypto.randomUUID()}`;
    await env.BLOBS.put(upload, "recorded in shard 2 only");
    const digest = await sha256(`recorded in shard 2 only ${crypto.randomUUID()}`);
    await shardDb(2).insert(blobs).values({ digest, size: 24, storageKey: upload });
    expect(await db().select().from(blobs).where(eq(blobs.storageKey, upload)).all()).toEqual([]);

    await sweepAll(Date.now() + 10 * MIN_AGE);
    expect(await exists(upload)).toBe(true);
    await shardDb(2).delete(blobs).where(eq(blobs.digest, digest));
    await sweepAll(Date.now() + 10 * MIN_AGE);
    expect(await exists(upload)).toBe(false);
  });

  it("keeps a manifest's bytes that only a shard's manifest row names", async () => {
    const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, id: crypto.randomUUID() });
    const digest = (await sha256(text)) as Digest;
    await env.BLOBS.put(contentKey(digest), text);
    const repo = { id: 1_000_000 + Math.floor(Math.random() * 1_000_000), name: uniqueName("gcr") };
    await shadowRepository(1, repo);
    await shardDb(1)
      .insert(manifests)
      .values({ repositoryId: repo.id, digest, mediaType: OCI_MANIFEST, size: text.length });

    await sweepAll(Date.now() + 10 * MIN_AGE);
    expect(await (await env.BLOBS.get(contentKey(digest)))!.text()).toBe(text);
    await shardDb(1).delete(manifests).where(eq(manifests.digest, digest));
    await sweepAll(Date.now() + 10 * MIN_AGE);
    expect(await exists(contentKey(digest))).toBe(false);
  });

  it("deletes nothing while a database cannot say what it names", async () => {
    const orphan = await orphanKey();
    await env.BLOBS.put(orphan, "orphan, but shard 1 cannot be asked");
    const databases = allShardDbs(envWithFailingShard(1));
    await expect(
      sweepR2(databases, new R2BlobStore(env.BLOBS), Date.now() + 10 * MIN_AGE, MIN_AGE, 1000),
    ).rejects.toThrow(/shard 1 is unreachable/);
    expect(await exists(orphan)).toBe(true);
    await sweepAll(Date.now() + 10 * MIN_AGE);
    expect(await exists(orphan)).toBe(false);
  });
});
