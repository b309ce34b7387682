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
import {
  allShards,
  DIRECTORY_CACHE_MS,
  NamespaceMovingError,
  placeNamespace,
  type Shard,
  shardNumbered,
} from "./shards";

/**
 * What an isolate keeps of a namespace's directory row: whether it is placed, its core's database,
 * and from when its core may be written ({@link writableFrom}).
 */
interface Kept {
  placed: boolean;
  number: number;
  readAt: number;
  id: number;
  writableFrom: number;
}

const placements = new SizedLru<string, Kept>(1 << 20, 256);

interface DirectoryRow {
  id: number;
  placed: number | null;
  coreShard: number | null;
  state: "active" | "moving" | "purging" | null;
  stateAt: number | null;
  /** A move's target (`moving`); src/db/shard-moves.ts. */
  moveShard?: number | null;
  /** The database the core left (`purging`), null when the move left the core where it was. */
  moveCoreShard?: number | null;
}

async function readDirectory(env: Env, namespace: string): Promise<DirectoryRow | undefined> {
  return database(env.DB).get<DirectoryRow | undefined>(sql`
    select u.id as id, s.namespace_id as placed, s.core_shard as coreShard, s.state as state,
      s.state_at as stateAt, s.move_shard as moveShard, s.move_core_shard as moveCoreShard
    from users u left join namespace_shards s on s.namespace_id = u.id
    where u.username = ${namespace}`);
}

/**
 * From when a namespace's core may be written (src/registry/core-moves.ts): never while it is
 * `moving` (its rows are being copied); after a flip, once DIRECTORY_CACHE_MS has passed, when no
 * isolate reads the old database any more, so a write on the new one is seen by every read. A
 * move that leaves the core where it is (its action logs alone go) refuses none. A row read
 * without the move's columns (a listing's batch) is taken as moving the core: readers never ask.
 */
function writableFrom(row: Omit<DirectoryRow, "id" | "placed">): number {
  if (row.state === "moving")
    return row.moveShard !== undefined && (row.coreShard ?? 0) === row.moveShard ? 0 : Number.POSITIVE_INFINITY;
  if (row.state === "purging") return row.moveCoreShard === null ? 0 : (row.stateAt ?? 0) + DIRECTORY_CACHE_MS;
  return 0;
}

function remember(env: Env, namespace: string, placed: boolean, row: Omit<DirectoryRow, "placed">): Shard {
  const number = row.coreShard ?? 0;
  const kept = { placed, number, readAt: clock.now(), id: row.id, writableFrom: writableFrom(row) };
  placements.set(namespace, kept, namespace.length * 2 + 64);
  return shardNumbered(env, number);
}

const UNPLACED = { coreShard: null, state: null, stateAt: null } as const;

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
  if (row && row.placed !== null) return remember(env, namespace, true, row);
  if (!readConfig(env).SHARD_REGISTRY_CORE) return remember(env, namespace, false, { id: row?.id ?? 0, ...UNPLACED });
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
    const rows = await database(env.DB).all<{ username: string } & Omit<DirectoryRow, "placed">>(sql`
      select u.username as username, u.id as id, s.core_shard as coreShard, s.state as state,
        s.state_at as stateAt
      from users u join namespace_shards s on s.namespace_id = u.id
      where u.username in (${sql.join(
        names.map((n) => sql`${n}`),
        sql`, `,
      )})`);
    const placed = new Map(rows.map((r) => [r.username, r]));
    for (const namespace of names) {
      const row = placed.get(namespace);
      if (row) found.set(namespace, remember(env, namespace, true, row));
      else if (keepAbsent) found.set(namespace, remember(env, namespace, false, { id: 0, ...UNPLACED }));
      else found.set(namespace, shards[0]!);
    }
  }
  return found;
}

/**
 * The database `namespace`'s core is written to, placing the namespace on its first write when
 * `place` (SHARD_REGISTRY_CORE on: src/registry/core-db.ts). A kept row of a placed namespace is
 * used: its core shard changes only by a move, which waits DIRECTORY_CACHE_MS after refusing
 * writes before it copies anything (src/registry/core-moves.ts). Refused with
 * {@link NamespaceMovingError} while the core moves and until every isolate follows its flip.
 * `DB` for a name that is no namespace: no core row of it can be read anywhere else either.
 */
export async function writableCoreShard(env: Env, namespace: string, place = true): Promise<Shard> {
  const shards = allShards(env);
  if (shards.length === 1) return shards[0]!;
  const cached = placements.get(namespace);
  if (cached && (cached.placed || !place) && clock.now() - cached.readAt < DIRECTORY_CACHE_MS)
    return writable(env, cached);
  const row = await readDirectory(env, namespace);
  if (!row) return shards[0]!;
  if (row.placed === null && !place) {
    remember(env, namespace, false, { id: row.id, ...UNPLACED });
    return shards[0]!;
  }
  const placement = row.placed === null ? { ...(await placeNamespace(env, row.id)), stateAt: null } : row;
  remember(env, namespace, true, { ...placement, id: row.id });
  return writable(env, placements.get(namespace)!);
}

function writable(env: Env, kept: Kept): Shard {
  if (clock.now() < kept.writableFrom) throw new NamespaceMovingError(kept.id);
  return shardNumbered(env, kept.number);
}

/** Forgets the placements this isolate read (tests; a move's own isolate after its flip). */
export function forgetCorePlacements(): void {
  for (const key of [...placements.keys()]) placements.delete(key);
}
