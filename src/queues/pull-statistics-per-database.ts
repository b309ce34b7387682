/**
 * Counting a delivery's pulls when they span several D1 databases (src/queues/pull-statistics.ts
 * calls this only then): a pull's counts go to the database of its namespace's registry core
 * (src/db/core-shards.ts), its `pull_repo` entry to the database of its namespace's action logs
 * (src/db/shards.ts), and two databases share no transaction (docs/sharding-the-registry-core.md,
 * Stage 2). So each database gets one batch with everything of the delivery it holds, and a
 * delivery may fail after some databases committed theirs. Its retry must not count those again:
 * each batch begins with a marker per message it counts, `pulls:<message id>` in that database's
 * `delivered_events` (src/events/deliveries.ts, swept by the cron in every database), and a
 * delivery first reads the markers of each database it writes to (one query a database) and
 * leaves out there the messages already counted there.
 *
 * A marker inserted between that read and the batch (the same message in two deliveries at once:
 * a redelivery while the first attempt still runs) cannot be "do nothing": the batch's sums are
 * per repository, not per message, so no other statement could be made to depend on one marker.
 * The marker's plain insert fails on the unique id instead, which rolls its whole batch back (a
 * D1 batch is one transaction); the messages of that batch are retried, and the retry reads the
 * marker and leaves that message out. A message is acknowledged once every database it touches
 * holds its marker, and retried otherwise; the other databases keep what they committed.
 */
import { batchSql, database } from "../db/client";
import type { Shard } from "../db/shards";
import { deliveredAlready, deliveredMarkersStatement } from "../events/deliveries";
import { queueForSink, sinkEntryOfPull } from "../events/logs-sink";
import { liveShardLogRepositories, type PlacedPull, placedPullLogStatements } from "../events/logs-writer";
import { clock } from "../lib/clock";
import { loggableError } from "../lib/loggable-error";
import { pullStatsStatements } from "./pull-stats-statements";

/** A well-formed `pulls` message of the delivery with its pulls placed (src/events/logs-writer.ts). */
export interface PlacedMessage {
  message: Message<unknown>;
  pulls: PlacedPull[];
}

/** What one database receives of a delivery. */
interface DatabaseShare {
  shard: Shard;
  /** The messages with a pull counted or logged here, each with its pulls counted or logged here. */
  messages: Map<string, { stats: PlacedPull[]; logs: PlacedPull[] }>;
}

const markerOf = (messageId: string) => `pulls:${messageId}`;

/** Each database's share of the delivery, by shard number (`DB`, 0, first). */
function shares(delivery: readonly PlacedMessage[]): DatabaseShare[] {
  const byNumber = new Map<number, DatabaseShare>();
  const messageIn = (shard: Shard, id: string) => {
    const share = byNumber.get(shard.number) ?? { shard, messages: new Map() };
    byNumber.set(shard.number, share);
    const parts = share.messages.get(id) ?? { stats: [], logs: [] };
    share.messages.set(id, parts);
    return parts;
  };
  for (const { message, pulls } of delivery)
    for (const pull of pulls) {
      messageIn(pull.coreShard, message.id).stats.push(pull);
      messageIn(pull.logShard, message.id).logs.push(pull);
    }
  return [...byNumber.values()].sort((a, b) => a.shard.number - b.shard.number);
}

/** Leaves out of `share` the messages whose marker its database holds already (one query). */
async function dropCounted(share: DatabaseShare): Promise<void> {
  const ids = [...share.messages.keys()];
  const marked = await deliveredAlready(database(share.shard.binding), ids.map(markerOf));
  for (const id of ids) if (marked.has(markerOf(id))) share.messages.delete(id);
}

/**
 * Counts the delivery's pulls in every database they belong to, one batch each, acknowledging
 * each message whose databases all hold its counts and entries and retrying the others.
 */
export async function countInEachDatabase(env: Env, delivery: readonly PlacedMessage[]): Promise<void> {
  const all = shares(delivery);
  const failed = new Set<number>();
  const fail = (share: DatabaseShare, msg: string, err: unknown) => {
    failed.add(share.shard.number);
    console.error(JSON.stringify({ msg, shard: share.shard.number, err: loggableError(err) }));
  };
  for (const share of all) {
    try {
      await dropCounted(share);
    } catch (err) {
      fail(share, "pull statistics' markers not read", err);
    }
  }
  const pending = all.filter((share) => !failed.has(share.shard.number) && share.messages.size > 0);
  const toLog = pending.flatMap((share) => [...share.messages.values()].flatMap((parts) => parts.logs));
  let live: Set<number>;
  try {
    live = await liveShardLogRepositories(env, toLog);
  } catch (err) {
    console.error(JSON.stringify({ msg: "pull statistics not written", err: loggableError(err) }));
    for (const { message } of delivery) message.retry();
    return;
  }
  let days = 0;
  for (const share of pending) {
    const parts = [...share.messages.values()];
    const stats = pullStatsStatements(parts.flatMap((p) => p.stats.map((s) => s.pull)));
    const statements = [
      deliveredMarkersStatement([...share.messages.keys()].map(markerOf), clock.now()),
      ...stats.statements,
      ...placedPullLogStatements(
        share.shard,
        parts.flatMap((p) => p.logs),
        live,
      ),
    ];
    try {
      await batchSql(database(share.shard.binding), statements);
      days += stats.days;
    } catch (err) {
      fail(share, "pull statistics not written", err);
    }
  }
  const acked: PlacedMessage[] = [];
  for (const placed of delivery) {
    const id = placed.message.id;
    if (all.some((share) => failed.has(share.shard.number) && share.messages.has(id))) placed.message.retry();
    else {
      placed.message.ack();
      acked.push(placed);
    }
  }
  const pulls = acked.flatMap((placed) => placed.pulls.map((p) => p.pull));
  console.log(JSON.stringify({ msg: "pulls counted", pulls: pulls.length, repositoryDays: days }));
  await queueForSink(env, pulls.map(sinkEntryOfPull));
}
