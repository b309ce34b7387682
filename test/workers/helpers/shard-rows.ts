/**
 * Registry rows in a shard (src/db/shards.ts), as the later stages of sharding the registry core
 * will write them: the tests' Worker has DB_SHARD_1 and DB_SHARD_2 beside DB, each with the whole
 * schema (vitest.workers.config.mts). D1 enforces foreign keys on every statement, so a shard's
 * tags, manifests and links need the shard's own copy of their repository's row first.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { type Db, database } from "../../../src/db/client";
import { repositories, users } from "../../../src/db/schema";
import { allShards } from "../../../src/db/shards";

/** The drizzle client over shard `number` (0 is DB). */
export function shardDb(number: number): Db {
  const shard = allShards(env).find((s) => s.number === number);
  if (!shard) throw new Error(`the tests' Worker has no shard ${number}`);
  return database(shard.binding);
}

/**
 * Copies into shard `number` the parent rows of repository `repo`: its namespace's `users` row (as
 * DB has it, or a user with `tagExpirationS` when DB has none) and its `repositories` row, with the
 * same id. Rows already there are kept.
 */
export async function shadowRepository(
  number: number,
  repo: { id: number; name: string },
  tagExpirationS = 0,
): Promise<void> {
  const namespace = repo.name.split("/")[0]!;
  const owner = await database(env.DB).select().from(users).where(eq(users.username, namespace)).get();
  await shardDb(number)
    .insert(users)
    .values(owner ?? { username: namespace, kind: "user", tagExpirationS })
    .onConflictDoNothing();
  await shardDb(number).insert(repositories).values({ id: repo.id, name: repo.name, namespace }).onConflictDoNothing();
}

/**
 * `env` with shard `number`'s binding replaced by a database that fails every statement, as an
 * unreachable D1 would. A new object, so allShards lists its shards afresh.
 */
export function envWithFailingShard(number: number, base: Env = env): Env {
  const down = () => {
    throw new Error(`shard ${number} is unreachable`);
  };
  const failing = { prepare: down, batch: down, exec: down, dump: down, withSession: down };
  return { ...base, [`DB_SHARD_${number}`]: failing } as unknown as Env;
}
