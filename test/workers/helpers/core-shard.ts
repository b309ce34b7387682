/**
 * Namespaces whose registry core is on a shard, for the /v2 tests of Stage 2
 * (docs/sharding-the-registry-core.md): the tests' Worker has SHARD_REGISTRY_CORE off, as shipped,
 * so each namespace is placed here with it on, right after its account is made and before anything
 * reads it; the Worker follows the directory from then on (src/db/core-shards.ts). Rows are then
 * read in each database (./shard-rows.ts) to see where they landed.
 */
import { env } from "cloudflare:workers";
import { and, eq, inArray } from "drizzle-orm";
import { expect } from "vitest";
import type { Db } from "../../../src/db/client";
import { writableCoreShard } from "../../../src/db/core-shards";
import { blobs, manifests, repositories, repositoryBlobs, tags } from "../../../src/db/schema";
import type { Digest } from "../../../src/lib/digest";
import { contentKey } from "../../../src/storage/keys";
import { db, makeUser } from "./accounts";
import { bytesOf, EMPTY_DIGEST, OCI_EMPTY, OCI_MANIFEST, sha256 } from "./registry";
import { shardDb } from "./shard-rows";

const coreOn = (): Env => ({ ...env, SHARD_REGISTRY_CORE: "true" }) as unknown as Env;

/** A namespace placed on its core shard, and its account's password. */
export interface Placed {
  name: string;
  password: string;
  shard: number;
}

/** Makes user `name` and places its core with SHARD_REGISTRY_CORE on, before anything reads it. */
export async function placedUser(admin: string, name: string): Promise<Placed> {
  const password = await makeUser(admin, name);
  return { name, password, shard: (await writableCoreShard(coreOn(), name)).number };
}

/** Two namespaces placed on different shards (named `<prefix>one`, `<prefix>two` or `<prefix>three`). */
export async function placedPair(admin: string, prefix: string): Promise<{ one: Placed; two: Placed }> {
  const one = await placedUser(admin, `${prefix}one`);
  // Namespaces go to a shard by their id: the next account or the one after lands on the other.
  let two = await placedUser(admin, `${prefix}two`);
  if (two.shard === one.shard) two = await placedUser(admin, `${prefix}three`);
  expect([one.shard, two.shard].sort()).toEqual([1, 2]);
  return { one, two };
}

/** The shard that is not `shard`. */
export const otherShard = (shard: number) => (shard === 1 ? 2 : 1);

/** DB's row of repository `name` (the directory). */
export async function repositoryNamed(name: string) {
  return (await db().select().from(repositories).where(eq(repositories.name, name)).get())!;
}

/** The blob rows of `digests` and the repository's links to them in database `core`, sorted. */
export async function coreRows(core: Db, repositoryId: number, digests: string[]) {
  const blobRows = await core.select().from(blobs).where(inArray(blobs.digest, digests)).all();
  const links = await core
    .select()
    .from(repositoryBlobs)
    .where(and(eq(repositoryBlobs.repositoryId, repositoryId), inArray(repositoryBlobs.digest, digests)))
    .all();
  return { blobs: blobRows.map((b) => b.digest).sort(), links: links.map((l) => l.digest).sort() };
}

/** Seeds on `shard` a manifest of repository `repositoryId` tagged `tag`, its bytes in R2. */
export async function seedManifest(
  shard: number,
  repositoryId: number,
  tag: string,
): Promise<{ digest: string; body: string }> {
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: 2 },
    layers: [],
    annotations: { seed: crypto.randomUUID() },
  });
  const digest = await sha256(body);
  await env.BLOBS.put(contentKey(digest as Digest), body);
  const [row] = await shardDb(shard)
    .insert(manifests)
    .values({ repositoryId, digest, mediaType: OCI_MANIFEST, size: bytesOf(body).byteLength })
    .returning({ id: manifests.id });
  await shardDb(shard)
    .insert(tags)
    .values({ repositoryId, name: tag, manifestId: row!.id, lifetimeStartMs: Date.now() - 1_000 });
  return { digest, body };
}

/**
 * `base` with shard `shard`'s binding recording each session opened on it; unless `lags` is false,
 * a session that may read a replica there finds no row (a replica behind the primary).
 */
export function laggingShard(shard: number, base: Env, lags = true): { env: Env; sessions: string[] } {
  const sessions: string[] = [];
  const binding = (base as unknown as Record<string, D1Database>)[`DB_SHARD_${shard}`]!;
  const bind = <T extends object>(target: T, value: unknown) =>
    typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  const wrapped = new Proxy(binding, {
    get(target, property) {
      if (property !== "withSession") return bind(target, Reflect.get(target, property));
      return (constraint: string) => {
        sessions.push(constraint);
        const session = target.withSession(constraint);
        if (!lags || constraint === "first-primary") return session;
        return new Proxy(session, {
          get(inner, name) {
            if (name !== "prepare") return bind(inner, Reflect.get(inner, name));
            return (query: string) =>
              inner.prepare(/^\s*select\b/i.test(query) ? `select * from (${query}) where 0` : query);
          },
        });
      };
    },
  });
  return { env: { ...base, [`DB_SHARD_${shard}`]: wrapped } as Env, sessions };
}
