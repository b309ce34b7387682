/**
 * Upstream content into Wharf (src/upstream/ingest.ts), what the proxy cache and mirroring share:
 * blobs streamed from a (fake) upstream into R2 through the push's own verified path and linked,
 * manifests committed through the repository's Durable Object as a /v2 PUT commits, with the
 * proxy cache's exception (references pending) and a mirror's sync into a MIRROR repository.
 */
import { env } from "cloudflare:workers";
import { and, eq, isNull } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { database } from "../../../src/db/client";
import { blobs, repositories, repositoryBlobs, tags } from "../../../src/db/schema";
import { DomainError } from "../../../src/errors/domain";
import type { Digest } from "../../../src/lib/digest";
import { lookupManifest } from "../../../src/registry/manifests";
import { putWholeBlob } from "../../../src/registry/uploads";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { clearUpstreamCaches, upstreamRegistry } from "../../../src/upstream/client";
import { commitUpstreamManifest, type IngestScope, ingestBlob, ingestRepository } from "../../../src/upstream/ingest";
import { UpstreamError } from "../../../src/upstream/registry";
import { recordEvents, testEvents } from "../helpers/events";
import { FakeUpstream, sha256 } from "../helpers/fake-upstream";
import { subjectNamed } from "../helpers/registry";

const db = database(env.DB);
const store = new R2BlobStore(env.BLOBS);
const CONFIG = { host: "upstream.example", insecure: false };
let counter = 0;

async function scopeAs(username: string): Promise<IngestScope> {
  const subject = await subjectNamed(username);
  const id = subject.kind === "user" ? subject.id : 0;
  return { env, db, store, events: testEvents({ actor: { kind: "user", name: username, id }, ip: null }) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a refusal"),
    (e: unknown) => e,
  );
}

const bodyOf = (text: string) => new Response(text).body!;

beforeEach(() => clearUpstreamCaches());
afterEach(() => vi.restoreAllMocks());

describe("ingestBlob", () => {
  it("streams an upstream blob into R2 under its content key, records it and links it to the repository", async () => {
    const upstream = new FakeUpstream({ anonymousPull: true, blobStorageOrigin: "https://storage.example" }).install();
    const layer = "layer bytes ".repeat(5000);
    const digest = (await upstream.putBlob(layer)) as Digest;
    const scope = await scopeAs("ingester");
    const repository = await ingestRepository(scope, `ingester/app${++counter}`, { kind: "system" });
    const blob = await upstreamRegistry(env, CONFIG).getBlob("some/app", digest);
    const info = await ingestBlob(scope, repository, digest, blob!, layer.length);
    expect(info).toMatchObject({ digest, size: layer.length });
    expect(await (await env.BLOBS.get(info.storageKey))!.text()).toBe(layer);
    const link = await db.select().from(repositoryBlobs).where(eq(repositoryBlobs.repositoryId, repository.id)).all();
    expect(link.map((l) => l.digest)).toEqual([digest]);

    // Known content is linked to another repository without a second object, once the upstream's
    // bytes hash to its digest (a digest is no proof of possession: test/workers/security/
    // issue16-blob-possession.test.ts).
    const other = await ingestRepository(scope, `ingester/app${++counter}`, { kind: "system" });
    const objects = (await env.BLOBS.list()).objects.length;
    expect((await ingestBlob(scope, other, digest, { size: layer.length, body: bodyOf(layer) })).storageKey).toBe(
      info.storageKey,
    );
    expect((await env.BLOBS.list()).objects.length).toBe(objects);
    expect(
      await db.select().from(repositoryBlobs).where(eq(repositoryBlobs.repositoryId, other.id)).all(),
    ).toHaveLength(1);
  });

  it("hands a guarded upstream stream to an upload session when one put will not do (beyond 5 GiB)", async () => {
    // The session path of putWholeBlob, taken here with an unknown length: the byte stream the
    // guard makes crosses RPC into the UploadSessionDO and is cut into 8 MiB multipart parts.
    const upstream = new FakeUpstream({ auth: "none" }).install();
    const bytes = new Uint8Array(9 * 1024 * 1024).map((_, i) => i % 251);
    const digest = (await upstream.putBlob(bytes)) as Digest;
    const scope = await scopeAs("ingester");
    const repository = await ingestRepository(scope, `ingester/app${++counter}`, { kind: "system" });
    const blob = await upstreamRegistry(env, CONFIG).getBlob("some/app", digest);
    const info = await putWholeBlob(env, { shard: 0, db }, store, repository, digest, blob!.body, null);
    expect(info).toMatchObject({ digest, size: bytes.length });
    const stored = new Uint8Array(await (await env.BLOBS.get(info.storageKey))!.arrayBuffer());
    expect(await sha256(stored)).toBe(digest);
  });

  it("refuses bytes that are not the digest or the size announced, recording nothing", async () => {
    const scope = await scopeAs("ingester");
    const repository = await ingestRepository(scope, `ingester/app${++counter}`, { kind: "system" });
    const claimed = (await sha256(new TextEncoder().encode(`claimed ${counter}`))) as Digest;
    const wrong = await rejection(ingestBlob(scope, repository, claimed, { size: 5, body: bodyOf("other") }));
    expect(wrong).toBeInstanceOf(UpstreamError);
    expect((wrong as UpstreamError).kind).toBe("protocol");
    const short = await rejection(ingestBlob(scope, repository, claimed, { size: 50, body: bodyOf("other") }));
    expect((short as UpstreamError).kind).toBe("protocol");
    const announced = await rejection(ingestBlob(scope, repository, claimed, { size: 5, body: bodyOf("other") }, 6));
    expect((announced as UpstreamError).kind).toBe("protocol");
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(3));
        controller.error(new Error("connection reset"));
      },
    });
    const cut = await rejection(ingestBlob(scope, repository, claimed, { size: 5, body: broken }));
    expect((cut as UpstreamError).kind).toBe("unreachable");
    expect(await db.select().from(blobs).where(eq(blobs.digest, claimed)).all()).toEqual([]);
    expect(
      await db.select().from(repositoryBlobs).where(eq(repositoryBlobs.repositoryId, repository.id)).all(),
    ).toEqual([]);
  });
});

describe("commitUpstreamManifest", () => {
  /** An image at the fake upstream, its blobs ingested into a new repository of `namespace`. */
  async function ingestedImage(scope: IngestScope, name: string, withBlobs = true) {
    const upstream = new FakeUpstream({ auth: "none" }).install();
    const image = await upstream.putImage("library/app", "v1", `layer ${name}`);
    const registry = upstreamRegistry(env, CONFIG);
    const repository = await ingestRepository(scope, name, { kind: "system" });
    if (withBlobs)
      for (const digest of [image.config, image.layer] as Digest[])
        await ingestBlob(scope, repository, digest, (await registry.getBlob("library/app", digest))!);
    const manifest = (await registry.getManifest("library/app", "v1"))!;
    return { repository, manifest, image };
  }

  it("commits as a /v2 PUT does: the tag resolves, one push_repo by the scope's actor", async () => {
    const scope = await scopeAs("mirrorbot");
    const name = `ingester/app${++counter}`;
    const { repository, manifest } = await ingestedImage(scope, name);
    const events = recordEvents();
    const result = await commitUpstreamManifest(scope, { repository: name, tag: "v1", manifest });
    expect(result).toEqual({ digest: manifest.digest, tagMoved: true });
    const found = await lookupManifest(db, { id: repository.id }, { kind: "tag", tag: "v1" });
    expect(found?.digest).toBe(manifest.digest);
    const pushes = await events.published("push_repo");
    expect(pushes).toHaveLength(1);
    expect(pushes[0]).toMatchObject({
      repository: { id: repository.id, name },
      actor: { kind: "user", name: "mirrorbot" },
      data: { digest: manifest.digest, tag: "v1" },
    });
    // The same manifest again moves nothing, as a repeated push.
    expect((await commitUpstreamManifest(scope, { repository: name, tag: "v1", manifest })).tagMoved).toBe(false);
  });

  it("refuses a manifest whose blobs are missing, unless the proxy cache's exception is asked for", async () => {
    const scope = await scopeAs("ingester");
    const name = `proxyorg/app${++counter}`;
    const { repository, manifest } = await ingestedImage(scope, name, false);
    const refused = await rejection(commitUpstreamManifest(scope, { repository: name, tag: "v1", manifest }));
    expect(refused).toBeInstanceOf(DomainError);
    expect((refused as DomainError).subject).toBe("manifest_reference");
    const until = Date.now() + 3_600_000;
    const result = await commitUpstreamManifest(scope, {
      repository: name,
      tag: "v1",
      manifest,
      referencesPending: true,
      tagExpiresAtMs: until,
    });
    expect(result.digest).toBe(manifest.digest);
    const tag = await db
      .select()
      .from(tags)
      .where(and(eq(tags.repositoryId, repository.id), eq(tags.name, "v1")))
      .get();
    expect(tag?.lifetimeEndMs).toBe(until);
  });

  it("creates the repository where asked, and commits into a MIRROR repository only for a mirror's sync", async () => {
    const scope = await scopeAs("ingester");
    const name = `ingester/created${++counter}`;
    const upstream = new FakeUpstream({ auth: "none" }).install();
    // An artifact that references only the OCI empty config: committable into a new repository.
    const empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    const artifact = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.example+json",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: empty, size: 2 },
      layers: [],
    };
    await upstream.putManifest("art", "v1", artifact);
    const manifest = (await upstreamRegistry(env, CONFIG).getManifest("art", "v1"))!;
    const missing = await rejection(commitUpstreamManifest(scope, { repository: `${name}-x`, tag: "v1", manifest }));
    expect(missing).toBeInstanceOf(DomainError);
    await commitUpstreamManifest(scope, { repository: name, tag: "v1", manifest, createAs: { kind: "system" } });
    const row = await db.select().from(repositories).where(eq(repositories.name, name)).get();
    expect(row).toMatchObject({ visibility: "private", firstPushActivityAt: null });

    await db.update(repositories).set({ state: "MIRROR" }).where(eq(repositories.id, row!.id));
    const readOnly = await rejection(commitUpstreamManifest(scope, { repository: name, tag: "v2", manifest }));
    expect((readOnly as DomainError).kind).toBe("read_only");
    await commitUpstreamManifest(scope, { repository: name, tag: "v2", manifest, mirrorSync: true });
    const alive = await db
      .select({ name: tags.name })
      .from(tags)
      .where(and(eq(tags.repositoryId, row!.id), isNull(tags.lifetimeEndMs)))
      .all();
    expect(alive.map((t) => t.name).sort()).toEqual(["v1", "v2"]);
    await db.update(repositories).set({ state: "READ_ONLY" }).where(eq(repositories.id, row!.id));
    const stillRefused = await rejection(
      commitUpstreamManifest(scope, { repository: name, tag: "v3", manifest, mirrorSync: true }),
    );
    expect((stillRefused as DomainError).kind).toBe("read_only");
  });

  it("refuses bytes that are not the digest the upstream announced", async () => {
    const scope = await scopeAs("ingester");
    const name = `ingester/app${++counter}`;
    const { manifest } = await ingestedImage(scope, name);
    const other = (await sha256(new TextEncoder().encode("x"))) as Digest;
    const err = await rejection(
      commitUpstreamManifest(scope, { repository: name, tag: "v1", manifest: { ...manifest, digest: other } }),
    );
    expect((err as UpstreamError).kind).toBe("protocol");
    expect(await lookupManifest(db, { name }, { kind: "tag", tag: "v1" })).toBeUndefined();
  });
});
