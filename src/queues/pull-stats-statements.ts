/**
 * The pull statistics' SQL (src/queues/pull-statistics.ts): a delivery's pulls summed per
 * repository and UTC day (`repository_pull_stats`: the repository view's `stats`), per tag
 * (`tag_pull_stats`, pulls by tag only) and per manifest digest (`manifest_pull_stats`, by tag or
 * digest: Quay's TagPullStatistics and ManifestPullStatistics), added by a statement per run of
 * rows that fits D1's bound parameters, so a delivery of any size costs a handful of writes. The
 * statements run in the database holding the pulled repositories' core (src/db/core-shards.ts),
 * whose `repositories` (real or shadow rows) skip the pulls of a repository deleted since.
 */
import { type SQL, sql } from "drizzle-orm";
import { chunksForStatement } from "../db/chunks";
import type { PullRecord } from "../registry/pull-counts";

export interface DayCount {
  repositoryId: number;
  /** UTC, `YYYY-MM-DD`. */
  day: string;
  pulls: number;
  lastPulledAt: number;
}

export interface TagCount {
  repositoryId: number;
  tag: string;
  pulls: number;
  lastPulledAt: number;
  /** The manifest the tag's last pull in the delivery was served. */
  lastDigest: string;
}

export interface ManifestCount {
  repositoryId: number;
  digest: string;
  pulls: number;
  lastPulledAt: number;
}

/** Sums per key, keeping the latest pull's time (and whatever `latest` takes from it). */
function sumBy<C extends { pulls: number; lastPulledAt: number }>(
  pulls: Iterable<PullRecord>,
  key: (pull: PullRecord) => string | null,
  start: (pull: PullRecord) => C,
  latest: (count: C, pull: PullRecord) => void = () => undefined,
): C[] {
  const counts = new Map<string, C>();
  for (const pull of pulls) {
    const k = key(pull);
    if (k === null) continue;
    const count = counts.get(k);
    if (!count) counts.set(k, start(pull));
    else {
      count.pulls++;
      if (pull.at >= count.lastPulledAt) {
        count.lastPulledAt = pull.at;
        latest(count, pull);
      }
    }
  }
  return [...counts.values()];
}

/** The pulls summed per repository and UTC day, with each day's last pull. */
export function countByDay(pulls: Iterable<PullRecord>): DayCount[] {
  return sumBy(
    pulls,
    (p) => `${p.repositoryId} ${dayOf(p)}`,
    (p) => ({ repositoryId: p.repositoryId, day: dayOf(p), pulls: 1, lastPulledAt: p.at }),
  );
}

/** A pull's UTC day, `YYYY-MM-DD`. */
const dayOf = (pull: PullRecord) => new Date(pull.at).toISOString().slice(0, 10);

/** The pulls by tag summed per repository and tag (pulls by digest name no tag). */
export function countByTag(pulls: Iterable<PullRecord>): TagCount[] {
  return sumBy(
    pulls,
    (p) => (p.tag === null ? null : `${p.repositoryId} ${p.tag}`),
    (p) => ({ repositoryId: p.repositoryId, tag: p.tag!, pulls: 1, lastPulledAt: p.at, lastDigest: p.digest }),
    (count, p) => {
      count.lastDigest = p.digest;
    },
  );
}

/** The pulls summed per repository and manifest served, whether asked by tag or by digest. */
export function countByManifest(pulls: Iterable<PullRecord>): ManifestCount[] {
  return sumBy(
    pulls,
    (p) => `${p.repositoryId} ${p.digest}`,
    (p) => ({ repositoryId: p.repositoryId, digest: p.digest, pulls: 1, lastPulledAt: p.at }),
  );
}

function addTagsStatement(counts: TagCount[]) {
  const rows = sql.join(
    counts.map((c) => sql`(${c.repositoryId}, ${c.tag}, ${c.pulls}, ${c.lastPulledAt}, ${c.lastDigest})`),
    sql`, `,
  );
  return sql`insert into tag_pull_stats (repository_id, tag, pulls, last_pulled_at, last_digest)
    select column1, column2, column3, column4, column5 from (values ${rows}) as v
    where exists (select 1 from repositories r where r.id = v.column1)
    on conflict (repository_id, tag) do update set
      pulls = tag_pull_stats.pulls + excluded.pulls,
      last_digest = case when excluded.last_pulled_at >= tag_pull_stats.last_pulled_at
        then excluded.last_digest else tag_pull_stats.last_digest end,
      last_pulled_at = max(tag_pull_stats.last_pulled_at, excluded.last_pulled_at)`;
}

/**
 * Adds `counts` (as many as fit one statement) to `table`, whose rows are the pulls and last pull
 * per repository and `key` (a day or a manifest digest).
 */
function addCountsStatement<Key extends "day" | "digest">(
  table: "repository_pull_stats" | "manifest_pull_stats",
  key: Key,
  counts: Array<{ repositoryId: number; pulls: number; lastPulledAt: number } & Record<Key, string>>,
) {
  const rows = sql.join(
    counts.map((c) => sql`(${c.repositoryId}, ${c[key]}, ${c.pulls}, ${c.lastPulledAt})`),
    sql`, `,
  );
  // Raw, not quoted identifiers: both are constants of this file, and the statement reads as written.
  const into = sql.raw(table);
  const keyColumn = sql.raw(key);
  // `where` also parses the upsert after a select (SQLite "The UPSERT clause", parsing ambiguity).
  return sql`insert into ${into} (repository_id, ${keyColumn}, pulls, last_pulled_at)
    select column1, column2, column3, column4 from (values ${rows}) as v
    where exists (select 1 from repositories r where r.id = v.column1)
    on conflict (repository_id, ${keyColumn}) do update set
      pulls = ${into}.pulls + excluded.pulls,
      last_pulled_at = max(${into}.last_pulled_at, excluded.last_pulled_at)`;
}

/** The statements adding `pulls` to the three tables; `days` is the number of repository-days. */
export function pullStatsStatements(pulls: readonly PullRecord[]): { statements: SQL[]; days: number } {
  const counts = countByDay(pulls);
  // Four bound parameters a day or manifest row, five a tag row.
  const statements = [
    ...chunksForStatement(counts, { perValue: 4 }).map((c) => addCountsStatement("repository_pull_stats", "day", c)),
    ...chunksForStatement(countByTag(pulls), { perValue: 5 }).map(addTagsStatement),
    ...chunksForStatement(countByManifest(pulls), { perValue: 4 }).map((c) =>
      addCountsStatement("manifest_pull_stats", "digest", c),
    ),
  ];
  return { statements, days: counts.length };
}
