/**
 * Metadata past one D1 database (README "Scale past one database"). One D1 database holds at most
 * 10 GB (Cloudflare D1 limits), so the tables that grow without bound per namespace are sharded by
 * namespace: every database has the one schema (the same migrations_dir, applied by `npm start`,
 * the tests and `npm run deploy`) and its own D1 Time Travel. Sharded today: `action_logs`
 * ({@link SHARDED_TABLES}); everything else stays in `DB`.
 *
 * Shard 0 is the binding `DB`, which also holds the directory (`namespace_shards`); shard n is the
 * binding `DB_SHARD_<n>`. With no `DB_SHARD_<n>` binding nothing is asked and everything is in
 * `DB`: a deployment without shards runs as before. A namespace without a directory row lives on
 * shard 0: every namespace of a registry that adds shards later stays where its rows are.
 *
 * A namespace gets its row on its first write with shards configured ({@link writableShard}):
 * shard 0 if `DB` already holds its rows, else one of the `DB_SHARD_<n>` by its id. The row
 * changes only through a move (`moving`, then a flip), so an isolate may keep it for
 * {@link DIRECTORY_CACHE_MS}; a move waits that long between its steps (README's migration path).
 */
import { eq, sql } from "drizzle-orm";
import { readConfig } from "../config";
import { clock } from "../lib/clock";
import { SizedLru } from "../lib/sized-lru";
import { type Db, database } from "./client";
import { type NamespaceShard, namespaceShards, users } from "./schema";

/** The tables kept per namespace on its shard, with the column naming the namespace's id. */
export const SHARDED_TABLES = [{ table: "action_logs", namespaceColumn: "namespace_id" }] as const;

/**
 * How long an isolate trusts a directory row it read. Writes never use a cached row (they read
 * the primary), so `moving` refuses a write at once; reads may follow a flipped row this late.
 */
export const DIRECTORY_CACHE_MS = 60_000;

/** One database holding sharded tables: its number in the directory and its binding. */
export interface Shard {
  number: number;
  binding: D1Database;
}

const SHARD_BINDING = /^DB_SHARD_([1-9]\d{0,3})$/;

const shardLists = new WeakMap<object, Shard[]>();

function isD1(value: unknown): value is D1Database {
  return typeof value === "object" && value !== null && typeof (value as D1Database).prepare === "function";
}

/** Every database, shard 0 (`DB`) first, then each `DB_SHARD_<n>` binding by number. */
export function allShards(env: Env): Shard[] {
  let list = shardLists.get(env);
  if (!list) {
    const extra: Shard[] = [];
    for (const [name, value] of Object.entries(env)) {
      const match = SHARD_BINDING.exec(name);
      if (match && isD1(value)) extra.push({ number: Number(match[1]), binding: value });
    }
    list = [{ number: 0, binding: env.DB }, ...extra.sort((a, b) => a.number - b.number)];
    shardLists.set(env, list);
  }
  return list;
}

/** Drizzle clients over every database: the fan-out of readers that span namespaces. */
export function allShardDbs(env: Env): Db[] {
  return allShards(env).map((s) => database(s.binding));
}

export function shardNumbered(env: Env, number: number): Shard {
  const shard = allShards(env).find((s) => s.number === number);
  // The directory names a binding the Worker lacks: the configuration lost a database that holds
  // metadata. Never fall back to DB, which would write a namespace's rows in two places.
  if (!shard) throw new Error(`the shard directory names shard ${number}, but there is no binding DB_SHARD_${number}`);
  return shard;
}

type Placement = Pick<NamespaceShard, "shard" | "state" | "coreShard">;

/**
 * Directory rows read, by namespace id. An absence is kept as shard 0 too (a namespace's reads on
 * /v2 must not ask `DB` each time): after a first write assigns it elsewhere, other isolates read
 * `DB` for at most DIRECTORY_CACHE_MS, missing only the entries written meanwhile.
 */
const directory = new SizedLru<number, { row: Placement; readAt: number }>(1 << 20, 64);

/** Namespace ids by name, read through `users`: a name can be renamed or reused, so briefly. */
const namespaceIds = new SizedLru<string, { id: number | null; readAt: number }>(1 << 20, 512);

const fresh = (readAt: number) => clock.now() - readAt < DIRECTORY_CACHE_MS;

async function readPlacement(primary: Db, namespaceId: number): Promise<Placement | undefined> {
  return primary
    .select({ shard: namespaceShards.shard, state: namespaceShards.state, coreShard: namespaceShards.coreShard })
    .from(namespaceShards)
    .where(eq(namespaceShards.namespaceId, namespaceId))
    .get();
}

/** The shard a namespace's rows are read from (shard 0 when it has none assigned). */
export async function namespaceIdShard(env: Env, namespaceId: number | null): Promise<Shard> {
  const shards = allShards(env);
  if (shards.length === 1 || namespaceId === null) return shards[0]!;
  const cached = directory.get(namespaceId);
  if (cached && fresh(cached.readAt)) return shardNumbered(env, cached.row.shard);
  const row = (await readPlacement(database(env.DB), namespaceId)) ?? {
    shard: 0,
    state: "active" as const,
    coreShard: null,
  };
  directory.set(namespaceId, { row, readAt: clock.now() }, 64);
  return shardNumbered(env, row.shard);
}

/**
 * The D1 binding that holds namespace `namespace`'s sharded tables, for reading (the contract with
 * the per-request D1 sessions of src/middleware/db-session.ts). `DB` when no shard is configured
 * (no query), or for a name that is no namespace.
 */
export async function namespaceBinding(env: Env, namespace: string): Promise<D1Database> {
  if (allShards(env).length === 1) return env.DB;
  let known = namespaceIds.get(namespace);
  if (!known || !fresh(known.readAt)) {
    const row = await database(env.DB).select({ id: users.id }).from(users).where(eq(users.username, namespace)).get();
    known = { id: row?.id ?? null, readAt: clock.now() };
    namespaceIds.set(namespace, known, namespace.length * 2 + 32);
  }
  return (await namespaceIdShard(env, known.id)).binding;
}

/** The drizzle client over {@link namespaceBinding}'s database (plan §8's `shardOf`). */
export async function shardOf(env: Env, namespace: string): Promise<Db> {
  return database(await namespaceBinding(env, namespace));
}

/**
 * A namespace in the middle of a move between databases: its writes wait until the flip. The
 * queue consumers let it throw (the delivery is retried later); a route maps it to its read-only
 * answer (Quay's 503 under REGISTRY_STATE=readonly).
 */
export class NamespaceMovingError extends Error {
  constructor(readonly namespaceId: number) {
    super(`namespace ${namespaceId} is being moved between databases; try again shortly`);
    this.name = "NamespaceMovingError";
  }
}

/** Whether `DB` already holds rows of the namespace in a sharded table: then it stays there. */
async function holdsRowsInPrimary(primary: Db, namespaceId: number): Promise<boolean> {
  for (const { table, namespaceColumn } of SHARDED_TABLES) {
    const found = await primary.get<{ one: number } | undefined>(
      sql`select 1 as one from ${sql.identifier(table)} where ${sql.identifier(namespaceColumn)} = ${namespaceId} limit 1`,
    );
    if (found) return true;
  }
  return false;
}

/** The shard a new namespace goes to: one of the `DB_SHARD_<n>` by its id (ids are sequential, so spread evenly). */
function shardForNew(env: Env, namespaceId: number): number {
  const extra = allShards(env).slice(1);
  return extra[namespaceId % extra.length]!.number;
}

/**
 * Whether `DB` holds registry-core rows of the namespace: a manifest or a blob link of one of its
 * repositories. Then its core stays in `DB` (src/db/core-shards.ts); a namespace with none yet
 * may start on its shard, since nothing can have read them anywhere else.
 */
async function holdsCoreRowsInPrimary(primary: Db, namespaceId: number): Promise<boolean> {
  const found = await primary.get<{ one: number } | undefined>(sql`
    select 1 as one from users u join repositories r on r.namespace = u.username
    where u.id = ${namespaceId}
      and (exists (select 1 from manifests m where m.repository_id = r.id)
        or exists (select 1 from repository_blobs b where b.repository_id = r.id))
    limit 1`);
  return found !== undefined;
}

/**
 * The namespace's directory row, read from the primary and inserted on its first write. Its
 * action logs go to shard 0 if `DB` already holds some, else to one of the `DB_SHARD_<n>`; its
 * registry core goes along when SHARD_REGISTRY_CORE is on and `DB` holds no core rows of it.
 * Two first writes at once agree: the row is inserted once, then read back.
 */
export async function placeNamespace(env: Env, namespaceId: number): Promise<Placement> {
  const primary = database(env.DB);
  const row = await readPlacement(primary, namespaceId);
  if (row) return row;
  const shard = (await holdsRowsInPrimary(primary, namespaceId)) ? 0 : shardForNew(env, namespaceId);
  const coreOn = shard !== 0 && readConfig(env).SHARD_REGISTRY_CORE;
  const coreShard = coreOn && !(await holdsCoreRowsInPrimary(primary, namespaceId)) ? shard : null;
  await primary
    .insert(namespaceShards)
    .values({ namespaceId, shard, coreShard, state: "active", assignedAt: clock.now() })
    .onConflictDoNothing()
    .run();
  const placed = await readPlacement(primary, namespaceId);
  if (!placed) throw new Error(`namespace ${namespaceId} has no shard after its assignment`);
  return placed;
}

/**
 * The shard a namespace's rows are written to, read from the primary's directory (never a cached
 * row: a `moving` namespace is refused at once with {@link NamespaceMovingError}). Assigns the
 * namespace on its first write ({@link placeNamespace}).
 */
export async function writableShard(env: Env, namespaceId: number | null): Promise<Shard> {
  return (await writablePlacement(env, namespaceId)).shard;
}

/**
 * {@link writableShard} with the database of the namespace's registry core too (its directory
 * row's `core_shard`, src/db/core-shards.ts), from the same read: the pull-statistics consumer
 * writes a pull's log entry and its counts, and must not ask the directory twice. `DB` for both
 * without shards or for a name that is no namespace, as `coreShardOf` answers.
 */
export async function writablePlacement(
  env: Env,
  namespaceId: number | null,
): Promise<{ shard: Shard; coreShard: Shard }> {
  const shards = allShards(env);
  if (shards.length === 1 || namespaceId === null) return { shard: shards[0]!, coreShard: shards[0]! };
  const row = await placeNamespace(env, namespaceId);
  if (row.state === "moving") throw new NamespaceMovingError(namespaceId);
  directory.set(namespaceId, { row, readAt: clock.now() }, 64);
  return { shard: shardNumbered(env, row.shard), coreShard: shardNumbered(env, row.coreShard ?? 0) };
}

/** Forgets what this isolate read of the directory (tests, and a move's own isolate after a flip). */
export function forgetDirectory(): void {
  for (const key of [...directory.keys()]) directory.delete(key);
  for (const key of [...namespaceIds.keys()]) namespaceIds.delete(key);
}
