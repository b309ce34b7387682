/**
 * What a page of repositories read from `DB` cannot see of the repositories whose namespace's core
 * is on a shard (docs/sharding-the-registry-core.md §2): their last tag move (`tags`), their pulls
 * of the popularity window (`repository_pull_stats`) and their usage (the shadow row's
 * `storage_bytes`, the one that counts there). The page's `DB` query stays as it was, so a page
 * whose cores are all in `DB` costs nothing more; for the others, one query per shard holding some
 * of the page's namespaces, `id in (…)`, merged by id by the caller. Action counts
 * (`repository_action_counts`) stay in `DB` (src/events/logs-writer.ts): the `DB` query counts them.
 */
import { inArray, sql } from "drizzle-orm";
import { idChunks, shardedGroups } from "../db/core-fan-out";
import { database } from "../db/client";
import { repositories } from "../db/schema";
import { popularitySince } from "./repository-activity";

/** One repository of a page: its id in the directory and its namespace. */
export interface PageRepository {
  id: number;
  namespace: string;
}

/** A sharded repository's core, as its shard has it. */
export interface CoreFacts {
  /** The start of its most recently moved alive, visible tag (ms), if any. */
  lastModifiedMs: number | null;
  /** Its pulls since the popularity window's first day. */
  pulls: number;
  /** Its bytes (the shard's shadow `repositories.storage_bytes`). */
  storageBytes: number;
}

const NOTHING: CoreFacts = { lastModifiedMs: null, pulls: 0, storageBytes: 0 };

/**
 * The facts of each of `page` whose core is on a shard, by id; absent: the core is in `DB`, whose
 * query has them. A sharded repository without a shadow row has no core row yet (shadows come
 * before the first one, src/db/core-shadows.ts): nothing pushed, pulled or stored.
 */
export async function shardedCoreFacts(
  env: Env,
  page: readonly PageRepository[],
  nowMs: number,
): Promise<Map<number, CoreFacts>> {
  const facts = new Map<number, CoreFacts>();
  const since = popularitySince(nowMs);
  const groups = await shardedGroups(env, page, (r) => r.namespace);
  await Promise.all(
    groups.map(async ({ shard, items }) => {
      const core = database(shard.binding);
      for (const item of items) facts.set(item.id, NOTHING);
      for (const ids of idChunks(items.map((r) => r.id))) {
        const rows = await core
          .select({
            id: repositories.id,
            lastModifiedMs: sql<number | null>`(select max(t.lifetime_start_ms) from tags t
              where t.repository_id = "repositories"."id" and t.hidden = 0
              and (t.lifetime_end_ms is null or t.lifetime_end_ms > ${nowMs}))`,
            pulls: sql<number>`coalesce((select sum(p.pulls) from repository_pull_stats p
              where p.repository_id = "repositories"."id" and p.day >= ${since}), 0)`,
            storageBytes: repositories.storageBytes,
          })
          .from(repositories)
          .where(inArray(repositories.id, ids))
          .all();
        for (const row of rows)
          facts.set(row.id, {
            lastModifiedMs: row.lastModifiedMs,
            pulls: Number(row.pulls),
            storageBytes: row.storageBytes,
          });
      }
    }),
  );
  return facts;
}
