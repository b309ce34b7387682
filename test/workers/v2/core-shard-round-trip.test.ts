// A namespace whose registry core lives on a shard (docs/sharding-the-registry-core.md, Stage 2),
// pushed to, pulled from, re-tagged and deleted through the whole Worker: every core row (tags,
// manifests, references, blob rows and links, the outbox) lands on that shard and nowhere else,
// while the directory (the repository's row, its permissions) stays in DB. The tests' Worker has
// DB, DB_SHARD_1 and DB_SHARD_2 and SHARD_REGISTRY_CORE off, so the namespaces here are placed with
// it on first (as a registry that turned it on places every new namespace).
import { env } from "cloudflare:workers";
import { count, eq, sql } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../../src/db/client";
import { forgetCorePlacements, writableCoreShard } from "../../../src/db/core-shards";
import { blobs, manifests, repositories, repositoryBlobs, tags, users } from "../../../src/db/schema";
import { forgetDirectory } from "../../../src/db/shards";
import { forgetShadows } from "../../../src/registry/core-db";
import { basic, db, makeUser, pushImageWith, v2Token } from "../helpers/accounts";
import { initializeAdmin } from "../helpers/api";
import { registryToken, request } from "../helpers/registry";
import { shardDb } from "../helpers/shard-rows";

const coreOn = (): Env => ({ ...env, SHARD_REGISTRY_CORE: "true" }) as unknown as Env;
const ACCEPT = { Accept: "application/vnd.oci.image.manifest.v1+json" };
const passwords = new Map<string, string>();
const placed = new Map<string, number>();

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["roundone", "roundtwo"]) {
    passwords.set(name, await makeUser(admin, name));
    placed.set(name, (await writableCoreShard(coreOn(), name)).number);
  }
});

afterEach(() => {
  forgetDirectory();
  forgetCorePlacements();
  forgetShadows();
});

async function tokenOf(user: string, repository: string, actions = "pull,push,delete"): Promise<string> {
  return (await v2Token(basic(user, passwords.get(user)!), `repository:${repository}:${actions}`)).token;
}

/** How many rows of each core table name repository `id`, in database `d`. */
async function coreRows(d: Db, id: number): Promise<{ tags: number; manifests: number; links: number }> {
  const of = async (table: typeof tags | typeof manifests | typeof repositoryBlobs) =>
    (await d.select({ n: count() }).from(table).where(eq(table.repositoryId, id)).get())!.n;
  return { tags: await of(tags), manifests: await of(manifests), links: await of(repositoryBlobs) };
}

const others = (n: number) => [0, 1, 2].filter((s) => s !== n);

describe("a namespace whose core is on a shard", () => {
  it("is placed on a shard beside its action logs", () => {
    for (const n of placed.values()) expect(n).toBeGreaterThan(0);
  });

  it("pushes and pulls with every core row on its shard and the directory in DB", async () => {
    const shard = placed.get("roundone")!;
    const token = await tokenOf("roundone", "roundone/app");
    const pushed = await pushImageWith(token, "roundone/app", "v1");
    expect(pushed.status).toBe(201);
    const digest = pushed.headers.get("Docker-Content-Digest")!;

    const repo = (await db().select().from(repositories).where(eq(repositories.name, "roundone/app")).get())!;
    expect(await coreRows(shardDb(shard), repo.id)).toEqual({ tags: 1, manifests: 1, links: 2 });
    for (const n of others(shard))
      expect(await coreRows(shardDb(n), repo.id)).toEqual({ tags: 0, manifests: 0, links: 0 });
    // The shard's shadow of the repository and its namespace; the first push's mark cleared there.
    const shadow = await shardDb(shard).select().from(repositories).where(eq(repositories.id, repo.id)).get();
    expect(shadow).toMatchObject({ name: "roundone/app", namespace: "roundone", firstPushActivityAt: null });
    expect(shadow!.storageBytes).toBeGreaterThan(0);
    const owner = await shardDb(shard).select().from(users).where(eq(users.username, "roundone")).get();
    expect(owner!.storageBytes).toBeGreaterThan(0);
    // Blob rows: on the shard only (other tests' blobs may be in DB; these digests are fresh).
    const layerDigests = (
      await shardDb(shard)
        .select({ digest: repositoryBlobs.digest })
        .from(repositoryBlobs)
        .where(eq(repositoryBlobs.repositoryId, repo.id))
    ).map((r) => r.digest);
    for (const d of layerDigests) {
      expect(await shardDb(shard).select().from(blobs).where(eq(blobs.digest, d)).get()).toBeDefined();
      expect(await db().select().from(blobs).where(eq(blobs.digest, d)).get()).toBeUndefined();
    }

    // Pulls by tag and by digest, blob GET and HEAD, tags/list: all answered from the shard.
    const pull = await tokenOf("roundone", "roundone/app", "pull");
    const byTag = await request("GET", "/v2/roundone/app/manifests/v1", { token: pull, headers: ACCEPT });
    expect(byTag.status).toBe(200);
    expect(byTag.headers.get("Docker-Content-Digest")).toBe(digest);
    const manifest = (await byTag.json()) as { layers: { digest: string }[]; config: { digest: string } };
    expect(
      (await request("GET", `/v2/roundone/app/manifests/${digest}`, { token: pull, headers: ACCEPT })).status,
    ).toBe(200);
    const layer = await request("GET", `/v2/roundone/app/blobs/${manifest.layers[0]!.digest}`, { token: pull });
    expect(layer.status).toBe(200);
    expect((await layer.text()).startsWith("layer ")).toBe(true);
    expect((await request("HEAD", `/v2/roundone/app/blobs/${manifest.config.digest}`, { token: pull })).status).toBe(
      200,
    );
    const list = await request("GET", "/v2/roundone/app/tags/list", { token: pull });
    expect(await list.json()).toEqual({ name: "roundone/app", tags: ["v1"] });
  });

  it("deletes a manifest on the shard, ending its tag there", async () => {
    const shard = placed.get("roundone")!;
    const token = await tokenOf("roundone", "roundone/gone");
    const pushed = await pushImageWith(token, "roundone/gone", "v1");
    expect(pushed.status).toBe(201);
    const digest = pushed.headers.get("Docker-Content-Digest")!;
    expect((await request("DELETE", `/v2/roundone/gone/manifests/${digest}`, { token })).status).toBe(202);
    const repo = (await db().select().from(repositories).where(eq(repositories.name, "roundone/gone")).get())!;
    const ended = await shardDb(shard).all<{ ended: number | null }>(
      sql`select lifetime_end_ms as ended from tags where repository_id = ${repo.id}`,
    );
    // The tag's row stays on the shard with its lifetime ended (the time machine keeps it)...
    expect(ended).toHaveLength(1);
    expect(ended[0]!.ended).not.toBeNull();
    // ... and DB never held a row of it.
    expect(await coreRows(db(), repo.id)).toEqual({ tags: 0, manifests: 0, links: 0 });
    const after = await request("GET", `/v2/roundone/gone/manifests/${digest}`, { token, headers: ACCEPT });
    expect(after.status).toBe(404);
  });

  it("mounts a blob from a namespace on another database, copying its row to the target's shard", async () => {
    const [one, two] = [placed.get("roundone")!, placed.get("roundtwo")!];
    const source = await tokenOf("roundone", "roundone/app", "pull");
    const res = await request("GET", "/v2/roundone/app/manifests/v1", { token: source, headers: ACCEPT });
    const layer = ((await res.json()) as { layers: { digest: string }[] }).layers[0]!.digest;
    // roundtwo may pull roundone/app only when it is public: make it so in DB, the directory.
    await db().update(repositories).set({ visibility: "public" }).where(eq(repositories.name, "roundone/app"));
    const token = await registryToken(
      [
        { type: "repository", name: "roundtwo/copy", actions: ["pull", "push"] },
        { type: "repository", name: "roundone/app", actions: ["pull"] },
      ],
      "roundtwo",
    );
    const mount = await request("POST", `/v2/roundtwo/copy/blobs/uploads/?mount=${layer}&from=roundone/app`, { token });
    expect(mount.status).toBe(201);
    expect(await shardDb(two).select().from(blobs).where(eq(blobs.digest, layer)).get()).toBeDefined();
    if (one !== two) expect(await shardDb(one).select().from(blobs).where(eq(blobs.digest, layer)).get()).toBeDefined();
    const pulled = await request("GET", `/v2/roundtwo/copy/blobs/${layer}`, { token });
    expect(pulled.status).toBe(200);
    await pulled.arrayBuffer();
  });
});
