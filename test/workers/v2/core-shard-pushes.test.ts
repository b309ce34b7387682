/**
 * Pushes into a namespace whose registry core is on a shard (docs/sharding-the-registry-core.md,
 * Stage 2): the request writes the core through the client over that shard, shadows made first,
 * and the directory, identity and quota rules through `c.var.db` on DB
 * (src/middleware/db-session.ts). Uploads, mounts across shards, the first-push mark and quota
 * usage are checked where their rows land (test/workers/helpers/core-shard.ts places the
 * namespaces). The manifest commit (RepositoryDO) is not routed to the shard here.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../../src/db/client";
import { blobs, namespaceQuotas, quotaLimits, repositories, users } from "../../../src/db/schema";
import { writableCores } from "../../../src/registry/core-db";
import { prepareManifest } from "../../../src/registry/manifests";
import { PUSH_ACTIVITY_REFRESH_MS } from "../../../src/registry/repositories";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { db, makeUser, tokenFor as oauthToken } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { coreRows, otherShard as other, type Placed, placedPair, repositoryNamed } from "../helpers/core-shard";
import { fixtureEvents } from "../helpers/events";
import {
  bodyBytes,
  bytesOf,
  closeUpload,
  EMPTY_DIGEST,
  errorCode,
  OCI_EMPTY,
  OCI_MANIFEST,
  ociManifestOver,
  openUpload,
  patchChunk,
  pushBlob,
  randomBytes,
  registryToken,
  request,
  sha256,
  subjectNamed,
} from "../helpers/registry";
import { shardDb } from "../helpers/shard-rows";

let placed: { one: Placed; two: Placed };

beforeAll(async () => {
  const admin = await initializeAdmin();
  placed = await placedPair(admin, "push");
  await makeUser(admin, "coreindb");
});

/** A monolithic push, a chunked upload and a PUT-only upload into `name`: the three digests. */
async function uploadThreeWays(name: string): Promise<string[]> {
  const whole = await pushBlob(name, `whole ${crypto.randomUUID()}`);
  const chunked = randomBytes(3000);
  const location = await openUpload(name);
  expect((await patchChunk(location, chunked.subarray(0, 1000), 0)).status).toBe(202);
  expect((await patchChunk(location, chunked.subarray(1000), 1000)).status).toBe(202);
  const chunkedDigest = await sha256(chunked);
  expect((await closeUpload(location, chunkedDigest)).status).toBe(201);
  const single = bytesOf(`put only ${crypto.randomUUID()}`);
  const singleDigest = await sha256(single);
  expect((await closeUpload(await openUpload(name), singleDigest, single)).status).toBe(201);
  return [whole, chunkedDigest, singleDigest].sort();
}

describe("a push into a namespace whose core is on a shard", () => {
  it("lands blobs, links and the shadow rows on that shard only; the repository is DB's", async () => {
    const { name: ns, shard } = placed.one;
    const name = `${ns}/app`;
    const digests = await uploadThreeWays(name);

    const repository = await repositoryNamed(name);
    expect(repository.firstPushActivityAt).not.toBeNull();
    expect(await coreRows(shardDb(shard), repository.id, digests)).toEqual({ blobs: digests, links: digests });
    expect(await coreRows(db(), repository.id, digests)).toEqual({ blobs: [], links: [] });
    expect(await coreRows(shardDb(other(shard)), repository.id, digests)).toEqual({ blobs: [], links: [] });

    // The shadows: the repository (same id, its mark copied from DB) and its namespace.
    const shadow = await shardDb(shard).select().from(repositories).where(eq(repositories.id, repository.id)).get();
    expect(shadow).toMatchObject({ name, namespace: ns, createdAt: repository.createdAt });
    expect(shadow!.firstPushActivityAt).not.toBeNull();
    const owner = await shardDb(shard).select().from(users).where(eq(users.username, ns)).get();
    expect(owner?.id).toBe((await db().select().from(users).where(eq(users.username, ns)).get())!.id);
    const elsewhere = shardDb(other(shard));
    expect(await elsewhere.select().from(repositories).where(eq(repositories.id, repository.id)).get()).toBeUndefined();

    // Pulled back from the shard, by the pusher and by a pull-only token (a replica session there).
    const pullOnly = await registryToken([{ type: "repository", name, actions: ["pull"] }], ns);
    for (const token of [undefined, pullOnly]) {
      for (const digest of digests) {
        const head = await request("HEAD", `/v2/${name}/blobs/${digest}`, { token });
        expect(head.status).toBe(200);
        const got = await request("GET", `/v2/${name}/blobs/${digest}`, { token });
        expect(got.status).toBe(200);
        expect(await sha256(await bodyBytes(got))).toBe(digest);
      }
    }
    // Unknown where it is not linked: the same digests through a repository of a DB namespace.
    expect(await errorCode(await request("GET", `/v2/coreindb/app/blobs/${digests[0]}`))).toBe("BLOB_UNKNOWN");
  });

  it("keeps the first-push mark on the shard: refreshed there, never in DB, and gone once the shard clears it", async () => {
    const { name: ns, shard } = placed.one;
    const name = `${ns}/marked`;
    await pushBlob(name, `first ${crypto.randomUUID()}`);
    const repository = await repositoryNamed(name);
    const created = repository.firstPushActivityAt!;
    const shadowMark = async () =>
      (await shardDb(shard).select().from(repositories).where(eq(repositories.id, repository.id)).get())!
        .firstPushActivityAt;
    expect(await shadowMark()).toBe(created);

    // A push step after the refresh interval records its activity on the shard only: the Worker's
    // (a POST), then the upload session's (a chunk).
    advanceClock(PUSH_ACTIVITY_REFRESH_MS + 1_000);
    await pushBlob(name, `second ${crypto.randomUUID()}`);
    const refreshed = (await shadowMark())!;
    expect(refreshed).toBeGreaterThan(created);
    const open = await openUpload(name);
    advanceClock(PUSH_ACTIVITY_REFRESH_MS + 1_000);
    expect((await patchChunk(open, bytesOf("a chunk"), 0)).status).toBe(202);
    expect(await shadowMark()).toBeGreaterThan(refreshed);
    expect((await repositoryNamed(name)).firstPushActivityAt).toBe(created);

    // The shard's commit ends the first push there (as RepositoryDO's will): no step revives it,
    // whatever DB's copy still says.
    await shardDb(shard)
      .update(repositories)
      .set({ firstPushActivityAt: null })
      .where(eq(repositories.id, repository.id));
    advanceClock(PUSH_ACTIVITY_REFRESH_MS + 1_000);
    const location = await openUpload(name);
    expect((await patchChunk(location, bytesOf("a chunk"), 0)).status).toBe(202);
    expect(await shadowMark()).toBeNull();
  });

  it("prepares a first push's manifest over the blobs the shard links, as the first push it is", async () => {
    const { name: ns } = placed.one;
    const name = `${ns}/firstpush`;
    const config = JSON.stringify({ architecture: "amd64", os: "linux", n: crypto.randomUUID() });
    const layer = `layer ${crypto.randomUUID()}`;
    await pushBlob(name, config);
    await pushBlob(name, layer);
    const repository = await repositoryNamed(name);
    const commit = await prepareManifest(
      db(),
      writableCores(env),
      new R2BlobStore(env.BLOBS),
      name,
      { kind: "tag", tag: "v1" },
      bytesOf(await ociManifestOver(config, [layer])),
      OCI_MANIFEST,
      await subjectNamed(ns),
      { maxTagExpirationSeconds: 3600 },
      fixtureEvents(),
    );
    // Not refused as a new repository's manifest naming blobs (MANIFEST_BLOB_UNKNOWN), nor a second repository.
    expect(commit).toMatchObject({ repositoryId: repository.id, firstPush: true });
    expect(await db().select().from(repositories).where(eq(repositories.name, name)).all()).toHaveLength(1);
  });

  it("prepares the manifest of a repository created through the API, whose shadow did not exist yet", async () => {
    const { name: ns, shard } = placed.one;
    const res = await api("POST", "/repository", {
      token: await oauthToken(ns),
      body: { namespace: ns, repository: "fromapi", visibility: "private", description: "" },
    });
    expect(res.status).toBe(201);
    const repository = await repositoryNamed(`${ns}/fromapi`);
    expect(
      await shardDb(shard).select().from(repositories).where(eq(repositories.id, repository.id)).get(),
    ).toBeUndefined();
    // An artifact over the empty config: the one manifest that may also create its repository.
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example",
      config: { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: 2 },
      layers: [{ mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: 2 }],
    });
    const commit = await prepareManifest(
      db(),
      writableCores(env),
      new R2BlobStore(env.BLOBS),
      repository.name,
      { kind: "tag", tag: "v1" },
      bytesOf(manifest),
      OCI_MANIFEST,
      await subjectNamed(ns),
      { maxTagExpirationSeconds: 3600 },
      fixtureEvents(),
    );
    expect(commit.repositoryId).toBe(repository.id);
    expect(commit.firstPush).toBe(false);
    expect(await coreRows(shardDb(shard), repository.id, [EMPTY_DIGEST])).toEqual({
      blobs: [EMPTY_DIGEST],
      links: [EMPTY_DIGEST],
    });
    expect((await coreRows(db(), repository.id, [EMPTY_DIGEST])).links).toEqual([]);
  });
});

describe("mounting a blob from another namespace's repository", () => {
  it("copies the blob's row into the target's shard with the link; the source's stays where it is", async () => {
    const source = `${placed.one.name}/src`;
    const digest = await pushBlob(source, `mounted ${crypto.randomUUID()}`);
    const sourceRow = (await shardDb(placed.one.shard).select().from(blobs).where(eq(blobs.digest, digest)).get())!;

    const target = `${placed.two.name}/dst`;
    const res = await request("POST", `/v2/${target}/blobs/uploads/?mount=${digest}&from=${source}`);
    expect(res.status).toBe(201);
    const targetRepository = await repositoryNamed(target);
    const copied = await shardDb(placed.two.shard).select().from(blobs).where(eq(blobs.digest, digest)).get();
    expect(copied).toMatchObject({ size: sourceRow.size, storageKey: sourceRow.storageKey });
    expect((await coreRows(shardDb(placed.two.shard), targetRepository.id, [digest])).links).toEqual([digest]);
    expect(await coreRows(db(), targetRepository.id, [digest])).toEqual({ blobs: [], links: [] });
    expect(await shardDb(placed.one.shard).select().from(blobs).where(eq(blobs.digest, digest)).get()).toEqual(
      sourceRow,
    );
    const pulled = await request("GET", `/v2/${target}/blobs/${digest}`);
    expect(await sha256(await bodyBytes(pulled))).toBe(digest);
  });

  it("mounts from a namespace whose core is in DB into one on a shard, and back", async () => {
    const inDb = "coreindb/src";
    const digest = await pushBlob(inDb, `from db ${crypto.randomUUID()}`);
    const onShard = `${placed.one.name}/fromdb`;
    expect((await request("POST", `/v2/${onShard}/blobs/uploads/?mount=${digest}&from=${inDb}`)).status).toBe(201);
    const target = await repositoryNamed(onShard);
    expect(await coreRows(shardDb(placed.one.shard), target.id, [digest])).toEqual({
      blobs: [digest],
      links: [digest],
    });

    const back = "coreindb/back";
    const shardDigest = await pushBlob(onShard, `from shard ${crypto.randomUUID()}`);
    expect((await request("POST", `/v2/${back}/blobs/uploads/?mount=${shardDigest}&from=${onShard}`)).status).toBe(201);
    const backRepository = await repositoryNamed(back);
    expect(await coreRows(db(), backRepository.id, [shardDigest])).toEqual({
      blobs: [shardDigest],
      links: [shardDigest],
    });
  });

  it("falls back to an upload session when the source's shard does not link the digest", async () => {
    const digest = await pushBlob("coreindb/only", `db only ${crypto.randomUUID()}`);
    // The source names a sharded repository that does not link it: the DB row is no proof.
    await pushBlob(`${placed.one.name}/nolink`, `other ${crypto.randomUUID()}`);
    const res = await request(
      "POST",
      `/v2/${placed.two.name}/dst2/blobs/uploads/?mount=${digest}&from=${placed.one.name}/nolink`,
    );
    expect(res.status).toBe(202);
  });
});

describe("quota on a namespace whose core is on a shard", () => {
  it("reads the rules from DB and the usage from the shard's shadow", async () => {
    const { name: ns, shard } = placed.one;
    const namespaceId = (await db().select().from(users).where(eq(users.username, ns)).get())!.id;
    const [quota] = await db()
      .insert(namespaceQuotas)
      .values({ namespaceId, limitBytes: 1_000 })
      .returning({ id: namespaceQuotas.id });
    await db().insert(quotaLimits).values({ quotaId: quota!.id, type: "Reject", thresholdPercent: 100 });
    const setUsage = (core: Db, bytes: number) =>
      core.update(users).set({ storageBytes: bytes }).where(eq(users.id, namespaceId));
    try {
      // DB's own count says full; the shard's says empty: the shard's counts.
      await setUsage(db(), 5_000);
      await setUsage(shardDb(shard), 0);
      expect((await request("POST", `/v2/${ns}/quota/blobs/uploads/`)).status).toBe(202);
      await setUsage(db(), 0);
      await setUsage(shardDb(shard), 1_000);
      const refused = await request("POST", `/v2/${ns}/quota/blobs/uploads/`);
      expect(refused.status).toBe(403);
      expect(await errorCode(refused)).toBe("DENIED");
    } finally {
      await setUsage(shardDb(shard), 0);
      await db().delete(namespaceQuotas).where(eq(namespaceQuotas.id, quota!.id));
    }
  });
});
