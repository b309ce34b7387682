/**
 * Where a namespace's registry core lives (docs/sharding-the-registry-core.md): its tags,
 * manifests, their references and labels, its blob links and blob rows, its pull statistics, with
 * the outbox rows of the writes that change them. `repositories` stays in `DB` as the directory of
 * every repository; the core's database keeps a shadow row of each of the namespace's repositories
 * and of the namespace itself (src/db/core-shadows.ts), so its foreign keys and joins hold there.
 *
 * The directory's `core_shard` (src/db/shards.ts) says which database: null is `DB`. It is set
 * once, when the namespace is placed with SHARD_REGISTRY_CORE on and no core rows of it exist yet,
 * and only a move changes it. Reads and writes follow the directory whatever the flag says now, so
 * turning it off never hides a namespace placed while it was on. A read may keep a row it found
 * for DIRECTORY_CACHE_MS. It keeps an absent row only while the flag is off here: with it on, the
 * namespace's first write may place its core on a shard a moment later, and a pull right after a
 * push must find what was pushed.
 */
import { sql } from "drizzle-orm";
import { readConfig } from "../config";
import { clock } from "../lib/clock";
import { SizedLru } from "../lib/sized-lru";
import { database } from "./client";
import { allShards, DIRECTORY_CACHE_MS, placeNamespace, type Shard, shardNumbered } from "./shards";

const placements = new SizedLru<string, { placed: boolean; number: number; readAt: number }>(1 << 20, 256);

interface DirectoryRow {
  id: number;
  placed: number | null;
  coreShard: number | null;
}

async function readDirectory(env: Env, namespace: string): Promise<DirectoryRow | undefined> {
  return database(env.DB).get<DirectoryRow | undefined>(sql`
    select u.id as id, s.namespace_id as placed, s.core_shard as coreShard
    from users u left join namespace_shards s on s.namespace_id = u.id
    where u.username = ${namespace}`);
}

function remember(env: Env, namespace: string, placed: boolean, coreShard: number | null): Shard {
  const number = coreShard ?? 0;
  placements.set(namespace, { placed, number, readAt: clock.now() }, namespace.length * 2 + 48);
  return shardNumbered(env, number);
}

/**
 * The database to read `namespace`'s core from: `DB` without shards (no query), for a name that
 * is no namespace, or for a namespace not placed yet (nothing of its core exists elsewhere).
 */
export async function coreShardOf(env: Env, namespace: string): Promise<Shard> {
  const shards = allShards(env);
  if (shards.length === 1) return shards[0]!;
  const cached = placements.get(namespace);
  if (cached && clock.now() - cached.readAt < DIRECTORY_CACHE_MS) return shardNumbered(env, cached.number);
  const row = await readDirectory(env, namespace);
  if (row && row.placed !== null) return remember(env, namespace, true, row.coreShard);
  if (!readConfig(env).SHARD_REGISTRY_CORE) return remember(env, namespace, false, null);
  return shards[0]!;
}

/**
 * {@link coreShardOf} of many namespaces (a page of a listing, src/db/core-fan-out.ts): those this
 * isolate keeps cost nothing, the others one directory read per 90 names, kept by the same rules.
 */
export async function coreShardsOf(env: Env, namespaces: readonly string[]): Promise<Map<string, Shard>> {
  const shards = allShards(env);
  const found = new Map<string, Shard>();
  const missing: string[] = [];
  for (const namespace of new Set(namespaces)) {
    const cached = shards.length === 1 ? undefined : placements.get(namespace);
    if (shards.length === 1) found.set(namespace, shards[0]!);
    else if (cached && clock.now() - cached.readAt < DIRECTORY_CACHE_MS)
      found.set(namespace, shardNumbered(env, cached.number));
    else missing.push(namespace);
  }
  const keepAbsent = !readConfig(env).SHARD_REGISTRY_CORE;
  for (let i = 0; i < missing.length; i += 90) {
    const names = missing.slice(i, i + 90);
    const rows = await database(env.DB).all<{ username: string; coreShard: number | null }>(sql`
      select u.username as username, s.core_shard as coreShard
      from users u join namespace_shards s on s.namespace_id = u.id
      where u.username in (${sql.join(
        names.map((n) => sql`${n}`),
        sql`, `,
      )})`);
    const placed = new Map(rows.map((r) => [r.username, r.coreShard]));
    for (const namespace of names) {
      if (placed.has(namespace)) found.set(namespace, remember(env, namespace, true, placed.get(namespace)!));
      else if (keepAbsent) found.set(namespace, remember(env, namespace, false, null));
      else found.set(namespace, shards[0]!);
    }
  }
  return found;
}

/**
 * The database `namespace`'s core is written to, placing the namespace on its first write. A kept
 * row of a placed namespace is used: its core shard changes only by a move, which waits
 * DIRECTORY_CACHE_MS after refusing writes before it copies anything (Stage 5 of the plan). `DB`
 * for a name that is no namespace: no core row of it can be read anywhere else either.
 */
export async function writableCoreShard(env: Env, namespace: string): Promise<Shard> {
  const shards = allShards(env);
  if (shards.length === 1) return shards[0]!;
  const cached = placements.get(namespace);
  if (cached?.placed && clock.now() - cached.readAt < DIRECTORY_CACHE_MS) return shardNumbered(env, cached.number);
  const row = await readDirectory(env, namespace);
  if (!row) return shards[0]!;
  const coreShard = row.placed === null ? (await placeNamespace(env, row.id)).coreShard : row.coreShard;
  return remember(env, namespace, true, coreShard);
}

/** Forgets the placements this isolate read (tests; a move's own isolate after its flip). */
export function forgetCorePlacements(): void {
  for (const key of [...placements.keys()]) placements.delete(key);
}
