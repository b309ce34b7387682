/**
 * The EVENTS consumer's part for `pulls` messages (src/registry/pull-counts.ts): a delivery's
 * pulls are summed per repository and UTC day, per tag and per manifest digest
 * (src/queues/pull-stats-statements.ts) and added in one D1 batch (one transaction), a statement
 * per run of rows that fits D1's bound parameters, so a delivery of any size costs a handful of
 * writes. The batch commits whole or not at all: on failure every pulls message of the delivery is
 * retried, and none is counted twice by a partial write. The same batch writes a `pull_repo`
 * action-log entry per pull (src/events/logs-writer.ts), but for namespaces whose entries live in
 * another D1 database (src/db/shards.ts): theirs are written first, keyed so that a retried
 * delivery adds none twice.
 *
 * A pull's counts belong to the database of its namespace's registry core (src/db/core-shards.ts).
 * While every core of a delivery is in `DB`, the above is the whole story; once one is on a shard,
 * each database gets its own batch of counts and entries, marked per message so that a retry after
 * a partial failure counts nothing twice (src/queues/pull-statistics-per-database.ts).
 * Pulls of a repository deleted since are skipped. Malformed messages are acknowledged and logged,
 * as the registry events' are.
 */
import { batchSql, database } from "../db/client";
import {
  type KeyedPull,
  type PlacedPull,
  placePulls,
  pullLogStatements,
  writeShardedPullLogs,
} from "../events/logs-writer";
import { queueForSink, sinkEntryOfPull } from "../events/logs-sink";
import { pullsMessageSchema, type PullRecord } from "../registry/pull-counts";
import { loggableError } from "../lib/loggable-error";
import { countInEachDatabase } from "./pull-statistics-per-database";
import { pullStatsStatements } from "./pull-stats-statements";

/** Whether a queue message carries pulls rather than a registry event. */
export function isPullsMessage(body: unknown): boolean {
  return typeof body === "object" && body !== null && (body as { type?: unknown }).type === "pulls";
}

/** Counts the pulls of `messages` (all of type `pulls`), acknowledging or retrying each. */
export async function consumePulls(messages: readonly Message<unknown>[], env: Env): Promise<void> {
  const counted: Message<unknown>[] = [];
  const pulls: PullRecord[] = [];
  const keyed: Array<KeyedPull & { message: Message<unknown> }> = [];
  for (const message of messages) {
    const parsed = pullsMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ msg: "malformed pulls message dropped", id: message.id }));
      message.ack();
      continue;
    }
    counted.push(message);
    pulls.push(...parsed.data.pulls);
    // A message keeps its id across deliveries: the key of a pull's entry in a shard.
    for (const [i, pull] of parsed.data.pulls.entries()) keyed.push({ pull, key: `pull:${message.id}:${i}`, message });
  }
  if (counted.length === 0) return;
  const retryAll = (err: unknown) => {
    console.error(
      JSON.stringify({ msg: "pull log entries not written", pulls: pulls.length, err: loggableError(err) }),
    );
    for (const message of counted) message.retry();
  };
  let placed: Array<PlacedPull & { message: Message<unknown> }>;
  try {
    placed = await placePulls(env, keyed);
  } catch (err) {
    return retryAll(err);
  }
  // Some counts belong in a shard's core: one batch per database, with markers against a retry
  // counting twice what one database committed (src/queues/pull-statistics-per-database.ts).
  if (placed.some((p) => p.coreShard.number !== 0)) {
    const byMessage = new Map(counted.map((message) => [message, [] as PlacedPull[]]));
    for (const p of placed) byMessage.get(p.message)!.push(p);
    return countInEachDatabase(
      env,
      [...byMessage].map(([message, pulls]) => ({ message, pulls })),
    );
  }
  let inPrimary: PullRecord[];
  try {
    inPrimary = await writeShardedPullLogs(env, placed);
  } catch (err) {
    return retryAll(err);
  }
  const { statements, days } = pullStatsStatements(pulls);
  // Quay's pull_repo entries, in the same transaction as the counts they match (those of
  // namespaces in other shards are written above, src/db/shards.ts).
  statements.push(...pullLogStatements(inPrimary));
  try {
    await batchSql(database(env.DB), statements);
  } catch (err) {
    console.error(JSON.stringify({ msg: "pull statistics not written", pulls: pulls.length, err: loggableError(err) }));
    for (const message of counted) message.retry();
    return;
  }
  console.log(JSON.stringify({ msg: "pulls counted", pulls: pulls.length, repositoryDays: days }));
  for (const message of counted) message.ack();
  await queueForSink(env, pulls.map(sinkEntryOfPull));
}
