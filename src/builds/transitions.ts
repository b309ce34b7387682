/**
 * A build's phase changes, each one D1 batch with its event: the event's row is written only if
 * the build is still in the phase the writer read (`onlyIf`), then the row changes under the same
 * condition, so of two writers that read the same phase (a cancel and the connector's completion)
 * one changes the build and emits, and the other changes nothing. Extra statements (a job's
 * cancel, log lines) join the batch after the change, conditioned on it where they must be.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { type RepositoryBuild, repositoryBuilds } from "../db/schema";
import { cancelJobStatement } from "../connector/job-queue";
import type { BuildJobConfig } from "./queue";
import { buildEventFields } from "./queue";
import type { EventKind, RegistryEvent } from "../events/catalogue";
import { eventStatement, type EventScope } from "../events/outbox";
import { repositoryEvent } from "../registry/repository-events";
import type { EventOrigin } from "../events/envelope";
import { clock } from "../lib/clock";
import { type BuildRecord, jobConfigOf, UNCANCELLABLE_PHASES } from "./builds";

type BuildEventKind = "build_started" | "build_succeeded" | "build_failed" | "cancel_build";

/** The SQL condition "build `id` is still in `phase`". */
const stillIn = (id: number, phase: RepositoryBuild["phase"]) =>
  sql`exists (select 1 from ${repositoryBuilds} where ${repositoryBuilds.id} = ${id} and ${repositoryBuilds.phase} = ${phase})`;

/** The fields of the build's events (src/events/build-catalogue.ts), from its row. */
export function eventFieldsOf(record: BuildRecord) {
  const config = jobConfigOf(record.build) as BuildJobConfig;
  const trigger = record.trigger
    ? { id: record.trigger.id, uuid: record.trigger.uuid, service: record.trigger.service }
    : null;
  return buildEventFields(record.build.uuid, {
    displayName: record.build.displayName,
    config: {
      ...config,
      docker_tags: config.docker_tags ?? [],
      is_manual: config.is_manual ?? true,
      manual_user: config.manual_user ?? null,
      trigger_metadata: config.trigger_metadata ?? {},
    },
    trigger,
  });
}

export interface Transition<K extends BuildEventKind> {
  to: Partial<Omit<RepositoryBuild, "id" | "uuid" | "repositoryId">>;
  event?: { kind: K; data: Record<string, unknown> };
  /** Statements to run after the change, in the same batch (conditioned on it by the caller). */
  after?: (changed: SQL) => Statement[];
}

/**
 * Moves `record`'s build from the phase it was read in to `transition.to`, with its event; returns
 * whether it changed (false: someone changed it first, nothing was written).
 */
export async function transitionBuild<K extends BuildEventKind>(
  db: Db,
  scope: EventScope,
  origin: EventOrigin,
  record: BuildRecord,
  transition: Transition<K>,
): Promise<boolean> {
  const { build } = record;
  const condition = stillIn(build.id, build.phase);
  const event = transition.event
    ? repositoryEvent(
        transition.event.kind as EventKind,
        { id: record.repository.id, name: record.repository.name },
        origin,
        { ...eventFieldsOf(record), ...transition.event.data } as never,
        clock.now(),
      )
    : null;
  const changed = sql`${repositoryBuilds.phase} = ${transition.to.phase ?? build.phase}`;
  const statements = [
    ...(event ? [eventStatement(db, event, { onlyIf: condition })] : []),
    db
      .update(repositoryBuilds)
      .set(transition.to)
      .where(and(eq(repositoryBuilds.id, build.id), eq(repositoryBuilds.phase, build.phase))),
    ...(transition.after?.(
      sql`exists (select 1 from ${repositoryBuilds} where ${repositoryBuilds.id} = ${build.id} and ${changed})`,
    ) ?? []),
  ];
  const results = (await db.batch(statements as never)) as { meta?: { changes?: number } }[];
  const updated = (results[event ? 1 : 0]?.meta?.changes ?? 0) > 0;
  if (updated && event) scope.publish([event as RegistryEvent]);
  return updated;
}

/**
 * Quay's `cancel_repository_build`: a build not yet pushing is cancelled at once, its job closed
 * in the same batch (a connector building it stops at its next heartbeat), with `cancel_build`
 * (which notifies `build_cancelled`). False when its phase no longer allows it.
 */
export async function cancelBuild(db: Db, scope: EventScope, record: BuildRecord): Promise<boolean> {
  if (UNCANCELLABLE_PHASES.includes(record.build.phase)) return false;
  return transitionBuild(db, scope, scope.origin, record, {
    to: { phase: "cancelled", completedAt: clock.now() },
    event: { kind: "cancel_build", data: {} },
    after: (changed) => [cancelJobStatement(db, "build", record.build.uuid, "the build was cancelled", changed)],
  });
}
