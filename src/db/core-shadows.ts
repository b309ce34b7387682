/**
 * The shadow rows a core shard keeps (docs/sharding-the-registry-core.md §0): for each repository
 * of a namespace whose core lives there, a `repositories` row with its id, name and namespace; and
 * a `users` row for the namespace with its id, name, kind and time-machine window. D1 enforces
 * foreign keys in every query, and the core's tables point at `repositories.id`; the hot SQL that
 * stays inside a namespace (quota charges, GC, tag history, lookups by repository name) then runs
 * unchanged on the shard. The shadows' own `storage_bytes` and `first_push_activity_at` are the
 * ones that count for a namespace on a shard: the latter is copied from `DB` when the shadow is
 * made (a push's repository is created in `DB` with it), then kept on the shard alone; `created_at`
 * is copied too (it never changes; proxy eviction reads it).
 *
 * `DB` is the authority for names: {@link ensureShadows} makes the shard agree with it. A shadow
 * still bearing a name that `DB` gave to another id (a repository deleted, then created again; a
 * namespace renamed) is renamed out of the way first, so the unique names never refuse the copy.
 */
import { sql } from "drizzle-orm";
import { batchSql, database, type Db } from "./client";
import { coreShardOf } from "./core-shards";

/** What `DB` says about a repository and its namespace, the shadows' source. */
export interface ShadowSource {
  repository: { id: number; name: string; namespace: string; createdAt: number; firstPushActivityAt: number | null };
  /** The namespace's account; null when `DB` has none (a repository whose namespace was deleted). */
  owner: { id: number; username: string; kind: "user" | "organization" | "robot"; tagExpirationS: number } | null;
}

/** Reads the shadows' source from `DB`, or undefined when the repository id no longer exists. */
export async function readShadowSource(primary: Db, repositoryId: number): Promise<ShadowSource | undefined> {
  const row = await primary.get<
    | {
        id: number;
        name: string;
        namespace: string;
        createdAt: number;
        firstPushActivityAt: number | null;
        ownerId: number | null;
        username: string | null;
        kind: "user" | "organization" | "robot" | null;
        tagExpirationS: number | null;
      }
    | undefined
  >(sql`
    select r.id as id, r.name as name, r.namespace as namespace, r.created_at as createdAt,
      r.first_push_activity_at as firstPushActivityAt, u.id as ownerId, u.username as username,
      u.kind as kind, u.tag_expiration_s as tagExpirationS
    from repositories r left join users u on u.username = r.namespace
    where r.id = ${repositoryId}`);
  if (!row) return undefined;
  const owner =
    row.ownerId === null
      ? null
      : { id: row.ownerId, username: row.username!, kind: row.kind!, tagExpirationS: row.tagExpirationS! };
  const { id, name, namespace, createdAt, firstPushActivityAt } = row;
  return { repository: { id, name, namespace, createdAt, firstPushActivityAt }, owner };
}

/**
 * Makes `shard`'s shadows of the repository and its namespace match `source`, in one batch; a
 * repeat changes nothing. Never call it with `DB` itself, whose rows are the real ones.
 */
export async function ensureShadows(shard: Db, source: ShadowSource): Promise<void> {
  const { repository, owner } = source;
  const statements = [];
  if (owner) {
    statements.push(
      sql`update users set username = '~shadow/' || id where username = ${owner.username} and id <> ${owner.id}`,
      sql`insert into users (id, username, kind, tag_expiration_s)
        values (${owner.id}, ${owner.username}, ${owner.kind}, ${owner.tagExpirationS})
        on conflict (id) do update set username = excluded.username, tag_expiration_s = excluded.tag_expiration_s`,
    );
  }
  statements.push(
    sql`update repositories set name = '~deleted/' || id, namespace = '~deleted'
      where name = ${repository.name} and id <> ${repository.id}`,
    sql`insert into repositories (id, name, namespace, created_at, first_push_activity_at)
      values (${repository.id}, ${repository.name}, ${repository.namespace}, ${repository.createdAt},
        ${repository.firstPushActivityAt})
      on conflict (id) do update set name = excluded.name, namespace = excluded.namespace`,
  );
  await batchSql(shard, statements);
}

/**
 * Copies namespace `namespace`'s settings that its core shard's shadow keeps (`tag_expiration_s`,
 * which the shard's garbage collection and time machine read) from `DB` to that shadow, as `DB`
 * has them now: after `DB`'s change committed (the plan's §5), so a repeat, or copies arriving out
 * of order, leave the latest. Nothing to do when the core is in `DB`, or when the shard has no
 * shadow of the namespace yet (ensureShadows copies the setting when it makes one).
 */
export async function copyNamespaceSettings(env: Env, namespace: string): Promise<void> {
  const shard = await coreShardOf(env, namespace);
  if (shard.number === 0) return;
  const owner = await database(env.DB).get<{ id: number; tagExpirationS: number } | undefined>(
    sql`select id, tag_expiration_s as tagExpirationS from users where username = ${namespace}`,
  );
  if (!owner) return;
  await database(shard.binding).run(
    sql`update users set tag_expiration_s = ${owner.tagExpirationS} where id = ${owner.id}`,
  );
}
