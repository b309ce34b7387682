/**
 * The fan-out of reads that span namespaces (docs/sharding-the-registry-core.md §2): a page of
 * rows read from `DB` (the directory) is grouped by the database holding each row's namespace's
 * registry core (./core-shards.ts), so a caller asks each such database once about its rows, with
 * `repository_id in (…)`, and merges the answers by id. No query without `DB_SHARD_<n>` bindings;
 * otherwise one directory read for the page's namespaces this isolate does not keep.
 */
import { database, type Db } from "./client";
import { coreShardOf, coreShardsOf } from "./core-shards";
import { allShards, type Shard } from "./shards";

/** Some of a page's rows, whose namespaces' cores are all in `shard`. */
export interface CoreGroup<T> {
  shard: Shard;
  items: T[];
}

/** `items` grouped by the database holding their namespace's core, `DB` (shard 0) first. */
export async function groupByCoreShard<T>(
  env: Env,
  items: readonly T[],
  namespaceOf: (item: T) => string,
): Promise<CoreGroup<T>[]> {
  if (items.length === 0) return [];
  const shards = allShards(env);
  if (shards.length === 1) return [{ shard: shards[0]!, items: [...items] }];
  const placed = await coreShardsOf(env, items.map(namespaceOf));
  const groups = new Map<number, CoreGroup<T>>();
  for (const item of items) {
    const shard = placed.get(namespaceOf(item))!;
    const group = groups.get(shard.number) ?? { shard, items: [] };
    group.items.push(item);
    groups.set(shard.number, group);
  }
  return [...groups.values()].sort((a, b) => a.shard.number - b.shard.number);
}

/** The groups of {@link groupByCoreShard} whose core is not in `DB`: what a `DB` query cannot see. */
export async function shardedGroups<T>(
  env: Env,
  items: readonly T[],
  namespaceOf: (item: T) => string,
): Promise<CoreGroup<T>[]> {
  return (await groupByCoreShard(env, items, namespaceOf)).filter((g) => g.shard.number !== 0);
}

/** D1 binds at most 100 parameters per statement: ids are asked for in chunks of this many. */
export const IDS_PER_QUERY = 90;

/** `items` in chunks of {@link IDS_PER_QUERY}. */
export function idChunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += IDS_PER_QUERY) out.push(items.slice(i, i + IDS_PER_QUERY));
  return out;
}

/**
 * The client reads of `namespace`'s core go through: `db` itself (the caller's client over `DB`,
 * its session) when the core is there, else a client over its shard.
 */
export async function coreDbFor(env: Env, db: Db, namespace: string): Promise<Db> {
  const shard = await coreShardOf(env, namespace);
  return shard.number === 0 ? db : database(shard.binding);
}
