/**
 * The client over a namespace's registry core for the /api/v1 routes that read one repository's
 * tags, manifests, labels and pull statistics (docs/sharding-the-registry-core.md, Stage 3); their
 * writes go through the repository's Durable Object. `c.var.db` is `DB` outside /v2 (src/app.ts):
 * the directory, permissions and policies stay there, while a namespace whose core is on a
 * `DB_SHARD_<n>` keeps its core rows on that shard only. When the core is in `DB` these are `DB`'s
 * own client, with no query.
 */
import type { Context } from "hono";
import { database, type Db } from "../../db/client";
import { coreShardOf } from "../../db/core-shards";
import { readableCoreDb } from "../../registry/core-db";
import type { AppEnv } from "../app-env";

/** The client reads of namespace `namespace`'s core go through (every repository of it). */
export async function namespaceCoreOf(c: Context<AppEnv>, namespace: string): Promise<Db> {
  return database((await coreShardOf(c.env, namespace)).binding);
}

/** The client reads of `repository`'s core go through. */
export function coreOf(c: Context<AppEnv>, repository: { name: string }): Promise<Db> {
  return readableCoreDb(c.env, repository.name);
}
