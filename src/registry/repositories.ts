/**
 * Looking up, naming and creating repositories. Callers check access first
 * (src/identity/permissions.ts).
 */
import { and, eq, isNotNull, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db, Statement } from "../db/client";
import { eventStatement, type EventScope } from "../events/outbox";
import { chunksForStatement } from "../db/chunks";
import { repositories, repositoryPermissions, users, type Repository, type User } from "../db/schema";
import { subjectUser } from "../identity/permissions";
import { prototypeGrants } from "../identity/prototypes";
import type { TokenSubject } from "../identity/registry-tokens";
import { uniqueViolation } from "../identity/users";
import { DomainError } from "../errors/domain";
import { repositoryName } from "./reference";
import { repositoryEvent } from "./repository-events";
import { splitName } from "./repository-name";
import { forgetRepository } from "./pull-cache";
import { clock } from "../lib/clock";
import type { CoreClient, CoreResolver } from "./core-db";

/** A repository by id, or by name (saves the pull path a separate repository lookup). */
export type RepositorySelector = { id: number } | { name: string };

/**
 * The condition selecting rows of one repository: on `repositoryId` when the id is known, else on
 * the name, for queries that join `repositories`.
 */
export function inRepository(repository: RepositorySelector, repositoryId: SQLiteColumn) {
  return "id" in repository ? eq(repositoryId, repository.id) : eq(repositories.name, repository.name);
}

export async function findRepository(db: Db, name: string): Promise<Repository | undefined> {
  return db.select().from(repositories).where(eq(repositories.name, name)).get();
}

/**
 * Names that collide with Quay's own routes under /repository/{repository}/… (Quay creates such
 * repositories and then cannot reach or delete them); refused as any component after the
 * namespace, since nested names would collide the same way (`ns/app/tag` vs `ns/app`'s tags).
 * `autoprunepolicy` and `immutabilitypolicy` are Wharf's additions: `…/{repository}/autoprunepolicy/`
 * and `…/immutabilitypolicy/` list policies, so a repository of that name could not be reached.
 */
export const RESERVED_NAMES: readonly string[] = [
  "build",
  "trigger",
  "tag",
  "notification",
  "autoprunepolicy",
  "immutabilitypolicy",
];

/** The first reserved component of `name` after its namespace, if any. */
export function reservedComponent(name: string): string | undefined {
  return name
    .split("/")
    .slice(1)
    .find((part) => RESERVED_NAMES.includes(part));
}

/** Quay's rule with FEATURE_EXTENDED_REPOSITORY_NAMES: components `^[a-z0-9][.a-z0-9_-]*$`, 255 in all. */
const QUAY_REPOSITORY_NAME = /^(?=.{1,255}$)[a-z0-9][.a-z0-9_-]*(?:\/[a-z0-9][.a-z0-9_-]*)*$/;

/**
 * Why `repository` (the part after the namespace) cannot be created, or null. Besides Quay's rule
 * the full name must be one /v2 accepts (distribution's grammar, 255 characters), or the
 * repository could be created but never pushed to.
 */
export function newNameProblem(namespace: string, repository: string): string | null {
  if (!QUAY_REPOSITORY_NAME.test(repository) || !repositoryName.safeParse(`${namespace}/${repository}`).success)
    return "Invalid repository name";
  const reserved = reservedComponent(`${namespace}/${repository}`);
  return reserved ? `Invalid repository name: "${reserved}" is reserved` : null;
}

export interface NewRepository {
  /** The canonical full name, `namespace/…` (src/registry/repository-name.ts). */
  name: string;
  visibility: "public" | "private";
  description: string | null;
  kind: "image" | "application";
  /**
   * The user or robot creating it; the caller has checked they may create in the namespace. Null
   * only for a push whose token outlived its account: the repository then gets no creator grant.
   */
  creator: User | null;
  /** Created by a push (not the API): garbage collection deletes it if the push never finishes. */
  byPush?: boolean;
}

export type CreateOutcome =
  | { ok: true; repository: Repository }
  | { ok: false; reason: "exists" | "namespace_deleting" };

/**
 * Creates a repository, in one D1 batch with the permissions Quay gives a new repository of an
 * organization: `admin` for its creator (user or robot), and whatever the organization's default
 * permissions (prototypes) grant, and its `create_repo` event. A lost race on the name rolls the
 * whole batch back.
 */
export async function createRepository(db: Db, input: NewRepository, events: EventScope): Promise<CreateOutcome> {
  const [namespace] = splitName(input.name);
  const owner = await db
    .select({ id: users.id, kind: users.kind, deletingSince: users.deletingSince })
    .from(users)
    .where(eq(users.username, namespace))
    .get();
  if (owner?.deletingSince != null) return { ok: false, reason: "namespace_deleting" };

  // The rows below and the event find the new repository by its name: the batch is one transaction.
  const repositoryId = sql`(select id from ${repositories} where name = ${input.name})`;
  const event = repositoryEvent("create_repo", { id: 0, name: input.name }, events.origin, {
    visibility: input.visibility,
    kind: input.kind,
    byPush: input.byPush ?? false,
  });
  const statements: Statement[] = [
    db.insert(repositories).values({
      name: input.name,
      namespace,
      visibility: input.visibility,
      description: input.description,
      kind: input.kind,
      firstPushActivityAt: input.byPush ? clock.now() : null,
    }),
    eventStatement(db, event, { computed: { "$.repository.id": repositoryId } }),
  ];
  if (owner?.kind === "organization") {
    const grants = await prototypeGrants(db, { id: owner.id, name: namespace }, input.creator?.id ?? null);
    const rows = [
      ...(input.creator ? [{ userId: input.creator.id, teamId: null, role: "admin" as const }] : []),
      ...grants.users.map((g) => ({ userId: g.userId, teamId: null, role: g.role })),
      ...grants.teams.map((g) => ({ userId: null, teamId: g.teamId, role: g.role })),
    ];
    // A row binds its user, team and role, and the repository's id sub-select its name.
    for (const chunk of chunksForStatement(rows, { perValue: 4 })) {
      statements.push(db.insert(repositoryPermissions).values(chunk.map((r) => ({ ...r, repositoryId }))));
    }
  }
  try {
    await db.batch(statements as [Statement, ...Statement[]]);
  } catch (err) {
    if (uniqueViolation(err) && /repositories\.name/.test(String((err as Error).message)))
      return { ok: false, reason: "exists" };
    throw err;
  }
  const repository = (await findRepository(db, input.name))!;
  events.publish([{ ...event, repository: { id: repository.id, name: repository.name } }]);
  return { ok: true, repository };
}

/**
 * Who creates a repository on first push: a token's subject, or Wharf itself for content it
 * fetched from an upstream registry (a proxy-cache organization's repositories), which gets no
 * creator grant.
 */
export type RepositoryCreator = TokenSubject | { kind: "system" };

/** A repository as a push step sees it, with the client over its core, which the step writes through. */
export interface PushTarget {
  /** `DB`'s row, but for `firstPushActivityAt`: the core's (the shard's shadow keeps its own). */
  repository: Repository;
  core: CoreClient;
}

/**
 * Returns the repository, creating it (private) on first push as Quay does, and the client over
 * its core (`coreOf`, which makes the shard's shadow rows before anything is written there). Who
 * may push there was decided when the token was minted (src/identity/permissions.ts grants push
 * on a repository that does not exist yet only to those who may create it); anonymous tokens
 * never create, and neither does anyone under a reserved name. The token's account, when it
 * still exists, is the creator. The repository is created in `DB`, the directory.
 */
export async function ensureRepository(
  db: Db,
  coreOf: CoreResolver,
  name: string,
  creator: RepositoryCreator,
  events: EventScope,
): Promise<PushTarget> {
  const existing = await findRepository(db, name);
  // Undefined when garbage collection deleted the abandoned repository just now: create it again.
  const kept = existing && (await keptForPush(db, coreOf, existing));
  if (kept) return kept;
  const reserved = reservedComponent(name);
  if (reserved) throw reservedNameError(name, reserved);
  if (creator.kind === "anonymous") throw new DomainError("denied", { detail: { name } });
  const user = creator.kind === "user" ? ((await subjectUser(db, creator)) ?? null) : null;
  const outcome = await createRepository(
    db,
    { name, visibility: "private", description: null, kind: "image", creator: user, byPush: true },
    events,
  );
  // A new shadow copies DB's first-push mark (src/db/core-shadows.ts): the row is as the core has it.
  if (outcome.ok) return { repository: outcome.repository, core: await coreOf(outcome.repository) };
  if (outcome.reason === "namespace_deleting") throw new DomainError("denied", { detail: { name } });
  // A concurrent first push won the name: use its repository.
  const winner = await findRepository(db, name);
  const won = winner && (await keptForPush(db, coreOf, winner));
  if (!won) throw new DomainError("not_found", { subject: "repository", detail: { name } });
  return won;
}

/**
 * `repository` (found in `DB`) with its core's client, as {@link keepFirstPush} keeps it; undefined
 * when it no longer bears its name.
 */
export async function keptForPush(
  db: Db,
  coreOf: CoreResolver,
  repository: Repository,
): Promise<PushTarget | undefined> {
  const core = await coreOf(repository);
  const kept = await keepFirstPush(db, core, repository);
  // In DB a re-read may find another repository of the name (pushed afresh), whose core is DB's too.
  return kept && { repository: kept, core };
}

export function reservedNameError(name: string, reserved: string): DomainError {
  return new DomainError("invalid", {
    subject: "name",
    detail: { name, reserved },
    message: `invalid repository name: "${reserved}" is reserved`,
  });
}

/**
 * Whether repository `id` is still `name`: false once it was deleted (renamed away, see
 * repository-deletion.ts). The RepositoryDO asks before committing, inside its lock.
 */
export async function repositoryIsLive(db: Db, id: number, name: string): Promise<boolean> {
  return (
    (await db
      .select({ id: repositories.id })
      .from(repositories)
      .where(and(eq(repositories.id, id), eq(repositories.name, name)))
      .get()) !== undefined
  );
}

// Describing a repository or choosing its visibility through the API makes it deliberate: it is
// no longer an abandoned push's leftover, and is kept empty as one created through the API.
export async function setDescription(
  db: Db,
  repository: Repository,
  description: string,
  events: EventScope,
): Promise<void> {
  const event = repositoryEvent("set_repo_description", repository, events.origin, { description });
  await db.batch([
    db.update(repositories).set({ description, firstPushActivityAt: null }).where(eq(repositories.id, repository.id)),
    eventStatement(db, event),
  ]);
  events.publish([event]);
}

export async function setVisibility(
  db: Db,
  repository: Repository,
  visibility: "public" | "private",
  events: EventScope,
): Promise<void> {
  const event = repositoryEvent("change_repo_visibility", repository, events.origin, { visibility });
  await db.batch([
    db.update(repositories).set({ visibility, firstPushActivityAt: null }).where(eq(repositories.id, repository.id)),
    eventStatement(db, event),
  ]);
  // Who may pull is the token's claim (pull-cache.ts says why that bounds a made-private
  // repository); this isolate drops the repository's cached pull facts anyway.
  await forgetRepository(repository.name);
  events.publish([event]);
}

/**
 * How garbage collection tells an abandoned first push from one still going on (issue #12, item
 * 7g). A repository a push created carries `first_push_activity_at` until its first manifest, and
 * every push step refreshes it at most once per PUSH_ACTIVITY_REFRESH_MS, so it is never further
 * than that behind the push's latest step: the Worker when it looks the repository up for an
 * upload, a mount or a manifest ({@link keepFirstPush}), the upload's Durable Object for each
 * chunk ({@link recordPushActivity}). An upload dies UPLOAD_EXPIRY_SECONDS after its last step
 * (its alarm), so once the value is older than that plus PUSH_ACTIVITY_REFRESH_MS no upload of the
 * repository is alive (src/gc/empty-repositories.ts).
 */
export const PUSH_ACTIVITY_REFRESH_MS = 5 * 60_000;

/**
 * `repository` as a push about to work on it should see it: when it is still a first push whose
 * activity is stale, the activity is recorded now, in one statement that also checks the row
 * still bears its name. Undefined when it does not any more (garbage collection deleted it under
 * its lock first; its name is free). Either this statement or the collector's comes first, and
 * the collector's re-checks the activity in the statement that deletes.
 *
 * The mark lives with the core (docs/sharding-the-registry-core.md §0): in `DB` it is `repository`'s
 * own; on a shard it is the shadow's, read there first (`DB`'s copy is the one the shadow started
 * from, and the shard's commits clear only theirs).
 */
export async function keepFirstPush(
  db: Db,
  core: CoreClient,
  repository: Repository,
  nowMs = clock.now(),
): Promise<Repository | undefined> {
  const current = core.shard === 0 ? repository : await withShadowMark(core.db, repository);
  if (!current) return undefined;
  if (!pushActivityDue(current.firstPushActivityAt, nowMs)) return current;
  if (await recordPushActivity(core.db, current.id, nowMs, current.name))
    return { ...current, firstPushActivityAt: nowMs };
  // Not touched: it got its first manifest meanwhile, or it was deleted (and maybe pushed afresh).
  return core.shard === 0 ? findRepository(db, repository.name) : withShadowMark(core.db, repository);
}

/** `repository` with its shard shadow's first-push mark; undefined when the shadow no longer bears its name. */
async function withShadowMark(core: Db, repository: Repository): Promise<Repository | undefined> {
  const shadow = await core
    .select({ firstPushActivityAt: repositories.firstPushActivityAt })
    .from(repositories)
    .where(and(eq(repositories.id, repository.id), eq(repositories.name, repository.name)))
    .get();
  return shadow && { ...repository, firstPushActivityAt: shadow.firstPushActivityAt };
}

/** Whether a first push's mark `recorded` is due a refresh at `nowMs` (null: no first push). */
export function pushActivityDue(recorded: number | null | undefined, nowMs: number): boolean {
  return recorded != null && recorded <= nowMs - PUSH_ACTIVITY_REFRESH_MS;
}

/**
 * Records a push step on repository `id` (and still named `name`, when given) while it is a first
 * push; false once it is not (or was renamed away), so the caller can stop recording.
 */
export async function recordPushActivity(db: Db, id: number, nowMs: number, name?: string): Promise<boolean> {
  const touched = await db
    .update(repositories)
    .set({ firstPushActivityAt: nowMs })
    .where(
      and(
        eq(repositories.id, id),
        name === undefined ? undefined : eq(repositories.name, name),
        isNotNull(repositories.firstPushActivityAt),
      ),
    )
    .returning({ id: repositories.id });
  return touched.length > 0;
}
