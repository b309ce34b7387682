/**
 * The EVENTS consumer's part for `pulls` messages (src/registry/pull-counts.ts): a delivery's
 * pulls are summed per repository and UTC day and added to `repository_pull_stats` in one D1
 * batch (one transaction), a statement per {@link ROWS_PER_STATEMENT} repository-days, so a
 * delivery of any size costs a handful of writes. The batch commits whole or not at all: on
 * failure every pulls message of the delivery is retried, and none is counted twice by a partial
 * write. Pulls of a repository deleted since are skipped. Malformed messages are acknowledged and
 * logged, as the registry events' are.
 */
import { sql } from "drizzle-orm";
import { database } from "../db/client";
import { batchSql } from "../db/client";
import { pullsMessageSchema, type PullRecord } from "../registry/pull-counts";

/** Four bound parameters a row: D1 binds at most 100 a statement. */
const ROWS_PER_STATEMENT = 25;

export interface DayCount {
  repositoryId: number;
  /** UTC, `YYYY-MM-DD`. */
  day: string;
  pulls: number;
  lastPulledAt: number;
}

/** Whether a queue message carries pulls rather than a registry event. */
export function isPullsMessage(body: unknown): boolean {
  return typeof body === "object" && body !== null && (body as { type?: unknown }).type === "pulls";
}

/** The pulls summed per repository and UTC day, with each day's last pull. */
export function countByDay(pulls: Iterable<PullRecord>): DayCount[] {
  const counts = new Map<string, DayCount>();
  for (const pull of pulls) {
    const day = new Date(pull.at).toISOString().slice(0, 10);
    const key = `${pull.repositoryId} ${day}`;
    const count = counts.get(key);
    if (count) {
      count.pulls++;
      count.lastPulledAt = Math.max(count.lastPulledAt, pull.at);
    } else counts.set(key, { repositoryId: pull.repositoryId, day, pulls: 1, lastPulledAt: pull.at });
  }
  return [...counts.values()];
}

/** Adds `counts` to the statistics in one statement (at most {@link ROWS_PER_STATEMENT} of them). */
function addStatement(counts: DayCount[]) {
  const rows = sql.join(
    counts.map((c) => sql`(${c.repositoryId}, ${c.day}, ${c.pulls}, ${c.lastPulledAt})`),
    sql`, `,
  );
  // `where` also parses the upsert after a select (SQLite "The UPSERT clause", parsing ambiguity).
  return sql`insert into repository_pull_stats (repository_id, day, pulls, last_pulled_at)
    select column1, column2, column3, column4 from (values ${rows}) as v
    where exists (select 1 from repositories r where r.id = v.column1)
    on conflict (repository_id, day) do update set
      pulls = repository_pull_stats.pulls + excluded.pulls,
      last_pulled_at = max(repository_pull_stats.last_pulled_at, excluded.last_pulled_at)`;
}

/** Counts the pulls of `messages` (all of type `pulls`), acknowledging or retrying each. */
export async function consumePulls(messages: readonly Message<unknown>[], env: Env): Promise<void> {
  const counted: Message<unknown>[] = [];
  const pulls: PullRecord[] = [];
  for (const message of messages) {
    const parsed = pullsMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ msg: "malformed pulls message dropped", id: message.id }));
      message.ack();
      continue;
    }
    counted.push(message);
    pulls.push(...parsed.data.pulls);
  }
  if (counted.length === 0) return;
  const counts = countByDay(pulls);
  const statements = [];
  for (let i = 0; i < counts.length; i += ROWS_PER_STATEMENT)
    statements.push(addStatement(counts.slice(i, i + ROWS_PER_STATEMENT)));
  try {
    await batchSql(database(env.DB), statements);
  } catch (err) {
    console.error(JSON.stringify({ msg: "pull statistics not written", pulls: pulls.length, err: String(err) }));
    for (const message of counted) message.retry();
    return;
  }
  console.log(JSON.stringify({ msg: "pulls counted", pulls: pulls.length, repositoryDays: counts.length }));
  for (const message of counted) message.ack();
}
