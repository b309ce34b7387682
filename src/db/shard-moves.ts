/**
 * Moving a namespace to another D1 database (README "Scale past one database", the migration path
 * for a running registry): its action logs and its registry core (the latter copied and purged by
 * the {@link CoreMover} the caller gives: src/registry/core-moves.ts), a bounded step each cron
 * tick ({@link stepShardMoves}). Each half is skipped when it is on the target already.
 * 1. `moving` ({@link beginShardMove}, or an operator's SQL on the directory): the namespace's
 *    writers are refused at once (src/db/shards.ts `writableShard` reads the directory from `DB`);
 *    the copy starts {@link DIRECTORY_CACHE_MS} later, when a write that read the row before the
 *    change has landed.
 * 2. Copy: the namespace's rows in id order after `moveCursor`, {@link MOVE_ROWS} at a time, into the
 *    target, each under a key (its event id, or `moved:<shard>:<id>` for an unkeyed pull entry) so
 *    that a repeated chunk inserts nothing.
 * 3. Flip, when the logs' chunk comes back short and the core is copied: `shard` and `core_shard`
 *    become the target and the state `purging`; log writes resume there, core writes
 *    DIRECTORY_CACHE_MS later (src/db/core-shards.ts), once no isolate reads the old database.
 *    Readers' cached rows follow within DIRECTORY_CACHE_MS, reading the old database meanwhile
 *    (every row is still there).
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

/** A bounded part of a move's registry-core half, and where the next one starts. */
export interface CoreMoveProgress {
  /** Where the next call resumes (kept in `move_core_cursor`); null when `done`. */
  cursor: string | null;
  done: boolean;
  /** Chunks copied or deleted. */
  chunks: number;
}

/**
 * The registry core's half of a move, given by the caller (src/registry/core-moves.ts): copying
 * it needs the domain's shadows and recounts, which this module sits below.
 */
export interface CoreMover {
  copy(
    env: Env,
    move: { namespaceId: number; from: number; to: number; cursor: string | null },
    nowMs: number,
  ): Promise<CoreMoveProgress>;
  purge(env: Env, move: { namespaceId: number; from: number; cursor: string | null }): Promise<CoreMoveProgress>;
}

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
  if ((row?.shard ?? 0) === to && (row?.coreShard ?? 0) === to)
    throw new Error(`namespace ${namespaceId} is on shard ${to} already`);
  const moving = { state: "moving" as const, moveShard: to, moveCursor: 0, moveCoreCursor: null, stateAt: nowMs };
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

/** Copies a bounded number of the namespace's action-log rows; `done` once a chunk comes back short. */
async function copyLogs(env: Env, move: NamespaceShard): Promise<{ copied: number; done: boolean }> {
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
    if (rows.length < MOVE_ROWS) return { copied, done: true };
  }
  return { copied, done: false };
}

/** Copies a bounded part of the move (logs first, then the core); flips the directory row when all is copied. */
async function copyStep(env: Env, move: NamespaceShard, nowMs: number, core: CoreMover): Promise<number> {
  const db = database(env.DB);
  const to = move.moveShard!;
  const stillMoving = and(eq(namespaceShards.namespaceId, move.namespaceId), eq(namespaceShards.state, "moving"));
  let copied = 0;
  if (move.shard !== to) {
    const logs = await copyLogs(env, move);
    copied += logs.copied;
    if (!logs.done) return copied;
  }
  const coreFrom = move.coreShard ?? 0;
  if (coreFrom !== to) {
    const progress = await core.copy(
      env,
      { namespaceId: move.namespaceId, from: coreFrom, to, cursor: move.moveCoreCursor },
      nowMs,
    );
    copied += progress.chunks;
    if (!progress.done) {
      await db.update(namespaceShards).set({ moveCoreCursor: progress.cursor }).where(stillMoving).run();
      return copied;
    }
  }
  await db
    .update(namespaceShards)
    .set({
      shard: to,
      coreShard: to === 0 ? null : to,
      moveShard: move.shard,
      moveCoreShard: coreFrom === to ? null : coreFrom,
      moveCursor: null,
      moveCoreCursor: null,
      state: "purging",
      stateAt: nowMs,
    })
    .where(stillMoving)
    .run();
  return copied;
}

/** Deletes a bounded number of the old database's action-log rows; `done` once none is left. */
async function purgeLogs(env: Env, move: NamespaceShard): Promise<{ purged: number; done: boolean }> {
  const old = bindingOf(env, move.moveShard!);
  let purged = 0;
  for (let round = 0; round < MOVE_ROUNDS_PER_TICK; round++) {
    const result = await old.run(sql`delete from ${actionLogs} where id in (
      select id from ${actionLogs} where ${eq(actionLogs.namespaceId, move.namespaceId)} limit ${MOVE_ROWS})`);
    const changes = result.meta.changes ?? 0;
    purged += changes;
    if (changes < MOVE_ROWS) return { purged, done: true };
  }
  return { purged, done: false };
}

/** Deletes a bounded part of what the move left in the old databases; `active` again once none is left. */
async function purgeStep(env: Env, move: NamespaceShard, nowMs: number, core: CoreMover): Promise<number> {
  const db = database(env.DB);
  const stillPurging = and(eq(namespaceShards.namespaceId, move.namespaceId), eq(namespaceShards.state, "purging"));
  let purged = 0;
  if (move.moveShard !== null && move.moveShard !== move.shard) {
    const logs = await purgeLogs(env, move);
    purged += logs.purged;
    if (!logs.done) return purged;
  }
  if (move.moveCoreShard !== null && move.moveCoreShard !== (move.coreShard ?? 0)) {
    const from = move.moveCoreShard;
    const progress = await core.purge(env, { namespaceId: move.namespaceId, from, cursor: move.moveCoreCursor });
    purged += progress.chunks;
    if (!progress.done) {
      await db.update(namespaceShards).set({ moveCoreCursor: progress.cursor }).where(stillPurging).run();
      return purged;
    }
  }
  await db
    .update(namespaceShards)
    .set({ state: "active", moveShard: null, moveCoreShard: null, moveCoreCursor: null, stateAt: nowMs })
    .where(stillPurging)
    .run();
  return purged;
}

/**
 * The cron's step: every move under way advances, once its last change is DIRECTORY_CACHE_MS old.
 * Rows of action logs and chunks of the core moved or purged.
 */
export async function stepShardMoves(env: Env, nowMs: number, core: CoreMover): Promise<number> {
  if (allShards(env).length === 1) return 0;
  const moves = await database(env.DB)
    .select()
    .from(namespaceShards)
    .where(ne(namespaceShards.state, "active"))
    .limit(16)
    .all();
  let done = 0;
  for (const move of moves) {
    const onItsTarget = move.moveShard === move.shard && (move.coreShard ?? 0) === move.moveShard;
    if (move.state === "moving" && (move.moveShard === null || onItsTarget)) {
      // A move written by hand onto its own shard: copying and purging would delete every row.
      await database(env.DB)
        .update(namespaceShards)
        .set({ state: "active", moveShard: null, moveCursor: null, moveCoreCursor: null, stateAt: nowMs })
        .where(eq(namespaceShards.namespaceId, move.namespaceId))
        .run();
      console.error(JSON.stringify({ msg: "shard move refused: no other shard", namespaceId: move.namespaceId }));
      continue;
    }
    if (nowMs - (move.stateAt ?? 0) < DIRECTORY_CACHE_MS) continue;
    done += move.state === "moving" ? await copyStep(env, move, nowMs, core) : await purgeStep(env, move, nowMs, core);
  }
  return done;
}
