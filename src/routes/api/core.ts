/**
 * The client over a repository's registry core for the /api/v1 routes that read or write one
 * repository's tags, manifests, labels and pull statistics (docs/sharding-the-registry-core.md,
 * Stage 3). `c.var.db` is `DB` outside /v2 (src/app.ts): the directory, permissions and policies
 * stay there, while a namespace whose core is on a `DB_SHARD_<n>` keeps its core rows on that
 * shard only. When the core is in `DB` these are `DB`'s own client, with no query.
 */
import type { Context } from "hono";
import { database, type Db } from "../../db/client";
import { coreShardOf } from "../../db/core-shards";
import { readableCoreDb, writableCoreDb, type WriteClients } from "../../registry/core-db";
import type { AppEnv } from "../app-env";

/** The client reads of namespace `namespace`'s core go through (every repository of it). */
export async function namespaceCoreOf(c: Context<AppEnv>, namespace: string): Promise<Db> {
  return database((await coreShardOf(c.env, namespace)).binding);
}

/** The client reads of `repository`'s core go through. */
export function coreOf(c: Context<AppEnv>, repository: { name: string }): Promise<Db> {
  return readableCoreDb(c.env, repository.name);
}

/**
 * The two clients of a write made outside the repository's Durable Object (label writes):
 * `DB` for its state, and its core's database, with the shadows there ensured.
 */
export async function writeClientsOf(
  c: Context<AppEnv>,
  repository: { id: number; name: string },
): Promise<WriteClients> {
  return { db: c.var.db, core: await writableCoreDb(c.env, repository) };
}
