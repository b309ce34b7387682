/**
 * Events of Wharf's own passes (docs/events.md): `autoprune_tag_delete` per tag auto-prune ends,
 * and garbage collection's removals, one event per committed batch: `gc_tag_rows_deleted`,
 * `gc_manifests_deleted`, `gc_blob_links_deleted` per repository and pass, `gc_blob_deleted` per
 * blob. The actor is the system; a pass that removes nothing emits nothing.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { tags, users } from "../../../src/db/schema";
import { runAutoprune } from "../../../src/gc/autoprune";
import { graceMs } from "../../../src/gc/grace";
import { runGarbageCollection } from "../../../src/gc/scheduler";
import { findRepository } from "../../../src/registry/repositories";
import { repositoryObject } from "../../../src/registry/repository-object";
import { api, initializeAdmin } from "../helpers/api";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { recordEvents } from "../helpers/events";
import { pushImage } from "../helpers/registry";

const DAY = 86_400_000;
let olga: string;

beforeAll(async () => {
  await makeUser(await initializeAdmin(), "olga");
  olga = await tokenFor("olga");
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function place(name: string) {
  const repository = (await findRepository(db(), name))!;
  return { namespace: name.split("/")[0], repository: { id: repository.id, name } };
}

describe("autoprune_tag_delete", () => {
  it("comes from auto-prune, once per tag it ends, as the system's autoprune; kept tags emit nothing", async () => {
    const image = await pushImage("olga/pruned", "newest");
    for (const tag of ["middle", "oldest", "pinned"]) {
      await api("PUT", `/repository/olga/pruned/tag/${tag}`, { token: olga, body: { manifest_digest: image.digest } });
    }
    await api("PUT", "/repository/olga/pruned/tag/pinned", { token: olga, body: { immutable: true } });
    const repository = (await findRepository(db(), "olga/pruned"))!;
    const ages: Record<string, number> = { newest: 1, middle: 2, oldest: 3, pinned: 4 };
    for (const [tag, age] of Object.entries(ages)) {
      await db()
        .update(tags)
        .set({ lifetimeStartMs: Date.now() - age * DAY })
        .where(and(eq(tags.repositoryId, repository.id), eq(tags.name, tag)));
    }
    const policy = { method: "number_of_tags", value: 1 };
    expect((await api("POST", "/repository/olga/pruned/autoprunepolicy/", { token: olga, body: policy })).status).toBe(
      201,
    );
    const recorder = recordEvents();
    while ((await runAutoprune(env, Date.now())).more);
    const events = await recorder.published();
    expect(events.map((e) => e.data).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { tag: "middle", digest: image.digest },
      { tag: "oldest", digest: image.digest },
    ]);
    for (const event of events) {
      expect(event).toMatchObject({
        kind: "autoprune_tag_delete",
        ...(await place("olga/pruned")),
        actor: { kind: "system", name: "autoprune" },
        ip: null,
      });
    }
    while ((await runAutoprune(env, Date.now())).more);
    expect(await recorder.published()).toHaveLength(2);
  });
});

describe("garbage collection", () => {
  it("summarizes each repository's removals per batch, and each blob it deletes", async () => {
    // A namespace whose time machine keeps nothing: a deleted tag's row goes at the next pass.
    await db().insert(users).values({ username: "brief", kind: "user", tagExpirationS: 0 });
    const image = await pushImage("brief/app", "v1");
    const repository = (await findRepository(db(), "brief/app"))!;
    const owner = await tokenFor("brief");
    expect((await api("DELETE", "/repository/brief/app/tag/v1", { token: owner })).status).toBe(204);

    const recorder = recordEvents();
    // Past the grace period, so the repository's links and the blobs themselves may go too.
    const later = Date.now() + 2 * graceMs(env);
    const stub = repositoryObject(env, "brief/app");
    while ((await stub.collectGarbage(repository.id, later, "brief/app")).more);
    const system = { actor: { kind: "system", name: "gc" }, ip: null, ...(await place("brief/app")) };
    const blobs = [image.config, ...image.layers].sort();
    expect(await recorder.published()).toEqual([
      expect.objectContaining({ kind: "gc_tag_rows_deleted", ...system, data: { rows: 1, tags: ["v1"] } }),
      expect.objectContaining({ kind: "gc_manifests_deleted", ...system, data: { digests: [image.digest] } }),
      expect.objectContaining({ kind: "gc_blob_links_deleted", ...system, data: { digests: blobs } }),
    ]);

    // Nothing left to collect: no events.
    await stub.collectGarbage(repository.id, later, "brief/app");
    expect(await recorder.published()).toHaveLength(3);

    await runGarbageCollection(env, later);
    const deleted = (await recorder.published("gc_blob_deleted")).filter((e) => blobs.includes(e.data.digest));
    expect(deleted.map((e) => e.data.digest).sort()).toEqual(blobs);
    for (const event of deleted) {
      expect(event).toMatchObject({
        namespace: null,
        repository: null,
        actor: { kind: "system", name: "gc" },
        ip: null,
      });
      expect(event.data.size).toBeGreaterThan(0);
    }
  });
});
