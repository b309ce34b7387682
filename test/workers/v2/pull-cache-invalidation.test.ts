/**
 * What stops a cached pull fact (src/registry/pull-cache.ts says why each bound holds): a revoked
 * grant, a repository made private, a deleted repository, manifest or blob link, a collected blob.
 * Each stops at once in the isolate that made the change and within FACT_TTL elsewhere (simulated
 * by changing D1 and R2 behind the Worker's back); an R2 miss answers BLOB_UNKNOWN, never a 500.
 */
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { allShardDbs } from "../../../src/db/shards";
import { blobs, manifests, repositories } from "../../../src/db/schema";
import { collectBlobs } from "../../../src/gc/blobs";
import { graceMs } from "../../../src/gc/grace";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { api, initializeAdmin } from "../helpers/api";
import { basic } from "../helpers/accounts";
import { advanceClock } from "../helpers/clock";
import { observedEnv } from "../helpers/observed-env";
import { FACT_TTL, accept, authToken, call, image as imageIn, tokenFor } from "../helpers/pull-cache";
import { pushBlob, randomBytes, request } from "../helpers/registry";

const db = () => database(env.DB);
const image = () => imageIn("admin");
let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
});

describe("what stops a cached fact", () => {
  it("a revoked grant: a token minted after it has no pull, warm facts or not", async () => {
    const { name, manifest } = await image();
    const rita = await api("POST", "/superuser/users", {
      token: admin,
      body: { username: "rita", email: "rita@example.com" },
    });
    const user = "rita";
    const creds = basic(user, rita.json.password);
    expect(
      (await api("PUT", `/repository/${name}/permissions/user/${user}`, { token: admin, body: { role: "read" } }))
        .status,
    ).toBe(200);
    const observed = observedEnv();
    const before = await authToken(`repository:${name}:pull`, creds);
    expect((await call(observed, "GET", `/v2/${name}/manifests/${manifest}`, before, accept)).status).toBe(200);

    expect((await api("DELETE", `/repository/${name}/permissions/user/${user}`, { token: admin })).status).toBe(204);
    const after = await authToken(`repository:${name}:pull`, creds);
    expect((await call(observed, "GET", `/v2/${name}/manifests/${manifest}`, after, accept)).status).toBe(401);
    // The token minted before lives its 300 s as it always did (pulls trust its claim); then it is refused.
    advanceClock(306_000);
    expect((await call(observed, "GET", `/v2/${name}/manifests/${manifest}`, before, accept)).status).toBe(401);
  });

  it("a repository made private: an anonymous token minted after it has no pull", async () => {
    const { name, manifest, layer } = await image();
    expect(
      (await api("POST", `/repository/${name}/changevisibility`, { token: admin, body: { visibility: "public" } }))
        .status,
    ).toBe(200);
    const observed = observedEnv();
    const anonymous = await authToken(`repository:${name}:pull`);
    expect((await call(observed, "GET", `/v2/${name}/manifests/${manifest}`, anonymous, accept)).status).toBe(200);
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, anonymous)).status).toBe(200);

    expect(
      (await api("POST", `/repository/${name}/changevisibility`, { token: admin, body: { visibility: "private" } }))
        .status,
    ).toBe(200);
    const after = await authToken(`repository:${name}:pull`);
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, after)).status).toBe(401);
    // This isolate forgot the repository's facts: the old token's next pull asks D1 again.
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, anonymous)).d1).toHaveLength(1);
  });

  it("a deleted repository: at once in this isolate, within FACT_TTL elsewhere", async () => {
    const here = await image();
    const observed = observedEnv();
    const token = await tokenFor(here.name);
    expect((await call(observed, "GET", `/v2/${here.name}/manifests/${here.manifest}`, token, accept)).status).toBe(
      200,
    );
    expect((await call(observed, "HEAD", `/v2/${here.name}/blobs/${here.layer}`, token)).status).toBe(200);
    expect((await api("DELETE", `/repository/${here.name}`, { token: admin })).status).toBe(204);
    expect((await call(observed, "GET", `/v2/${here.name}/manifests/${here.manifest}`, token, accept)).status).toBe(
      404,
    );
    expect((await call(observed, "HEAD", `/v2/${here.name}/blobs/${here.layer}`, token)).status).toBe(404);

    // Deleted by another isolate: the row is renamed to its tombstone behind this one's back.
    const there = await image();
    const other = await tokenFor(there.name);
    expect((await call(observed, "GET", `/v2/${there.name}/manifests/${there.manifest}`, other, accept)).status).toBe(
      200,
    );
    expect((await call(observed, "HEAD", `/v2/${there.name}/blobs/${there.layer}`, other)).status).toBe(200);
    await db()
      .update(repositories)
      .set({ name: sql`'~deleted/' || ${repositories.id}`, namespace: "~deleted" })
      .where(eq(repositories.name, there.name));
    expect((await call(observed, "HEAD", `/v2/${there.name}/blobs/${there.layer}`, other)).status).toBe(200);
    advanceClock(FACT_TTL);
    expect((await call(observed, "HEAD", `/v2/${there.name}/blobs/${there.layer}`, other)).status).toBe(404);
    expect((await call(observed, "GET", `/v2/${there.name}/manifests/${there.manifest}`, other, accept)).status).toBe(
      404,
    );
  });

  it("a deleted manifest or blob link: at once in this isolate, within FACT_TTL elsewhere", async () => {
    const here = await image();
    const observed = observedEnv();
    const token = await tokenFor(here.name);
    const path = `/v2/${here.name}/manifests/${here.manifest}`;
    expect((await call(observed, "HEAD", path, token, accept)).status).toBe(200);
    expect((await request("DELETE", path)).status).toBe(202);
    const gone = await call(observed, "HEAD", path, token, accept);
    expect([gone.status, gone.d1.length > 0]).toEqual([404, true]);
    // So does a blob link deleted here (allowed once no live manifest needs the blob).
    const blobPath = `/v2/${here.name}/blobs/${here.layer}`;
    expect((await call(observed, "HEAD", blobPath, token)).status).toBe(200);
    expect((await call(observed, "HEAD", blobPath, token)).d1).toEqual([]);
    expect((await request("DELETE", blobPath)).status).toBe(202);
    const unlinked = await call(observed, "HEAD", blobPath, token);
    // Asked of D1 (a replica, then the primary on its miss: src/middleware/db-session.ts).
    expect([unlinked.status, unlinked.d1.length]).toEqual([404, 2]);

    const there = await image();
    const other = await tokenFor(there.name);
    const otherPath = `/v2/${there.name}/manifests/${there.manifest}`;
    expect((await call(observed, "GET", otherPath, other, accept)).status).toBe(200);
    await db().update(manifests).set({ deletedAt: Date.now() }).where(eq(manifests.digest, there.manifest));
    expect((await call(observed, "GET", otherPath, other, accept)).status).toBe(200);
    advanceClock(FACT_TTL);
    const later = await call(observed, "GET", otherPath, other, accept);
    expect([later.status, later.code]).toEqual([404, "MANIFEST_UNKNOWN"]);
  });

  it("a collected blob: at once where GC ran; elsewhere a GET finds no bytes, drops the fact and answers BLOB_UNKNOWN", async () => {
    const grace = graceMs(env);
    const name = `admin/gc-${crypto.randomUUID().slice(0, 6)}`;
    const here = await pushBlob(name, randomBytes(3000));
    const there = await pushBlob(name, randomBytes(3000));
    // Unreferenced and last used two grace periods ago: collectable.
    await db()
      .update(blobs)
      .set({ createdAt: Date.now() - 2 * grace, lastUsedAt: 0 })
      .where(sql`${blobs.digest} in (${here}, ${there})`);
    const observed = observedEnv();
    const token = await tokenFor(name);
    for (const digest of [here, there]) {
      expect((await call(observed, "GET", `/v2/${name}/blobs/${digest}`, token)).status).toBe(200);
      expect((await call(observed, "HEAD", `/v2/${name}/blobs/${digest}`, token)).d1).toEqual([]);
    }

    // "there" goes behind this isolate's back (another isolate's GC): its row, link and bytes.
    const row = await db().select().from(blobs).where(eq(blobs.digest, there)).get();
    await db().run(sql`delete from repository_blobs where digest = ${there}`);
    await db().delete(blobs).where(eq(blobs.digest, there));
    await env.BLOBS.delete(row!.storageKey);
    // The fact still answers a HEAD (documented: at most FACT_TTL); the GET finds no bytes.
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${there}`, token)).status).toBe(200);
    const get = await call(observed, "GET", `/v2/${name}/blobs/${there}`, token);
    expect([get.status, get.code]).toEqual([404, "BLOB_UNKNOWN"]);
    // The re-ask, then the primary's answer to a replica's miss (src/middleware/db-session.ts).
    expect(get.d1).toHaveLength(2);
    const head = await call(observed, "HEAD", `/v2/${name}/blobs/${there}`, token);
    expect([head.status, head.d1.length]).toEqual([404, 2]);

    // "here" goes through this isolate's GC pass: forgotten at once.
    for (;;)
      if ((await collectBlobs(db(), allShardDbs(env), new R2BlobStore(env.BLOBS), Date.now(), grace)).wrapped) break;
    const collected = await call(observed, "HEAD", `/v2/${name}/blobs/${here}`, token);
    expect([collected.status, collected.d1.length]).toEqual([404, 2]);
  });

  it("a fact whose bytes moved (collected, then pushed again under a new key) serves the new bytes", async () => {
    const name = `admin/moved-${crypto.randomUUID().slice(0, 6)}`;
    const bytes = randomBytes(2048);
    const digest = await pushBlob(name, bytes);
    const observed = observedEnv();
    const token = await tokenFor(name);
    expect((await call(observed, "GET", `/v2/${name}/blobs/${digest}`, token)).status).toBe(200);
    const row = await db().select().from(blobs).where(eq(blobs.digest, digest)).get();
    const moved = `${row!.storageKey}-moved`;
    await env.BLOBS.put(moved, bytes);
    await env.BLOBS.delete(row!.storageKey);
    await db().update(blobs).set({ storageKey: moved }).where(eq(blobs.digest, digest));
    const get = await call(observed, "GET", `/v2/${name}/blobs/${digest}`, token);
    expect(get.status).toBe(200);
    expect(get.d1).toHaveLength(1);
    expect(get.body).toEqual(bytes);
  });
});
