/**
 * Garbage collection of one repository (src/gc/repository-gc.ts) through its Durable Object: tag
 * rows leave with the namespace's time-machine window, manifests when nothing needs them (tags,
 * a parent index, a kept subject), blob links when unreferenced past the grace period; what a
 * push or a restore still needs stays.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../src/index";
import { database } from "../../../src/db/client";
import { manifestLabels, manifests, repositories, repositoryBlobs, tags, users } from "../../../src/db/schema";
import { TAG_ROWS_PER_PASS } from "../../../src/gc/repository-gc";
import { repositoryObject } from "../../../src/registry/repository-object";
import { unwrap } from "../../../src/errors/outcome";
import type { Digest } from "../../../src/registry/reference";
import {
  OCI_INDEX,
  OCI_MANIFEST,
  EMPTY_DIGEST,
  OCI_EMPTY,
  manifestDescriptor,
  pushBlob,
  pushImage,
  pushManifest,
  refusalOf,
  request,
  sha256,
} from "../helpers/registry";
import { systemOrigin } from "../../../src/events/envelope";
import { testOrigin } from "../helpers/events";

const db = () => database(env.DB);
const HOUR = 3_600_000;
/** wrangler.toml's PUSH_TEMP_TAG_EXPIRATION_SEC. */
const GRACE = HOUR;

let counter = 0;
/** A namespace (user row) with a time-machine window of `windowS` seconds, and a repository name in it. */
async function namespaceWithWindow(windowS: number): Promise<string> {
  const ns = `gcns${++counter}${crypto.randomUUID().slice(0, 6)}`;
  await db().insert(users).values({ username: ns, kind: "user", tagExpirationS: windowS });
  return ns;
}
const repoId = async (name: string) =>
  (await db().select({ id: repositories.id }).from(repositories).where(eq(repositories.name, name)).get())!.id;
const refOf = async (name: string) => ({ id: await repoId(name), name });
const stub = (name: string) => repositoryObject(env, name);

/** Runs the repository's collection at `nowMs` until it reports nothing more; returns the sums. */
async function collect(name: string, nowMs: number) {
  const id = await repoId(name);
  const total = { tagRowsDeleted: 0, manifestsDeleted: 0, blobLinksDeleted: 0, passes: 0 };
  for (;;) {
    const pass = await stub(name).collectGarbage(id, nowMs, name);
    total.tagRowsDeleted += pass.tagRowsDeleted;
    total.manifestsDeleted += pass.manifestsDeleted;
    total.blobLinksDeleted += pass.blobLinksDeleted;
    total.passes++;
    if (!pass.more) return total;
  }
}
const manifestDigests = async (name: string) =>
  (
    await db()
      .select({ digest: manifests.digest })
      .from(manifests)
      .where(eq(manifests.repositoryId, await repoId(name)))
      .all()
  )
    .map((r) => r.digest)
    .sort();
const tagRows = async (name: string) =>
  db()
    .select()
    .from(tags)
    .where(eq(tags.repositoryId, await repoId(name)))
    .all();
const pullStatus = async (name: string, reference: string) =>
  (await request("GET", `/v2/${name}/manifests/${reference}`, { headers: { Accept: `${OCI_MANIFEST}, ${OCI_INDEX}` } }))
    .status;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("tag rows and the time machine", () => {
  it("keeps a dead tag restorable inside the window and removes it, and its manifest, after", async () => {
    const name = `${await namespaceWithWindow(3600)}/app`;
    const first = await pushImage(name, "latest");
    const second = await pushImage(name, "latest");
    const now = Date.now();

    // Inside the one-hour window: the ended row and its manifest stay, and restore works.
    expect(await collect(name, now + HOUR / 2)).toMatchObject({ tagRowsDeleted: 0, manifestsDeleted: 0 });
    unwrap(await stub(name).restoreTag(await refOf(name), "latest", first.digest as Digest, testOrigin));
    expect(await pullStatus(name, first.digest)).toBe(200);
    unwrap(
      await stub(name).putTag(await refOf(name), "latest", { manifestDigest: second.digest as Digest }, testOrigin),
    );

    // Past the window: both ended rows of `first` go, then `first` itself; `second` stays alive.
    const late = Date.now() + 2 * HOUR;
    const result = await collect(name, late);
    expect(result.tagRowsDeleted).toBe(3);
    expect(result.manifestsDeleted).toBe(1);
    expect(await manifestDigests(name)).toEqual([second.digest]);
    const restore = await stub(name).restoreTag(await refOf(name), "latest", first.digest as Digest, testOrigin);
    expect(refusalOf(restore).api).toMatchObject({ status: 404 });
    expect(await pullStatus(name, "latest")).toBe(200);
    expect(await pullStatus(name, first.digest)).toBe(404);
    // The alive row is the only one left.
    expect((await tagRows(name)).map((r) => [r.name, r.lifetimeEndMs])).toEqual([["latest", null]]);
  });

  it("with a zero window removes a deleted tag at once, but never an alive one or one that expires later", async () => {
    const name = `${await namespaceWithWindow(0)}/zero`;
    const gone = await pushImage(name, "gone");
    const kept = await pushImage(name, "kept");
    const expiring = await pushImage(name, "expiring");
    const id = await repoId(name);
    unwrap(await stub(name).deleteTag({ id, name }, "gone", testOrigin));
    unwrap(await stub(name).putTag({ id, name }, "expiring", { expirationMs: Date.now() + HOUR }, testOrigin));

    const result = await collect(name, Date.now());
    expect(result).toMatchObject({ tagRowsDeleted: 1, manifestsDeleted: 1 });
    expect(await manifestDigests(name)).toEqual([kept.digest, expiring.digest].sort());
    expect(gone.digest).not.toBe(kept.digest);

    // Once its expiration has passed, the expiring tag is dead and (window 0) collected too.
    const after = await collect(name, Date.now() + 2 * HOUR);
    expect(after).toMatchObject({ tagRowsDeleted: 1, manifestsDeleted: 1 });
    expect(await manifestDigests(name)).toEqual([kept.digest]);
  });

  it("stops at its bound and reports more, then finishes on the next pass", async () => {
    const name = `${await namespaceWithWindow(0)}/many`;
    const image = await pushImage(name, "v1");
    const id = await repoId(name);
    const manifestId = (await db()
      .select({ id: manifests.id })
      .from(manifests)
      .where(eq(manifests.digest, image.digest))
      .get())!.id;
    // TAG_ROWS_PER_PASS + 5 long-dead rows of another tag name.
    await db().run(sql`
      with recursive n(i) as (select 1 union all select i + 1 from n where i < ${TAG_ROWS_PER_PASS + 5})
      insert into tags (repository_id, name, manifest_id, lifetime_start_ms, lifetime_end_ms)
      select ${id}, 'old', ${manifestId}, i, i + 1 from n`);
    const first = await stub(name).collectGarbage(id, Date.now(), name);
    expect(first).toMatchObject({ tagRowsDeleted: TAG_ROWS_PER_PASS, more: true });
    const second = await stub(name).collectGarbage(id, Date.now(), name);
    expect(second).toMatchObject({ tagRowsDeleted: 5, more: false, manifestsDeleted: 0 });
    expect(await pullStatus(name, "v1")).toBe(200);
  });
});

describe("manifests a push or another manifest still needs", () => {
  it("keeps a manifest pushed by digest for the grace period (Quay's temporary tag), then collects it", async () => {
    const name = `${await namespaceWithWindow(0)}/bydigest`;
    const image = await pushImage(name, "placeholder");
    unwrap(await stub(name).deleteTag(await refOf(name), "placeholder", testOrigin));
    // The same manifest pushed again by digest now has only its hidden temporary row.
    const again = await pushManifest(name, image.digest, image.manifest, OCI_MANIFEST);
    expect(again).toBe(image.digest);

    expect(await collect(name, Date.now() + GRACE / 2)).toMatchObject({ manifestsDeleted: 0 });
    expect(await pullStatus(name, image.digest)).toBe(200);
    expect(await collect(name, Date.now() + GRACE + 60_000)).toMatchObject({ tagRowsDeleted: 1, manifestsDeleted: 1 });
    expect(await pullStatus(name, image.digest)).toBe(404);
  });

  it("keeps an index's children while the index is tagged, and collects them with it", async () => {
    const name = `${await namespaceWithWindow(0)}/multi`;
    const children = [];
    for (const arch of ["amd64", "arm64"]) {
      const image = await pushImage(name, `tmp-${arch}`);
      unwrap(await stub(name).deleteTag(await refOf(name), `tmp-${arch}`, testOrigin));
      children.push(
        await manifestDescriptor(image.manifest, OCI_MANIFEST, { platform: { architecture: arch, os: "linux" } }),
      );
    }
    const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children });
    const indexDigest = await pushManifest(name, "latest", index, OCI_INDEX);

    // Their own tags are dead (window 0) and the grace period is over: the index alone keeps them.
    const kept = await collect(name, Date.now() + 2 * GRACE);
    expect(kept.manifestsDeleted).toBe(0);
    for (const child of children) expect(await pullStatus(name, child.digest)).toBe(200);

    unwrap(await stub(name).deleteTag(await refOf(name), "latest", testOrigin));
    const gone = await collect(name, Date.now() + 2 * GRACE);
    expect(gone.manifestsDeleted).toBe(3);
    expect(await manifestDigests(name)).toEqual([]);
    expect(await pullStatus(name, indexDigest)).toBe(404);
  });

  it("keeps a referrer while its subject is kept, and collects it after the subject", async () => {
    const name = `${await namespaceWithWindow(0)}/signed`;
    const subject = await pushImage(name, "v1");
    const subjectDescriptor = await manifestDescriptor(subject.manifest, OCI_MANIFEST);
    await pushBlob(name, "{}");
    const signature = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.signature",
      config: { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: 2 },
      layers: [{ mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: 2 }],
      subject: subjectDescriptor,
    });
    const signatureDigest = await pushManifest(name, await sha256(signature), signature, OCI_MANIFEST);

    expect(await collect(name, Date.now() + 2 * GRACE)).toMatchObject({ manifestsDeleted: 0 });
    const referrers = await request("GET", `/v2/${name}/referrers/${subject.digest}`);
    expect(((await referrers.json()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest)).toEqual([
      signatureDigest,
    ]);

    unwrap(await stub(name).deleteTag(await refOf(name), "v1", testOrigin));
    expect(await collect(name, Date.now() + 2 * GRACE)).toMatchObject({ manifestsDeleted: 2 });
    expect(await manifestDigests(name)).toEqual([]);
  });

  it("removes a manifest's labels and references with it", async () => {
    const name = `${await namespaceWithWindow(0)}/labelled`;
    const image = await pushImage(name, "v1");
    const manifestId = (await db()
      .select({ id: manifests.id })
      .from(manifests)
      .where(eq(manifests.digest, image.digest))
      .get())!.id;
    await db()
      .insert(manifestLabels)
      .values({ id: crypto.randomUUID(), manifestId, key: "team", value: "gc", sourceType: "api" });
    unwrap(await stub(name).deleteTag(await refOf(name), "v1", testOrigin));
    expect(await collect(name, Date.now())).toMatchObject({ manifestsDeleted: 1 });
    expect(await db().select().from(manifestLabels).where(eq(manifestLabels.manifestId, manifestId)).all()).toEqual([]);
    const refs = await db().all(sql`select * from manifest_references where manifest_id = ${manifestId}`);
    expect(refs).toEqual([]);
  });

  it("keeps a manifest deleted by digest while its tag rows are in the window", async () => {
    const name = `${await namespaceWithWindow(3600)}/deleted`;
    const image = await pushImage(name, "v1");
    expect((await request("DELETE", `/v2/${name}/manifests/${image.digest}`)).status).toBe(202);
    expect(await collect(name, Date.now() + HOUR / 2)).toMatchObject({ manifestsDeleted: 0 });
    unwrap(await stub(name).restoreTag(await refOf(name), "v1", image.digest as Digest, testOrigin));
    expect(await pullStatus(name, "v1")).toBe(200);
  });
});

describe("blob links", () => {
  it("drops links nothing in the repository references once past the grace period, and keeps the rest", async () => {
    const name = `${await namespaceWithWindow(0)}/links`;
    const image = await pushImage(name, "v1");
    const loose = await pushBlob(name, `uploaded and never used ${crypto.randomUUID()}`);
    const linked = async () =>
      (
        await db()
          .select({ digest: repositoryBlobs.digest })
          .from(repositoryBlobs)
          .where(eq(repositoryBlobs.repositoryId, await repoId(name)))
          .all()
      )
        .map((r) => r.digest)
        .sort();

    expect(await collect(name, Date.now() + GRACE / 2)).toMatchObject({ blobLinksDeleted: 0 });
    expect(await linked()).toContain(loose);
    expect(await collect(name, Date.now() + GRACE + 60_000)).toMatchObject({ blobLinksDeleted: 1 });
    expect(await linked()).toEqual([image.config, ...image.layers].sort());
    expect((await request("HEAD", `/v2/${name}/blobs/${loose}`)).status).toBe(404);
  });
});

describe("what collection leaves alone", () => {
  it("does nothing to a deleted repository or under a name the repository no longer bears", async () => {
    const name = `${await namespaceWithWindow(0)}/tomb`;
    await pushImage(name, "v1");
    const id = await repoId(name);
    unwrap(await stub(name).deleteTag({ id, name }, "v1", testOrigin));
    expect(await stub(name).collectGarbage(id, Date.now(), "someone/else")).toMatchObject({
      tagRowsDeleted: 0,
      manifestsDeleted: 0,
    });
    expect(await stub(name).deleteRepository({ id, name }, systemOrigin("gc"))).toBe(true);
    expect(await stub(name).collectGarbage(id, Date.now(), name)).toMatchObject({
      tagRowsDeleted: 0,
      manifestsDeleted: 0,
    });
    expect(await db().select().from(tags).where(eq(tags.repositoryId, id)).all()).toHaveLength(1);
  });
});

describe("gc_repository messages", () => {
  it("are collected by the queue consumer through the repository's Durable Object, and queued again while more is left", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const name = `${await namespaceWithWindow(0)}/queued`;
    const image = await pushImage(name, "v1");
    const id = await repoId(name);
    unwrap(await stub(name).deleteTag({ id, name }, "v1", testOrigin));
    const manifestId = (await db()
      .select({ id: manifests.id })
      .from(manifests)
      .where(and(eq(manifests.digest, image.digest), eq(manifests.repositoryId, id)))
      .get())!.id;
    await db().run(sql`
      with recursive n(i) as (select 1 union all select i + 1 from n where i < ${TAG_ROWS_PER_PASS + 1})
      insert into tags (repository_id, name, manifest_id, lifetime_start_ms, lifetime_end_ms)
      select ${id}, 'old', ${manifestId}, i, i + 1 from n`);
    const sent: unknown[] = [];
    const spiedEnv = {
      ...env,
      EVENTS: { ...env.EVENTS, send: async (body: unknown) => void sent.push(body) },
    } as unknown as Env;
    const consume = async () => {
      const batch = createMessageBatch("wharf-events", [
        { id: "gc-1", timestamp: new Date(), attempts: 1, body: { type: "gc_repository", repositoryId: id, name } },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, spiedEnv, ctx);
      return getQueueResult(batch, ctx);
    };
    const first = await consume();
    expect(first.explicitAcks).toEqual(["gc-1"]);
    expect(sent).toEqual([{ type: "gc_repository", repositoryId: id, name }]);
    const second = await consume();
    expect(second.explicitAcks).toEqual(["gc-1"]);
    expect(sent).toHaveLength(1);
    expect(await manifestDigests(name)).toEqual([]);
  });
});
