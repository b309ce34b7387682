/**
 * Quota accounting and enforcement (src/quota/usage.ts, src/quota/enforcement.ts): usage exact at
 * every manifest commit, lowered by garbage collection; a namespace at or past its Reject limit
 * starts no upload, and a manifest that would take it past the limit is refused with Quay's
 * DENIED "Quota has been exceeded on namespace" (endpoints/v2/errors.py QuotaExceeded, 403),
 * leaving nothing written; crossings emit quota_warning / quota_error once.
 */
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { database } from "../../../src/db/client";
import {
  manifestReferences,
  manifests,
  namespaceQuotas,
  quotaLimits,
  repositories,
  tags,
  users,
} from "../../../src/db/schema";
import { recordBlob } from "../../../src/registry/blobs";
import type { Digest } from "../../../src/registry/reference";
import { unwrap } from "../../../src/errors/outcome";
import { recountNamespace } from "../../../src/gc/storage";
import { namespaceRoom } from "../../../src/quota/enforcement";
import { deleteRepository } from "../../../src/registry/repository-deletion";
import { repositoryObject } from "../../../src/registry/repository-object";
import { commitManifest } from "../../../src/registry/manifest-writes";
import { prepareManifest } from "../../../src/registry/manifests";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { fixtureEvents, recordEvents, testOrigin } from "../helpers/events";
import {
  BASE,
  OCI_CONFIG,
  OCI_LAYER,
  OCI_MANIFEST,
  bytesOf,
  pushBlob,
  randomBytes,
  registryToken,
  request,
  sha256,
  subjectNamed,
} from "../helpers/registry";
import { writableCores } from "../../../src/registry/core-db";

const db = () => database(env.DB);
const QUOTA_MESSAGE = "Quota has been exceeded on namespace";
const ON = { FEATURE_QUOTA_MANAGEMENT: true, DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 0 };

afterEach(() => {
  vi.restoreAllMocks();
});

async function namespace(): Promise<string> {
  const name = `qe${crypto.randomUUID().slice(0, 8)}`;
  await db().insert(users).values({ username: name, kind: "user", tagExpirationS: 0 });
  return name;
}

const usage = async (ns: string) => (await db().select().from(users).where(eq(users.username, ns)).get())!.storageBytes;

/** The recount's answer (src/gc/storage.ts), leaving the stored usage as it was. */
async function recounted(ns: string): Promise<number> {
  const before = await usage(ns);
  await recountNamespace(db(), ns);
  const exact = await usage(ns);
  await db().update(users).set({ storageBytes: before }).where(eq(users.username, ns));
  return exact;
}

/** Gives `ns` a quota of `limitBytes` with the limits given (type, percent); returns their ids. */
async function setQuota(ns: string, limitBytes: number, limits: [type: "Warning" | "Reject", percent: number][]) {
  const user = (await db().select().from(users).where(eq(users.username, ns)).get())!;
  const quota = (await db().insert(namespaceQuotas).values({ namespaceId: user.id, limitBytes }).returning().get())!;
  const ids: number[] = [];
  for (const [type, thresholdPercent] of limits) {
    const row = await db().insert(quotaLimits).values({ quotaId: quota.id, type, thresholdPercent }).returning().get();
    ids.push(row!.id);
  }
  return { quotaId: quota.id, limitIds: ids };
}

interface Image {
  manifest: string;
  /** Bytes of the config and layers, each once. */
  blobBytes: number;
  manifestBytes: number;
  layers: Uint8Array[];
}

/** Uploads a fresh config and `layers` to `name`, and builds (does not push) the manifest over them. */
async function uploadImage(name: string, layers: Uint8Array[]): Promise<Image> {
  const config = JSON.stringify({ os: "linux", id: crypto.randomUUID() });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: await pushBlob(name, config), size: bytesOf(config).byteLength },
    layers: await Promise.all(
      layers.map(async (layer) => ({
        mediaType: OCI_LAYER,
        digest: await pushBlob(name, layer),
        size: layer.byteLength,
      })),
    ),
  });
  return {
    manifest,
    blobBytes: bytesOf(config).byteLength + layers.reduce((sum, layer) => sum + layer.byteLength, 0),
    manifestBytes: bytesOf(manifest).byteLength,
    layers,
  };
}

const putManifest = (name: string, tag: string, manifest: string) =>
  request("PUT", `/v2/${name}/manifests/${tag}`, { body: manifest, headers: { "Content-Type": OCI_MANIFEST } });

async function expectQuotaRefusal(res: Response): Promise<void> {
  expect(res.status).toBe(403);
  const body = (await res.json()) as { errors: { code: string; message: string }[] };
  expect(body.errors[0]).toMatchObject({ code: "DENIED", message: QUOTA_MESSAGE });
}

/** A /v2 request through the app with environment variables changed (FEATURE_…, DEFAULT_…). */
async function requestWithVars(vars: Record<string, string>, method: string, path: string, init: RequestInit = {}) {
  const name = path.split("/blobs/")[0]!.replace("/v2/", "");
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], name.split("/")[0]);
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const targetEnv = { ...env, ...vars } as unknown as Env;
  return createApp().fetch(new Request(`${BASE}${path}`, { method, ...init, headers }), targetEnv, ctx);
}

describe("accounting", () => {
  it("charges each commit exactly what it brings; a blob shared by two repositories counts once", async () => {
    const ns = await namespace();
    const shared = randomBytes(3000);
    const one = await uploadImage(`${ns}/one`, [shared, randomBytes(100)]);
    expect((await putManifest(`${ns}/one`, "v1", one.manifest)).status).toBe(201);
    expect(await usage(ns)).toBe(one.blobBytes + one.manifestBytes);

    const two = await uploadImage(`${ns}/two`, [shared, randomBytes(200)]);
    expect((await putManifest(`${ns}/two`, "v1", two.manifest)).status).toBe(201);
    // The shared layer was charged once, with the first repository.
    expect(await usage(ns)).toBe(one.blobBytes + one.manifestBytes + two.blobBytes - 3000 + two.manifestBytes);
    expect(await usage(ns)).toBe(await recounted(ns));
    // Each repository counts it in its own figure.
    const repo = await db()
      .select()
      .from(repositories)
      .where(eq(repositories.name, `${ns}/two`))
      .get();
    expect(repo!.storageBytes).toBe(two.blobBytes + two.manifestBytes);
  });

  it("a tag of a manifest the namespace holds adds nothing", async () => {
    const ns = await namespace();
    const image = await uploadImage(`${ns}/app`, [randomBytes(500)]);
    expect((await putManifest(`${ns}/app`, "v1", image.manifest)).status).toBe(201);
    const after = await usage(ns);
    expect((await putManifest(`${ns}/app`, "v2", image.manifest)).status).toBe(201);
    expect(await usage(ns)).toBe(after);
  });

  it("falls only when garbage collection removes the namespace's last reference, not when a tag is deleted", async () => {
    const ns = await namespace();
    const shared = randomBytes(1000);
    const kept = await uploadImage(`${ns}/kept`, [shared]);
    expect((await putManifest(`${ns}/kept`, "v1", kept.manifest)).status).toBe(201);
    const name = `${ns}/dropped`;
    const dropped = await uploadImage(name, [shared, randomBytes(4000)]);
    expect((await putManifest(name, "v1", dropped.manifest)).status).toBe(201);
    const full = await usage(ns);

    const id = (await db().select().from(repositories).where(eq(repositories.name, name)).get())!.id;
    const stub = repositoryObject(env, name);
    unwrap(await stub.deleteTag({ id, name }, "v1", testOrigin));
    expect(await usage(ns)).toBe(full);

    await stub.collectGarbage(id, Date.now(), name);
    expect(await db().select().from(manifests).where(eq(manifests.repositoryId, id)).all()).toEqual([]);
    // Its own config and layer and its manifest go; the layer `kept` still references stays.
    expect(await usage(ns)).toBe(full - (dropped.blobBytes - 1000) - dropped.manifestBytes);
    expect(await usage(ns)).toBe(await recounted(ns));
  });
  it("a repository's deletion takes what only it held out of its namespace's usage", async () => {
    const ns = await namespace();
    const shared = randomBytes(700);
    const kept = await uploadImage(`${ns}/kept`, [shared]);
    expect((await putManifest(`${ns}/kept`, "v1", kept.manifest)).status).toBe(201);
    const gone = await uploadImage(`${ns}/gone`, [shared, randomBytes(900)]);
    expect((await putManifest(`${ns}/gone`, "v1", gone.manifest)).status).toBe(201);
    const repo = (await db()
      .select()
      .from(repositories)
      .where(eq(repositories.name, `${ns}/gone`))
      .get())!;
    expect(await deleteRepository(env, repo, testOrigin)).toBe(true);
    expect(await usage(ns)).toBe(kept.blobBytes + kept.manifestBytes);
  });
  it("equals the recount after every step of random pushes, tag deletes and collections over shared layers", async () => {
    const ns = await namespace();
    const names = [`${ns}/a`, `${ns}/b`, `${ns}/c`];
    const pool = [randomBytes(300), randomBytes(500), randomBytes(700), randomBytes(1100)];
    // A seeded generator (the high bits of an LCG: its low bits cycle too soon to pick from).
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    const pushed: { name: string; tag: string }[] = [];
    let collected = 0;
    for (let step = 0; step < 30; step++) {
      const name = names[next(names.length)]!;
      const op = next(4);
      if (op < 2 || pushed.length === 0) {
        const image = await uploadImage(name, [pool[next(pool.length)]!, pool[next(pool.length)]!]);
        const tag = `t${step}`;
        expect((await putManifest(name, tag, image.manifest)).status).toBe(201);
        pushed.push({ name, tag });
      } else {
        const [victim] = pushed.splice(next(pushed.length), 1);
        const id = (await db().select().from(repositories).where(eq(repositories.name, victim!.name)).get())!.id;
        const stub = repositoryObject(env, victim!.name);
        unwrap(await stub.deleteTag({ id, name: victim!.name }, victim!.tag, testOrigin));
        if (op === 3) collected += (await stub.collectGarbage(id, Date.now(), victim!.name)).manifestsDeleted;
      }
      expect(await usage(ns), `step ${step}`).toBe(await recounted(ns));
    }
    expect(collected).toBeGreaterThan(0);
  });
  it("charges a blob that arrives after a manifest naming it (the proxy cache's order), once", async () => {
    const ns = await namespace();
    const name = `${ns}/cache`;
    const image = await uploadImage(name, [randomBytes(100)]);
    expect((await putManifest(name, "v1", image.manifest)).status).toBe(201);
    const repositoryId = (await db().select().from(repositories).where(eq(repositories.name, name)).get())!.id;
    // A manifest committed before its layer was fetched: its reference names a blob not stored yet.
    const layer = randomBytes(2500);
    const digest = (await sha256(layer)) as Digest;
    const manifest = await db()
      .insert(manifests)
      .values({ repositoryId, digest: await sha256(crypto.randomUUID()), mediaType: OCI_MANIFEST, size: 1 })
      .returning()
      .get();
    await db().insert(manifestReferences).values({ manifestId: manifest!.id, digest, kind: "blob" });
    const before = await usage(ns);
    const blob = { digest, size: layer.byteLength, storageKey: `blobs/sha256/${digest.slice(7)}` };
    await recordBlob(db(), blob, repositoryId);
    expect(await usage(ns)).toBe(before + 2500);
    await recordBlob(db(), blob, repositoryId);
    expect(await usage(ns)).toBe(before + 2500);
  });
});

describe("enforcement", () => {
  it("refuses an upload that starts at or past the Reject limit: POST, monolithic POST and mount, creating nothing", async () => {
    const ns = await namespace();
    const image = await uploadImage(`${ns}/app`, [randomBytes(800)]);
    expect((await putManifest(`${ns}/app`, "v1", image.manifest)).status).toBe(201);
    await setQuota(ns, await usage(ns), [["Reject", 100]]);

    await expectQuotaRefusal(await request("POST", `/v2/${ns}/new/blobs/uploads/`));
    const blob = randomBytes(10);
    const digest = await sha256(blob);
    await expectQuotaRefusal(
      await request("POST", `/v2/${ns}/new/blobs/uploads/?digest=${digest}`, {
        body: blob,
        headers: { "Content-Length": "10" },
      }),
    );
    const layer = JSON.parse(image.manifest).layers[0].digest;
    await expectQuotaRefusal(await request("POST", `/v2/${ns}/new/blobs/uploads/?mount=${layer}&from=${ns}/app`));
    expect(
      await db()
        .select()
        .from(repositories)
        .where(eq(repositories.name, `${ns}/new`))
        .get(),
    ).toBeUndefined();
    expect(await namespaceRoom(db(), db(), ON, ns)).toBe(0);
  });

  it("refuses a manifest that would pass the Reject limit, leaving nothing written, and takes one that reaches it", async () => {
    const ns = await namespace();
    const name = `${ns}/app`;
    const first = await uploadImage(name, [randomBytes(1000)]);
    const second = await uploadImage(name, [randomBytes(1000)]);
    const fits = first.blobBytes + first.manifestBytes;
    await setQuota(ns, fits + 10, [["Reject", 100]]);
    expect((await putManifest(name, "v1", first.manifest)).status).toBe(201);
    expect(await namespaceRoom(db(), db(), ON, ns)).toBe(10);

    const recorder = recordEvents();
    await expectQuotaRefusal(await putManifest(name, "v2", second.manifest));
    expect(await usage(ns)).toBe(fits);
    const digest = await sha256(second.manifest);
    expect(await db().select().from(manifests).where(eq(manifests.digest, digest)).all()).toEqual([]);
    const tagRows = await db()
      .select()
      .from(tags)
      .where(sql`${tags.name} = 'v2' and ${tags.repositoryId} = (select id from repositories where name = ${name})`)
      .all();
    expect(tagRows).toEqual([]);
    expect(await recorder.published()).toEqual([]);

    // A tag of what the namespace holds needs no room, even at the limit.
    expect((await putManifest(name, "again", first.manifest)).status).toBe(201);
  });

  it("DEFAULT_SYSTEM_REJECT_QUOTA_BYTES limits a namespace with no quota; FEATURE_QUOTA_MANAGEMENT off limits nothing", async () => {
    const ns = await namespace();
    const image = await uploadImage(`${ns}/app`, [randomBytes(300)]);
    expect((await putManifest(`${ns}/app`, "v1", image.manifest)).status).toBe(201);
    const used = await usage(ns);
    const path = `/v2/${ns}/app/blobs/uploads/`;

    const atDefault = { DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: String(used) };
    await expectQuotaRefusal(await requestWithVars(atDefault, "POST", path));
    expect((await requestWithVars({ DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: String(used + 1) }, "POST", path)).status).toBe(
      202,
    );
    expect(await namespaceRoom(db(), db(), { ...ON, DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: used + 5 }, ns)).toBe(5);
    expect(await namespaceRoom(db(), db(), ON, ns)).toBeNull();

    const off = { FEATURE_QUOTA_MANAGEMENT: "false", DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: String(used) };
    expect((await requestWithVars(off, "POST", path)).status).toBe(202);
    expect(
      await namespaceRoom(db(), db(), { FEATURE_QUOTA_MANAGEMENT: false, DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 1 }, ns),
    ).toBe(null);

    // A namespace with a quota but no Reject limit is not held to the system default (as Quay).
    await setQuota(ns, 1, [["Warning", 50]]);
    expect(await namespaceRoom(db(), db(), { ...ON, DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 1 }, ns)).toBeNull();
  });

  it("at manifest push too: the system default refuses, and with the feature off neither it nor a quota does", async () => {
    const ns = await namespace();
    const name = `${ns}/app`;
    const image = await uploadImage(name, [randomBytes(400)]);
    const store = new R2BlobStore(env.BLOBS);
    const commitWith = async (settings: typeof ON, tag: string) => {
      const bytes = bytesOf(image.manifest);
      const creator = await subjectNamed(ns);
      const limits = { maxTagExpirationSeconds: 3600 };
      const reference = { kind: "tag" as const, tag };
      const commit = await prepareManifest(
        db(),
        writableCores(env),
        store,
        name,
        reference,
        bytes,
        OCI_MANIFEST,
        creator,
        limits,
        fixtureEvents(),
      );
      return commitManifest({ db: db(), core: db() }, commit, { ...settings, tempTagMs: 60_000 }, Date.now());
    };
    const whole = image.blobBytes + image.manifestBytes;
    await expect(commitWith({ ...ON, DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: whole - 1 }, "v1")).rejects.toMatchObject({
      kind: "quota_exceeded",
    });
    expect(await usage(ns)).toBe(0);
    // A quota (its Reject limit far below) is ignored with the feature off, and so is the default.
    await setQuota(ns, 1, [
      ["Warning", 50],
      ["Reject", 100],
    ]);
    const off = { FEATURE_QUOTA_MANAGEMENT: false, DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 1 };
    const committed = await commitWith(off, "v1");
    expect(committed.events.map((e) => e.kind)).toEqual(["push_repo"]);
    // Usage is still counted.
    expect(await usage(ns)).toBe(whole);
  });

  it("emits quota_warning and quota_error once each, from the commit that crosses them", async () => {
    const ns = await namespace();
    const name = `${ns}/app`;
    const small = await uploadImage(name, [randomBytes(100)]);
    const big = await uploadImage(name, [randomBytes(2000)]);
    const more = await uploadImage(name, [randomBytes(50)]);
    const smallBytes = small.blobBytes + small.manifestBytes;
    const bigBytes = big.blobBytes + big.manifestBytes;
    const moreBytes = more.blobBytes + more.manifestBytes;
    // Warning at 50%: crossed by `big`; Reject reached exactly by `more`.
    const limitBytes = smallBytes + bigBytes + moreBytes;
    const warningPercent = Math.floor(((smallBytes + bigBytes) * 100) / limitBytes);
    const { quotaId, limitIds } = await setQuota(ns, limitBytes, [
      ["Warning", warningPercent],
      ["Reject", 100],
    ]);

    const recorder = recordEvents();
    expect((await putManifest(name, "small", small.manifest)).status).toBe(201);
    expect((await putManifest(name, "big", big.manifest)).status).toBe(201);
    expect((await putManifest(name, "big-again", big.manifest)).status).toBe(201);
    expect((await putManifest(name, "more", more.manifest)).status).toBe(201);
    const warnings = await recorder.published("quota_warning");
    expect(warnings.map((e) => ({ namespace: e.namespace, repository: e.repository, data: e.data }))).toEqual([
      {
        namespace: ns,
        repository: null,
        data: {
          quotaId,
          limitId: limitIds[0],
          thresholdPercent: warningPercent,
          usageBytes: smallBytes + bigBytes,
          limitBytes,
        },
      },
    ]);
    const errors = await recorder.published("quota_error");
    expect(errors.map((e) => e.data)).toEqual([
      { quotaId, limitId: limitIds[1], thresholdPercent: 100, usageBytes: limitBytes, limitBytes },
    ]);
  });
});

describe("acceptance: ten pushes at once into one namespace near its Reject limit", () => {
  it("never overshoots the limit, and the usage equals the distinct bytes of what was accepted", async () => {
    const ns = await namespace();
    const base = randomBytes(4096);
    const images: Image[] = [];
    for (let i = 0; i < 10; i++) images.push(await uploadImage(`${ns}/r${i}`, [base, randomBytes(1000 + i)]));
    // Room for the base layer and about four of the ten images' own bytes.
    const own = (image: Image) => image.blobBytes - base.byteLength + image.manifestBytes;
    const limit = base.byteLength + own(images[0]!) * 4 + 500;
    const { limitIds } = await setQuota(ns, limit, [
      ["Warning", 50],
      ["Reject", 100],
    ]);

    const recorder = recordEvents();
    const answers = await Promise.all(images.map((image, i) => putManifest(`${ns}/r${i}`, "v1", image.manifest)));
    const accepted = images.filter((_, i) => answers[i]!.status === 201);
    for (const [i, res] of answers.entries()) {
      if (res.status !== 201) await expectQuotaRefusal(res);
      else expect(images[i]).toBeDefined();
    }
    expect(accepted.length).toBe(4);
    const exact = base.byteLength + accepted.reduce((sum, image) => sum + own(image), 0);
    expect(await usage(ns)).toBe(exact);
    expect(await usage(ns)).toBeLessThanOrEqual(limit);
    expect(await recounted(ns)).toBe(exact);
    // Half the limit was crossed once, by one of the ten.
    const warnings = await recorder.published("quota_warning");
    expect(warnings.map((e) => e.data.limitId)).toEqual([limitIds[0]]);
    expect(warnings[0]!.data.usageBytes).toBeGreaterThanOrEqual(Math.floor(limit / 2));
  });
});
