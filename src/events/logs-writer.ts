/**
 * Writing action logs (the `action_logs` table). Two sources, neither on a request's path:
 * - registry events: {@link writeActionLog}, a subscriber of the EVENTS consumer
 *   (src/events/subscribers.ts), one row per event keyed by the event's id, so a repeat delivery
 *   (the consumer's at-least-once) writes nothing;
 * - pulls: {@link pullLogStatements}, which the pull statistics consumer (src/queues/
 *   pull-statistics.ts) adds to the D1 batch that sums the same pulls, so the log and the counts
 *   commit together and never disagree. Every pull is logged, as Quay logs every `pull_repo`; what
 *   the one pull-counting mechanism may lose or count twice (src/registry/pull-counts.ts) the log
 *   loses or repeats alike.
 * The namespace's id is looked up by name inside the insert: events carry the name only.
 *
 * With shards (src/db/shards.ts) a namespace's entries go to its database; `DB` keeps an event's
 * count, the namespace's core database a pull's (src/db/core-shards.ts). Two databases share no
 * transaction, so an entry is written first and keyed (an event's id; a pull's queue message id
 * and place) so that a retry of the whole writes it once, then the counts; or, for pulls whose
 * counts are in a shard, the pull statistics consumer marks what each database committed
 * (src/queues/pull-statistics-per-database.ts).
 */
import { eq, type SQL, sql } from "drizzle-orm";
import { batchSql, database, type Db } from "../db/client";
import { allShards, type Shard, writablePlacement, writableShard } from "../db/shards";
import { repositories, users } from "../db/schema";
import type { PullRecord } from "../registry/pull-counts";
import type { RegistryEvent } from "./catalogue";
import { isLogged, metadataOf, performerOf } from "./logs-metadata";

const namespaceId = (name: SQL | string | null) => sql`(select id from users where username = ${name})`;

/**
 * The insert of `event`'s entry; a second one for the same event id inserts nothing. The
 * namespace's id is looked up in the same database unless given (a shard has no `users`).
 */
export function actionLogStatement(
  event: RegistryEvent,
  namespace: SQL | number | null = namespaceId(event.namespace),
): SQL {
  const performer = performerOf(event.actor);
  return sql`insert into action_logs (event_id, kind, performer_id, performer_name, performer_kind, ip,
      namespace_id, namespace_name, repository_id, repository_name, metadata, datetime)
    values (${event.id}, ${event.kind}, ${performer?.id ?? null}, ${performer?.name ?? null},
      ${performer?.kind ?? null}, ${event.ip}, ${namespace}, ${event.namespace},
      ${event.repository?.id ?? null}, ${event.repository?.name ?? null}, ${JSON.stringify(metadataOf(event))},
      ${event.at})
    on conflict (event_id) do nothing`;
}

/** A ms time's UTC day, `YYYY-MM-DD`. */
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Counts an entry toward its repository's day (Quay's RepositoryActionCount). After the entry's
 * insert in one batch, `changes()` is that statement's: an event already logged adds nothing.
 */
function actionCountStatement(repositoryId: number, atMs: number, afterInsert = true): SQL {
  return sql`insert into repository_action_counts (repository_id, day, count)
    select ${repositoryId}, ${dayOf(atMs)}, 1
    where ${afterInsert ? sql`changes() = 1` : sql`1`} and exists (select 1 from repositories r where r.id = ${repositoryId})
    on conflict (repository_id, day) do update set count = repository_action_counts.count + 1`;
}

/**
 * The EVENTS subscriber: records `event` as an action-log entry when its kind is logged, and a
 * repository's entry in its daily count, in one batch (one transaction).
 */
export async function writeActionLog(env: Env, event: RegistryEvent): Promise<void> {
  if (!isLogged(event.kind)) return;
  const db = database(env.DB);
  if (allShards(env).length > 1) {
    const namespace = await namespaceIdOf(db, event.namespace);
    const shard = await writableShard(env, namespace);
    if (shard.number !== 0) return writeShardedActionLog(db, shard, event, namespace);
  }
  const entry = actionLogStatement(event);
  if (event.repository === null) await db.run(entry);
  else await batchSql(db, [entry, actionCountStatement(event.repository.id, event.at)]);
}

async function namespaceIdOf(db: Db, name: string | null): Promise<number | null> {
  if (name === null) return null;
  return (await db.select({ id: users.id }).from(users).where(eq(users.username, name)).get())?.id ?? null;
}

/**
 * The entry in the namespace's shard, then its count in `DB` when the entry is new. Should the
 * count fail, the entry is taken back so that the retry writes both; only a crash between the two
 * writes loses that one count (the entry stays): counts are statistics, the entry is the record.
 */
async function writeShardedActionLog(
  db: Db,
  shard: Shard,
  event: RegistryEvent,
  namespace: number | null,
): Promise<void> {
  const entries = database(shard.binding);
  const written = await entries.run(actionLogStatement(event, namespace));
  if (event.repository === null || (written.meta.changes ?? 0) !== 1) return;
  try {
    await db.run(actionCountStatement(event.repository.id, event.at, false));
  } catch (err) {
    await entries.run(sql`delete from action_logs where event_id = ${event.id}`);
    throw err;
  }
}

/** Quay's `pull_repo` metadata (util/audit.py `track_and_log`): the place, the reference, the puller. */
export function pullMetadata(pull: PullRecord): string {
  return JSON.stringify({
    repo: pull.repository.slice(pull.namespace.length + 1),
    namespace: pull.namespace,
    ...(pull.tag === null ? { manifest_digest: pull.digest } : { tag: pull.tag, manifest_digest: pull.digest }),
    ...(pull.actor.kind === "anonymous" ? {} : { username: pull.actor.name }),
    ...(pull.userAgent === undefined ? {} : { "user-agent": pull.userAgent }),
  });
}

const at = (n: number) => sql.raw(`json_extract(value, '$[${n}]')`);

/** A pull's entry as the JSON array its statement reads back by place ({@link at}). */
function pullRow(p: PullRecord): unknown[] {
  const actor = p.actor.kind === "anonymous" ? null : p.actor;
  return [
    actor?.id ?? null,
    actor?.name ?? null,
    actor?.kind ?? null,
    p.clientIp,
    p.namespace,
    p.repositoryId,
    p.repository,
    pullMetadata(p),
    p.at,
  ];
}

/**
 * Pulls per statement. Each statement binds its pulls as one JSON array (D1 binds at most 100
 * parameters, which would cut a delivery's entries into a statement per 11 pulls); a pull's row is
 * about 300 bytes, so a statement carries well under D1's limits on a bound value.
 */
const PULLS_PER_STATEMENT = 200;

/**
 * The inserts of one `pull_repo` entry per pull, {@link PULLS_PER_STATEMENT} a statement; pulls
 * of a repository deleted since are skipped, as their counts are.
 */
export function pullLogStatements(pulls: readonly PullRecord[]): SQL[] {
  const statements: SQL[] = [];
  for (let i = 0; i < pulls.length; i += PULLS_PER_STATEMENT) {
    const rows = pulls.slice(i, i + PULLS_PER_STATEMENT).map(pullRow);
    statements.push(sql`insert into action_logs (kind, performer_id, performer_name, performer_kind, ip,
        namespace_id, namespace_name, repository_id, repository_name, metadata, datetime)
      select 'pull_repo', ${at(0)}, ${at(1)}, ${at(2)}, ${at(3)}, ${namespaceId(at(4))}, ${at(4)}, ${at(5)}, ${at(6)},
        ${at(7)}, ${at(8)}
      from json_each(${JSON.stringify(rows)})
      where exists (select 1 from repositories r where r.id = ${at(5)})`);
  }
  return statements;
}

/** A pull and the key its entry is written under in a shard: its queue message's id and place. */
export interface KeyedPull {
  pull: PullRecord;
  key: string;
}

/**
 * A pull with the databases it is written to (src/db/shards.ts): `logShard` holds its `pull_repo`
 * entry, `coreShard` its counts (src/db/core-shards.ts). `namespaceId` is its namespace's id in
 * `DB`, null for a name that is no namespace (both databases are then `DB`).
 */
export interface PlacedPull extends KeyedPull {
  namespaceId: number | null;
  logShard: Shard;
  coreShard: Shard;
}

/**
 * Places every pull: no query without shards; else one read of the namespaces' ids, then each
 * namespace's directory row from `DB` (placing a namespace on its first write, as an event's entry
 * would). A namespace being moved refuses its writes ({@link writablePlacement}): the caller
 * retries the delivery.
 */
export async function placePulls<P extends KeyedPull>(env: Env, pulls: readonly P[]): Promise<Array<P & PlacedPull>> {
  const shards = allShards(env);
  if (shards.length === 1)
    return pulls.map((p) => ({ ...p, namespaceId: null, logShard: shards[0]!, coreShard: shards[0]! }));
  const names = JSON.stringify([...new Set(pulls.map((p) => p.pull.namespace))]);
  const namespaceIds = new Map(
    (
      await database(env.DB)
        .select({ id: users.id, name: users.username })
        .from(users)
        .where(sql`${users.username} in (select value from json_each(${names}))`)
        .all()
    ).map((r) => [r.name, r.id]),
  );
  const placements = new Map<string, { shard: Shard; coreShard: Shard }>();
  for (const name of new Set(pulls.map((p) => p.pull.namespace)))
    placements.set(name, await writablePlacement(env, namespaceIds.get(name) ?? null));
  return pulls.map((p) => {
    const { shard, coreShard } = placements.get(p.pull.namespace)!;
    return { ...p, namespaceId: namespaceIds.get(p.pull.namespace) ?? null, logShard: shard, coreShard };
  });
}

/** Inserts of keyed `pull_repo` entries into a shard: the namespace's id given, a repeated key skipped. */
function shardPullLogStatements(pulls: ReadonlyArray<KeyedPull & { namespaceId: number | null }>): SQL[] {
  const statements: SQL[] = [];
  for (let i = 0; i < pulls.length; i += PULLS_PER_STATEMENT) {
    const rows = pulls.slice(i, i + PULLS_PER_STATEMENT).map((p) => [...pullRow(p.pull), p.key, p.namespaceId]);
    // `where true`: an upsert after a select needs it (SQLite "The UPSERT clause", parsing ambiguity).
    statements.push(sql`insert into action_logs (kind, performer_id, performer_name, performer_kind, ip,
        namespace_id, namespace_name, repository_id, repository_name, metadata, datetime, event_id)
      select 'pull_repo', ${at(0)}, ${at(1)}, ${at(2)}, ${at(3)}, ${at(10)}, ${at(4)}, ${at(5)}, ${at(6)},
        ${at(7)}, ${at(8)}, ${at(9)}
      from json_each(${JSON.stringify(rows)}) where true
      on conflict (event_id) do nothing`);
  }
  return statements;
}

/**
 * The ids, among the repositories of `pulls` whose entries go to a shard other than `DB`, that
 * `DB` still has: a log shard need not hold `repositories`, so pulls of a repository deleted since
 * are left out by this read (one query; none when every entry goes to `DB`).
 */
export async function liveShardLogRepositories(env: Env, pulls: readonly PlacedPull[]): Promise<Set<number>> {
  const ids = [...new Set(pulls.filter((p) => p.logShard.number !== 0).map((p) => p.pull.repositoryId))];
  if (ids.length === 0) return new Set();
  const rows = await database(env.DB)
    .select({ id: repositories.id })
    .from(repositories)
    .where(sql`${repositories.id} in (select value from json_each(${JSON.stringify(ids)}))`)
    .all();
  return new Set(rows.map((r) => r.id));
}

/**
 * The inserts of the `pull_repo` entries of `pulls`, all logged in `shard`: in `DB`, as
 * {@link pullLogStatements}; in another shard, keyed, and only those of `live` repositories
 * ({@link liveShardLogRepositories}).
 */
export function placedPullLogStatements(shard: Shard, pulls: readonly PlacedPull[], live: Set<number>): SQL[] {
  if (shard.number === 0) return pullLogStatements(pulls.map((p) => p.pull));
  return shardPullLogStatements(pulls.filter((p) => live.has(p.pull.repositoryId)));
}

/**
 * Writes the `pull_repo` entries of pulls whose namespace lives in a shard other than `DB`, one
 * batch per shard, before the counts (a retried delivery writes them again under the same keys,
 * which inserts nothing); returns the pulls whose entries go in `DB`'s batch with the counts.
 */
export async function writeShardedPullLogs(env: Env, pulls: readonly PlacedPull[]): Promise<PullRecord[]> {
  const inPrimary: PullRecord[] = [];
  const sharded = new Map<Shard, PlacedPull[]>();
  for (const p of pulls) {
    if (p.logShard.number === 0) inPrimary.push(p.pull);
    else {
      const list = sharded.get(p.logShard) ?? [];
      if (list.length === 0) sharded.set(p.logShard, list);
      list.push(p);
    }
  }
  if (sharded.size === 0) return inPrimary;
  const live = await liveShardLogRepositories(env, pulls);
  for (const [shard, placed] of sharded)
    await batchSql(database(shard.binding), placedPullLogStatements(shard, placed, live));
  return inPrimary;
}
