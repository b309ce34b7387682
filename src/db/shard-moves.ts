/**
 * Moving a namespace's sharded rows to another D1 database (README "Scale past one database", the
 * migration path for a running registry), a bounded step each cron tick ({@link stepShardMoves}):
 * 1. `moving` ({@link beginShardMove}, or an operator's SQL on the directory): the namespace's
 *    writers are refused at once (src/db/shards.ts `writableShard` reads the directory from `DB`);
 *    the copy starts {@link DIRECTORY_CACHE_MS} later, when a write that read the row before the
 *    change has landed.
 * 2. Copy: the namespace's rows in id order after `moveCursor`, {@link MOVE_ROWS} at a time, into the
 *    target, each under a key (its event id, or `moved:<shard>:<id>` for an unkeyed pull entry) so
 *    that a repeated chunk inserts nothing.
 * 3. Flip, when a chunk comes back short: `shard` becomes the target and the state `purging`;
 *    writes resume there. Readers' cached rows follow within DIRECTORY_CACHE_MS, reading the old
 *    database meanwhile (every row is still there).
 * 4. Purge, DIRECTORY_CACHE_MS after the flip: the old database's rows are deleted in chunks; then
 *    `active`.
 */
import { and, asc, eq, gt, ne, sql } from "drizzle-orm";
import { type ActionLog, actionLogs, type NamespaceShard, namespaceShards } from "./schema";
import { batchSql, type Db, database } from "./client";
import { allShards, DIRECTORY_CACHE_MS } from "./shards";

/** Rows a copy or purge round moves. */
export const MOVE_ROWS = 500;
/** Rounds a tick runs at most per namespace: 5,000 rows a minute with the one-minute cron. */
export const MOVE_ROUNDS_PER_TICK = 10;

function bindingOf(env: Env, number: number): Db {
  const shard = allShards(env).find((s) => s.number === number);
  if (!shard) throw new Error(`no binding for shard ${number} (DB_SHARD_${number})`);
  return database(shard.binding);
}

/**
 * Starts moving namespace `namespaceId`'s rows to shard `to`. Refused (an Error naming why) for a
 * shard the Worker lacks, the shard it is on already, or a namespace whose move is under way.
 */
export async function beginShardMove(env: Env, namespaceId: number, to: number, nowMs: number): Promise<void> {
  bindingOf(env, to);
  const db = database(env.DB);
  const row = await db.select().from(namespaceShards).where(eq(namespaceShards.namespaceId, namespaceId)).get();
  if (row && row.state !== "active") throw new Error(`namespace ${namespaceId} is already ${row.state}`);
  if ((row?.shard ?? 0) === to) throw new Error(`namespace ${namespaceId} is on shard ${to} already`);
  const moving = { state: "moving" as const, moveShard: to, moveCursor: 0, stateAt: nowMs };
  await db
    .insert(namespaceShards)
    .values({ namespaceId, shard: row?.shard ?? 0, assignedAt: nowMs, ...moving })
    .onConflictDoUpdate({
      target: namespaceShards.namespaceId,
      set: moving,
      where: eq(namespaceShards.state, "active"),
    })
    .run();
}

/** The insert of copied rows into a shard: keyed, so a chunk copied twice inserts nothing. */
function copyStatement(rows: ActionLog[], from: number) {
  const values = rows.map((r) => [
    r.eventId ?? `moved:${from}:${r.id}`,
    r.kind,
    r.performerId,
    r.performerName,
    r.performerKind,
    r.ip,
    r.namespaceId,
    r.namespaceName,
    r.repositoryId,
    r.repositoryName,
    r.metadata,
    r.datetime,
  ]);
  const at = (n: number) => sql.raw(`json_extract(value, '$[${n}]')`);
  // `where true`: an upsert after a select needs it (SQLite "The UPSERT clause", parsing ambiguity).
  return sql`insert into action_logs (event_id, kind, performer_id, performer_name, performer_kind, ip,
      namespace_id, namespace_name, repository_id, repository_name, metadata, datetime)
    select ${at(0)}, ${at(1)}, ${at(2)}, ${at(3)}, ${at(4)}, ${at(5)}, ${at(6)}, ${at(7)}, ${at(8)}, ${at(9)},
      ${at(10)}, ${at(11)}
    from json_each(${JSON.stringify(values)}) where true
    on conflict (event_id) do nothing`;
}

/** Copies a bounded number of rows; flips the directory row when the last chunk is copied. */
async function copyStep(env: Env, move: NamespaceShard, nowMs: number): Promise<number> {
  const db = database(env.DB);
  const [source, target] = [bindingOf(env, move.shard), bindingOf(env, move.moveShard!)];
  let cursor = move.moveCursor ?? 0;
  let copied = 0;
  for (let round = 0; round < MOVE_ROUNDS_PER_TICK; round++) {
    const rows = await source
      .select()
      .from(actionLogs)
      .where(and(eq(actionLogs.namespaceId, move.namespaceId), gt(actionLogs.id, cursor)))
      .orderBy(asc(actionLogs.id))
      .limit(MOVE_ROWS)
      .all();
    if (rows.length > 0) {
      await batchSql(target, [copyStatement(rows, move.shard)]);
      cursor = rows.at(-1)!.id;
      copied += rows.length;
      await db
        .update(namespaceShards)
        .set({ moveCursor: cursor })
        .where(and(eq(namespaceShards.namespaceId, move.namespaceId), eq(namespaceShards.state, "moving")))
        .run();
    }
    if (rows.length < MOVE_ROWS) {
      await db
        .update(namespaceShards)
        .set({ shard: move.moveShard!, moveShard: move.shard, moveCursor: null, state: "purging", stateAt: nowMs })
        .where(and(eq(namespaceShards.namespaceId, move.namespaceId), eq(namespaceShards.state, "moving")))
        .run();
      break;
    }
  }
  return copied;
}

/** Deletes a bounded number of the old database's rows; `active` again once none is left. */
async function purgeStep(env: Env, move: NamespaceShard, nowMs: number): Promise<number> {
  const old = bindingOf(env, move.moveShard!);
  let purged = 0;
  for (let round = 0; round < MOVE_ROUNDS_PER_TICK; round++) {
    const result = await old.run(sql`delete from ${actionLogs} where id in (
      select id from ${actionLogs} where ${eq(actionLogs.namespaceId, move.namespaceId)} limit ${MOVE_ROWS})`);
    const changes = result.meta.changes ?? 0;
    purged += changes;
    if (changes < MOVE_ROWS) {
      await database(env.DB)
        .update(namespaceShards)
        .set({ state: "active", moveShard: null, stateAt: nowMs })
        .where(and(eq(namespaceShards.namespaceId, move.namespaceId), eq(namespaceShards.state, "purging")))
        .run();
      break;
    }
  }
  return purged;
}

/** The cron's step: every move under way advances, once its last change is DIRECTORY_CACHE_MS old. Rows moved or purged. */
export async function stepShardMoves(env: Env, nowMs: number): Promise<number> {
  if (allShards(env).length === 1) return 0;
  const moves = await database(env.DB)
    .select()
    .from(namespaceShards)
    .where(ne(namespaceShards.state, "active"))
    .limit(16)
    .all();
  let done = 0;
  for (const move of moves) {
    if (move.moveShard === null || move.moveShard === move.shard) {
      // A move written by hand onto its own shard: copying and purging would delete every row.
      await database(env.DB)
        .update(namespaceShards)
        .set({ state: "active", moveShard: null, moveCursor: null, stateAt: nowMs })
        .where(eq(namespaceShards.namespaceId, move.namespaceId))
        .run();
      console.error(JSON.stringify({ msg: "shard move refused: no other shard", namespaceId: move.namespaceId }));
      continue;
    }
    if (nowMs - (move.stateAt ?? 0) < DIRECTORY_CACHE_MS) continue;
    done += move.state === "moving" ? await copyStep(env, move, nowMs) : await purgeStep(env, move, nowMs);
  }
  return done;
}
