/**
 * Storage accounting (src/gc/storage.ts): a repository counts each distinct blob its manifests
 * reference plus its manifests' own bytes; a namespace counts each blob and manifest once however
 * many of its repositories hold it. Garbage collection keeps the counts current.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { repositories, users } from "../../../src/db/schema";
import { recountNamespace, recountRepository, recountStorage } from "../../../src/gc/storage";
import { repositoryObject } from "../../../src/registry/repository-object";
import { unwrap } from "../../../src/errors/outcome";
import { OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, bytesOf, pushBlob, pushManifest, randomBytes } from "../helpers/registry";
import { testOrigin } from "../helpers/events";

const db = () => database(env.DB);
const size = (text: string) => bytesOf(text).byteLength;

async function namespace(): Promise<string> {
  const name = `gcst${crypto.randomUUID().slice(0, 8)}`;
  await db().insert(users).values({ username: name, kind: "user", tagExpirationS: 0 });
  return name;
}
const repository = (name: string) => db().select().from(repositories).where(eq(repositories.name, name)).get();
const namespaceBytes = async (name: string) =>
  (await db().select().from(users).where(eq(users.username, name)).get())!.storageBytes;

/** Pushes an image over `layer` (and a fresh config) tagged `tag`; returns what its bytes are. */
async function pushImageOf(
  name: string,
  tag: string,
  layer: Uint8Array,
  configText = JSON.stringify({ os: "linux", id: crypto.randomUUID() }),
) {
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: await pushBlob(name, configText), size: size(configText) },
    layers: [{ mediaType: OCI_LAYER, digest: await pushBlob(name, layer), size: layer.byteLength }],
  });
  await pushManifest(name, tag, manifest, OCI_MANIFEST);
  return { config: size(configText), manifest: size(manifest) };
}

describe("storage accounting", () => {
  it("counts a repository's distinct blobs once, plus its manifests' bytes", async () => {
    const name = `${await namespace()}/app`;
    const layer = randomBytes(1000);
    const a = await pushImageOf(name, "a", layer);
    const b = await pushImageOf(name, "b", layer);
    // An uploaded blob no manifest references is not counted.
    await pushBlob(name, randomBytes(5000));
    const id = (await repository(name))!.id;
    await recountRepository(db(), id);
    expect((await repository(name))!.storageBytes).toBe(
      layer.byteLength + a.config + a.manifest + b.config + b.manifest,
    );
  });

  it("counts each blob and manifest once per namespace, however many repositories hold it", async () => {
    const ns = await namespace();
    const layer = randomBytes(2000);
    const config = JSON.stringify({ os: "linux", id: crypto.randomUUID() });
    const one = await pushImageOf(`${ns}/one`, "v1", layer, config);
    // The very same image (same config, so the same manifest) in a second repository.
    const two = await pushImageOf(`${ns}/two`, "v1", layer, config);
    expect(two).toEqual(one);
    const other = await pushImageOf(`${ns}/two`, "v2", randomBytes(300));
    await recountNamespace(db(), ns);
    expect(await namespaceBytes(ns)).toBe(
      layer.byteLength + one.config + one.manifest + 300 + other.config + other.manifest,
    );
    // Each repository alone still counts the shared image in full.
    await recountRepository(db(), (await repository(`${ns}/one`))!.id);
    expect((await repository(`${ns}/one`))!.storageBytes).toBe(layer.byteLength + one.config + one.manifest);
  });

  it("is recounted by garbage collection, which leaves what the remaining manifests hold", async () => {
    const name = `${await namespace()}/shrinking`;
    const kept = await pushImageOf(name, "kept", randomBytes(100));
    const dropped = await pushImageOf(name, "dropped", randomBytes(4000));
    const id = (await repository(name))!.id;
    const stub = repositoryObject(env, name);
    await stub.collectGarbage(id, Date.now(), name);
    expect((await repository(name))!.storageBytes).toBe(
      100 + kept.config + kept.manifest + 4000 + dropped.config + dropped.manifest,
    );
    unwrap(await stub.deleteTag({ id, name }, "dropped", testOrigin));
    await stub.collectGarbage(id, Date.now(), name);
    expect((await repository(name))!.storageBytes).toBe(100 + kept.config + kept.manifest);
  });

  it("recounts every repository and namespace over successive bounded runs", async () => {
    const ns = await namespace();
    const names = [`${ns}/r1`, `${ns}/r2`, `${ns}/r3`];
    for (const name of names) await pushImageOf(name, "v1", randomBytes(64));
    const expected: Record<string, number> = {};
    for (const name of names) {
      await recountRepository(db(), (await repository(name))!.id);
      expected[name] = (await repository(name))!.storageBytes;
    }
    await recountNamespace(db(), ns);
    const expectedNamespace = await namespaceBytes(ns);
    expect(expectedNamespace).toBe(Object.values(expected).reduce((a, b) => a + b));

    await db().update(repositories).set({ storageBytes: 0 });
    await db().update(users).set({ storageBytes: 0 });
    // One repository and one namespace per run: more runs than this file has of either.
    for (let run = 0; run < 30; run++) await recountStorage(db(), 1);
    for (const name of names) expect((await repository(name))!.storageBytes).toBe(expected[name]);
    expect(await namespaceBytes(ns)).toBe(expectedNamespace);
  });
});
