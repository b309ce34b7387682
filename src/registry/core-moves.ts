/**
 * The registry core's half of moving a namespace between databases (docs/sharding-the-registry-
 * core.md, Stage 5; the directory's side and the action logs are src/db/shard-moves.ts, which the
 * cron drives a bounded step a minute):
 * 1. While `moving`, the namespace's core writes are refused (src/db/core-shards.ts
 *    `writableCoreShard`, a read-only answer on both surfaces; the pull-statistics consumer's
 *    deliveries are retried), and the copy starts DIRECTORY_CACHE_MS after that began, when every
 *    write that read the directory before has landed. Reads go on from the old database.
 * 2. Copy: each live repository of the namespace in id order (`DB` is the directory): its shadow
 *    rows in the target (src/db/core-shadows.ts) with the first-push mark the old database kept,
 *    then {@link COPY_STEPS}, then its storage recount there; the namespace's recount last. A
 *    repository created meanwhile has no core rows yet; one deleted meanwhile cannot be (deletes
 *    take the same refusal), and a tombstone's rows stay where the purge finds them (by its id).
 * 3. The flip (src/db/shard-moves.ts): reads follow the directory within DIRECTORY_CACHE_MS, and
 *    writes resume on the target only then, so no read served from the old database misses one.
 * 4. Purge, DIRECTORY_CACHE_MS after the flip: each repository's core rows in the old database,
 *    then its shadow and the namespace's (when that database is a shard; `DB`'s rows are the
 *    directory). The old database's `blobs` rows stay: another namespace there may link the same
 *    digest. Its garbage collection takes the rows no manifest references after their grace, and
 *    the bytes stay while the target's rows name them (§4.2 of the plan; the copy marks them used).
 */
import { and, asc, eq, gt, sql } from "drizzle-orm";
import { database, type Db } from "../db/client";
import { ensureShadows, readShadowSource } from "../db/core-shadows";
import { repositories, users } from "../db/schema";
import type { CoreMover, CoreMoveProgress } from "../db/shard-moves";
import { shardNumbered } from "../db/shards";
import { recountNamespace, recountRepository } from "../gc/storage";
import { type After, COPY_STEPS } from "./core-move-copy";
import { PURGE_CHUNK, purgeCoreRows } from "./repository-deletion";

/** Steps a tick runs at most: chunks of COPY_ROWS rows, or one repository's shadows or recount. */
export const CORE_STEPS_PER_TICK = 100;
/** Wall time a tick spends at most on one namespace's core (the cron's own limit is far above). */
const TICK_BUDGET_MS = 15_000;

/** Where a copy stands: repository `r`, step `s` (-1: its shadows; COPY_STEPS.length: its recount), after `a`. */
interface Cursor {
  r: number;
  s: number;
  a: After;
}

const SHADOWS = -1;

async function namespaceName(primary: Db, namespaceId: number): Promise<string | null> {
  return (
    (await primary.select({ name: users.username }).from(users).where(eq(users.id, namespaceId)).get())?.name ?? null
  );
}

/** The namespace's next live repository after id `after`, in `DB` (the directory). */
async function repositoryAfter(primary: Db, namespace: string, after: number): Promise<number | null> {
  const row = await primary
    .select({ id: repositories.id })
    .from(repositories)
    .where(and(eq(repositories.namespace, namespace), gt(repositories.id, after)))
    .orderBy(asc(repositories.id))
    .limit(1)
    .get();
  return row?.id ?? null;
}

/**
 * Makes the target's shadows of repository `id` (none in `DB`, whose rows are the real ones) and
 * carries the first-push mark over. The empty-repository scan deletes only a repository marked
 * both in `DB` and on its core's shard (src/gc/empty-repositories.ts), and describing it or
 * choosing its visibility clears `DB`'s mark alone: so the target keeps a mark only when both
 * databases have one (the later), never reviving one that either had cleared.
 * False when the repository is gone from `DB` meanwhile.
 */
async function shadowsIn(primary: Db, from: Db, to: Db, toNumber: number, id: number): Promise<boolean> {
  if (toNumber !== 0) {
    const source = await readShadowSource(primary, id);
    if (!source) return false;
    await ensureShadows(to, source);
  }
  const mark = await from.get<{ at: number | null } | undefined>(
    sql`select first_push_activity_at as at from repositories where id = ${id}`,
  );
  if (mark)
    await to.run(sql`update repositories set first_push_activity_at =
      case when first_push_activity_at is null or ${mark.at} is null then null
        else max(first_push_activity_at, ${mark.at}) end
      where id = ${id}`);
  return true;
}

const client = (env: Env, number: number) => database(shardNumbered(env, number).binding);

/** Copies a bounded part of the namespace's core from `from` to `to` after `cursor`. */
async function copy(
  env: Env,
  move: { namespaceId: number; from: number; to: number; cursor: string | null },
  nowMs: number,
): Promise<CoreMoveProgress> {
  const primary = database(env.DB);
  const [from, to] = [client(env, move.from), client(env, move.to)];
  const name = await namespaceName(primary, move.namespaceId);
  const finished = { cursor: null, done: true };
  if (name === null) return { ...finished, chunks: 0 };
  let cursor: Cursor | null = move.cursor === null ? null : (JSON.parse(move.cursor) as Cursor);
  if (cursor === null) {
    const first = await repositoryAfter(primary, name, 0);
    if (first === null) return { ...finished, chunks: 0 };
    cursor = { r: first, s: SHADOWS, a: null };
  }
  const deadline = Date.now() + TICK_BUDGET_MS;
  let chunks = 0;
  for (; chunks < CORE_STEPS_PER_TICK && Date.now() < deadline; chunks++) {
    if (cursor.s === SHADOWS) {
      const live = await shadowsIn(primary, from, to, move.to, cursor.r);
      cursor = { r: cursor.r, s: live ? 0 : COPY_STEPS.length, a: null };
    } else if (cursor.s < COPY_STEPS.length) {
      const next = await COPY_STEPS[cursor.s]!(from, to, cursor.r, cursor.a, nowMs);
      cursor = next === null ? { r: cursor.r, s: cursor.s + 1, a: null } : { ...cursor, a: next };
    } else {
      await recountRepository(to, cursor.r);
      const next = await repositoryAfter(primary, name, cursor.r);
      if (next === null) {
        await recountNamespace(to, name);
        return { ...finished, chunks: chunks + 1 };
      }
      cursor = { r: next, s: SHADOWS, a: null };
    }
  }
  return { cursor: JSON.stringify(cursor), done: false, chunks };
}

/** Deletes a bounded part of what the core left in database `from`, after repository id `cursor`. */
async function purge(
  env: Env,
  move: { namespaceId: number; from: number; cursor: string | null },
): Promise<CoreMoveProgress> {
  const primary = database(env.DB);
  const old = client(env, move.from);
  const name = await namespaceName(primary, move.namespaceId);
  let after = move.cursor === null ? 0 : Number(move.cursor);
  let chunks = 0;
  const deadline = Date.now() + TICK_BUDGET_MS;
  for (let id = name === null ? null : await repositoryAfter(primary, name, after); id !== null; ) {
    if (chunks >= CORE_STEPS_PER_TICK || Date.now() >= deadline) return { cursor: String(after), done: false, chunks };
    const step = await purgeCoreRows(old, id, CORE_STEPS_PER_TICK - chunks);
    chunks += Math.max(1, Math.ceil(step.deleted / PURGE_CHUNK));
    if (!step.done) return { cursor: String(after), done: false, chunks };
    if (move.from !== 0) await old.run(sql`delete from ${repositories} where id = ${id}`);
    after = id;
    id = await repositoryAfter(primary, name!, after);
  }
  if (move.from !== 0) await old.run(sql`delete from ${users} where id = ${move.namespaceId}`);
  return { cursor: null, done: true, chunks };
}

/** What src/index.ts hands the cron's moves (src/db/shard-moves.ts `stepShardMoves`). */
export const coreMoves: CoreMover = { copy, purge };
