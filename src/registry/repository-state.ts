/**
 * Quay's repository state (`RepositoryState`; `PUT /api/v1/repository/{repository}/changestate`,
 * Quay's `changeRepoState`): `NORMAL`, or `READ_ONLY`, where every write is refused (pushes,
 * manifest and blob deletes through /v2; tag, restore and label changes through the API) while
 * pulls and reads go on; `MIRROR` belongs to mirroring (issue #16).
 *
 * Why no write gets through after the change commits: the state changes under the repository's
 * Durable Object lock ({@link changeRepositoryState}, run by durable-objects/RepositoryDO.ts), and
 * every tag, manifest and blob-link write of the repository runs under that same lock and reads
 * the state there first ({@link requireNormalState}), so each such write either committed before
 * the change or sees the new state. Label writes commit in the Worker, in one conditional
 * statement: {@link normalState} is part of that statement, so they cannot land after it either.
 * Entry checks (`/v2/auth` grants no push, a /v2 write re-checks its repository) only refuse
 * earlier; an upload session opened before the change may still link a blob, which no tag shows
 * until a manifest push (refused) names it, as with a revoked grant (src/middleware/access.ts).
 */
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories } from "../db/schema";
import { DomainError, notFound } from "../errors/domain";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { type Committed, eventStatement } from "../events/outbox";
import { repositoryEvent } from "./repository-events";

export const REPOSITORY_STATES = ["NORMAL", "READ_ONLY", "MIRROR"] as const;
export type RepositoryState = (typeof REPOSITORY_STATES)[number];

/**
 * Quay's refusal of a write to a repository that is not NORMAL (`disallow_for_non_normal_repositories`:
 * 503 `{"error": "Repository is in read only or mirror mode: …"}`); /v2 answers DENIED.
 */
export function readOnlyRepository(name: string, state: RepositoryState): DomainError {
  const message = `Repository is in read only or mirror mode: ${state}`;
  return new DomainError("read_only", { message, detail: { repository: name, state }, fields: { error: message } });
}

/**
 * Whether account `writerId` may push to a repository in `state`: anyone allowed to in NORMAL; in
 * MIRROR only the mirror's robot (Quay: "only the designated robot may push, overriding RBAC").
 */
export function mayPushInState(state: RepositoryState, mirrorRobotId: number | null, writerId: number | null): boolean {
  return state === "NORMAL" || (state === "MIRROR" && mirrorRobotId !== null && writerId === mirrorRobotId);
}

/** Refuses unless the repository is NORMAL (a repository gone since is left to the write's own checks). */
export async function requireNormalState(db: Db, repository: RepositoryRef): Promise<void> {
  const row = await db
    .select({ state: repositories.state })
    .from(repositories)
    .where(eq(repositories.id, repository.id))
    .get();
  if (row && row.state !== "NORMAL") throw readOnlyRepository(repository.name, row.state);
}

/**
 * Refuses unless `origin`'s account may write the repository in its state ({@link mayPushInState}):
 * the mirror sync's tag removals, which only the mirror's robot makes.
 */
export async function requireStateWriter(db: Db, repository: RepositoryRef, origin: EventOrigin): Promise<void> {
  const row = await db
    .select({
      state: repositories.state,
      mirrorRobotId: sql<
        number | null
      >`(select m.robot_user_id from repo_mirror_configs m where m.repository_id = ${repositories.id})`,
    })
    .from(repositories)
    .where(eq(repositories.id, repository.id))
    .get();
  const writerId = origin.actor.kind === "robot" || origin.actor.kind === "user" ? origin.actor.id : null;
  if (row && !mayPushInState(row.state, row.mirrorRobotId, writerId))
    throw readOnlyRepository(repository.name, row.state);
}

/** The SQL condition "repository `id` is NORMAL", for writes that commit in one conditional statement. */
export const normalState = (id: number) =>
  sql`exists (select 1 from ${repositories} where ${repositories.id} = ${id} and ${repositories.state} = 'NORMAL')`;

/**
 * Sets the repository's state with its `change_repo_state` event (Quay's log kind), under the
 * repository's lock. 404 when the repository no longer bears its name (deleted meanwhile).
 */
export async function changeRepositoryState(
  db: Db,
  repository: RepositoryRef,
  state: RepositoryState,
  origin: EventOrigin,
  nowMs: number,
): Promise<Committed<null>> {
  const event = repositoryEvent("change_repo_state", repository, origin, { state }, nowMs);
  const [updated] = await db.batch([
    db
      .update(repositories)
      .set({ state })
      .where(and(eq(repositories.id, repository.id), eq(repositories.name, repository.name)))
      .returning({ id: repositories.id }),
    eventStatement(db, event, {
      onlyIf: sql`exists (select 1 from ${repositories} where ${repositories.id} = ${repository.id} and ${repositories.name} = ${repository.name})`,
    }),
  ]);
  if (updated.length === 0) throw notFound("repository");
  return { value: null, events: [event] };
}
