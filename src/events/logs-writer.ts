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
 */
import { type SQL, sql } from "drizzle-orm";
import { batchSql, database } from "../db/client";
import type { PullRecord } from "../registry/pull-counts";
import type { RegistryEvent } from "./catalogue";
import { isLogged, metadataOf, performerOf } from "./logs-metadata";

const namespaceId = (name: SQL | string | null) => sql`(select id from users where username = ${name})`;

/** The insert of `event`'s entry; a second one for the same event id inserts nothing. */
export function actionLogStatement(event: RegistryEvent): SQL {
  const performer = performerOf(event.actor);
  return sql`insert into action_logs (event_id, kind, performer_id, performer_name, performer_kind, ip,
      namespace_id, namespace_name, repository_id, repository_name, metadata, datetime)
    values (${event.id}, ${event.kind}, ${performer?.id ?? null}, ${performer?.name ?? null},
      ${performer?.kind ?? null}, ${event.ip}, ${namespaceId(event.namespace)}, ${event.namespace},
      ${event.repository?.id ?? null}, ${event.repository?.name ?? null}, ${JSON.stringify(metadataOf(event))},
      ${event.at})
    on conflict (event_id) do nothing`;
}

/** A ms time's UTC day, `YYYY-MM-DD`. */
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Counts the entry the statement before it wrote toward its repository's day (Quay's
 * RepositoryActionCount). `changes()` is that statement's: an event already logged adds nothing.
 */
function actionCountStatement(repositoryId: number, atMs: number): SQL {
  return sql`insert into repository_action_counts (repository_id, day, count)
    select ${repositoryId}, ${dayOf(atMs)}, 1
    where changes() = 1 and exists (select 1 from repositories r where r.id = ${repositoryId})
    on conflict (repository_id, day) do update set count = repository_action_counts.count + 1`;
}

/**
 * The EVENTS subscriber: records `event` as an action-log entry when its kind is logged, and a
 * repository's entry in its daily count, in one batch (one transaction).
 */
export async function writeActionLog(env: Env, event: RegistryEvent): Promise<void> {
  if (!isLogged(event.kind)) return;
  const db = database(env.DB);
  const entry = actionLogStatement(event);
  if (event.repository === null) await db.run(entry);
  else await batchSql(db, [entry, actionCountStatement(event.repository.id, event.at)]);
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
    const rows = pulls.slice(i, i + PULLS_PER_STATEMENT).map((p) => {
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
    });
    const at = (n: number) => sql.raw(`json_extract(value, '$[${n}]')`);
    statements.push(sql`insert into action_logs (kind, performer_id, performer_name, performer_kind, ip,
        namespace_id, namespace_name, repository_id, repository_name, metadata, datetime)
      select 'pull_repo', ${at(0)}, ${at(1)}, ${at(2)}, ${at(3)}, ${namespaceId(at(4))}, ${at(4)}, ${at(5)}, ${at(6)},
        ${at(7)}, ${at(8)}
      from json_each(${JSON.stringify(rows)})
      where exists (select 1 from repositories r where r.id = ${at(5)})`);
  }
  return statements;
}
