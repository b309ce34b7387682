/**
 * What a caller may do with a repository: Quay's permission model, in one place. Every check in
 * the Worker (/v2 tokens, _catalog, /api/v1) goes through these functions.
 * - The namespace's owner (the user, or an organization's admins: teams with the `admin` role)
 *   holds `admin` on every repository in it.
 * - Others hold the strongest of their explicit grants: on the user or robot, and on each team they
 *   belong to (Quay's roles: read pulls, write also pushes and deletes, admin also manages).
 * - Creating a repository (a first push, or `POST /api/v1/repository`) needs the namespace's owner
 *   or an organization team with the `creator` (or `admin`) role; the creator then holds admin.
 * - Public repositories may be pulled by anyone, anonymous included.
 * - A namespace being deleted grants nothing. Superusers get no repository access here, as in Quay
 *   without FEATURE_SUPERUSERS_FULL_ACCESS.
 */
import { and, asc, eq, gt, inArray, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import {
  repositories,
  repositoryPermissions,
  teamMembers,
  teams,
  users,
  type Repository,
  type RepositoryRole,
  type User,
} from "../db/schema";
import { organizationRole } from "./organizations";
import type { TokenSubject } from "./registry-tokens";
import { liveBuildGrant } from "../builds/build-credential";
import { namespaceOf } from "../registry/repository-name";

/** Actions on a repository, named as in the Docker token scopes (`repository:<name>:<actions>`). */
export type RepositoryAction = "pull" | "push" | "delete";

const ALL_ACTIONS: RepositoryAction[] = ["pull", "push", "delete"];
export const ROLE_ACTIONS: Record<RepositoryRole, RepositoryAction[]> = {
  read: ["pull"],
  write: ALL_ACTIONS,
  admin: ALL_ACTIONS,
};
const RANK: Record<RepositoryRole, number> = { read: 1, write: 2, admin: 3 };

/** The strongest of `roles`, or null. */
export function strongestRole(roles: Iterable<RepositoryRole | null | undefined>): RepositoryRole | null {
  let best: RepositoryRole | null = null;
  for (const role of roles) if (role && (!best || RANK[role] > RANK[best])) best = role;
  return best;
}

/**
 * The enabled user or robot behind a subject, if any: the very account the subject names (id and
 * name), so a token outliving its account never speaks for a new account of the same name.
 */
export async function subjectUser(db: Db, subject: TokenSubject): Promise<User | undefined> {
  if (subject.kind !== "user") return undefined;
  const user = await db
    .select()
    .from(users)
    .where(and(eq(users.id, subject.id), eq(users.username, subject.name)))
    .get();
  return user?.enabled && user.kind !== "organization" ? user : undefined;
}

/** The subject for an account read from credentials or a session. */
export const userSubject = (user: Pick<User, "id" | "username">): TokenSubject => ({
  kind: "user",
  name: user.username,
  id: user.id,
});

/** How a caller stands in a namespace: its owner, an organization team role, or nothing. */
export type NamespaceStanding = "owner" | "admin" | "creator" | "member" | null;

/** Whether the namespace of the `repositories` row in scope is being deleted. */
const namespaceDeleting = sql`exists (select 1 from users n where n.username = "repositories"."namespace" and n.deleting_since is not null)`;

/** The teams `userId` belongs to, for subqueries. */
const teamsOf = (db: Db, userId: number) =>
  db.select({ id: teamMembers.teamId }).from(teamMembers).where(eq(teamMembers.userId, userId));

type RepositoryLookup = {
  id: number;
  visibility: "private" | "public";
  state: Repository["state"];
  /** The mirror robot's account id when the repository has a mirror (Quay: only it pushes in state MIRROR). */
  mirrorRobotId: number | null;
  grant: RepositoryRole | null;
  deleting: number;
};

/**
 * Questions about one caller. The caller's account is read once, and each namespace's standing
 * once, however many repositories one request asks about (a token request names several); the
 * repositories themselves once each, or all in one query after {@link prefetch}.
 */
export function repositoryAccess(db: Db, subject: TokenSubject) {
  if (subject.kind === "build") return buildAccess(db, subject);
  return accountAccess(db, subject);
}

/**
 * What a build's `$build` credential may do (src/builds/build-credential.ts), while its lease
 * holds: push and pull its own repository, pull what its pull robot may pull, pull what is
 * public; nothing once the build ended, was cancelled or its job was leased again.
 */
function buildAccess(db: Db, subject: Extract<TokenSubject, { kind: "build" }>) {
  const base = accountAccess(db, { kind: "anonymous" });
  const grant = liveBuildGrant(db, subject.build, subject.attempt, subject.lease);
  const robot = grant.then((g) =>
    g?.pullRobot ? accountAccess(db, { kind: "user", name: g.pullRobot.username, id: g.pullRobot.id }) : null,
  );
  return {
    ...base,
    canCreate: async (_namespace: string) => false,
    async role(name: string): Promise<RepositoryRole | null> {
      const g = await grant;
      return g && g.repository === name && (await base.repository(name)) ? "write" : null;
    },
    async actions(name: string): Promise<RepositoryAction[]> {
      const g = await grant;
      if (!g) return [];
      if (g.repository === name) return (await base.repository(name)) ? ["pull", "push"] : [];
      const robotActions = (await (await robot)?.actions(name)) ?? [];
      const publicActions = await base.actions(name);
      return robotActions.includes("pull") || publicActions.includes("pull") ? ["pull"] : [];
    },
  };
}

function accountAccess(db: Db, subject: Exclude<TokenSubject, { kind: "build" }>) {
  const user = subjectUser(db, subject);
  const standings = new Map<string, Promise<NamespaceStanding>>();
  const lookups = new Map<string, Promise<RepositoryLookup | undefined>>();

  /**
   * The subject's id is known from the start, so the organization role is read beside the account
   * (one round trip of latency, not two); it counts only if the account is still valid.
   */
  async function standing(namespace: string): Promise<NamespaceStanding> {
    if (subject.kind !== "user") return null;
    let known = standings.get(namespace);
    if (!known) {
      known = subject.name === namespace ? Promise.resolve(null) : organizationRole(db, subject.id, namespace);
      standings.set(namespace, known);
    }
    const [who, role] = await Promise.all([user, known]);
    if (!who) return null;
    if (who.username === namespace) return who.kind === "user" ? "owner" : null;
    return role;
  }

  /** {@link lookupMany} of one name, once per name: `role`, `actions` and `repository` share one query. */
  function lookup(name: string): Promise<RepositoryLookup | undefined> {
    let known = lookups.get(name);
    if (!known) {
      known = lookupMany([name]).then((rows) => rows.get(name));
      lookups.set(name, known);
    }
    return known;
  }

  /**
   * Looks the repositories named in `names` up in one query, for the questions that follow: an
   * anonymous token request of 100 scopes costs one D1 query instead of 100.
   */
  async function prefetch(names: Iterable<string>): Promise<void> {
    const wanted = [...new Set(names)].filter((name) => !lookups.has(name));
    if (wanted.length === 0) return;
    const rows = lookupMany(wanted);
    for (const name of wanted) {
      const found = rows.then((r) => r.get(name));
      found.catch(() => undefined); // the failure surfaces through `await rows` below
      lookups.set(name, found);
    }
    await rows;
  }

  /** Each named repository that exists, whether its namespace is being deleted, and the caller's grants on it. */
  async function lookupMany(names: string[]): Promise<Map<string, RepositoryLookup>> {
    // The grant is read for the subject's id at once; it counts only while the account is valid.
    const who = subject.kind === "user" ? subject : undefined;
    // Raw, table-qualified SQL: drizzle leaves columns unqualified inside sql``, and `id` would
    // resolve to the inner table.
    const grant = who
      ? sql<RepositoryRole | null>`(select rp.role from repository_permissions rp
          where rp.repository_id = "repositories"."id"
            and (rp.user_id = ${who.id} or rp.team_id in (select tm.team_id from team_members tm where tm.user_id = ${who.id}))
          order by case rp.role when 'admin' then 3 when 'write' then 2 else 1 end desc limit 1)`
      : sql<RepositoryRole | null>`null`;
    const rows = await db
      .select({
        name: repositories.name,
        id: repositories.id,
        visibility: repositories.visibility,
        state: repositories.state,
        mirrorRobotId: sql<
          number | null
        >`(select m.robot_user_id from repo_mirror_configs m where m.repository_id = "repositories"."id")`,
        grant,
        deleting: sql<number>`${namespaceDeleting}`,
      })
      .from(repositories)
      // One bound parameter however many names (D1 binds at most 100); the name index serves it.
      .where(
        names.length === 1
          ? eq(repositories.name, names[0]!)
          : sql`${repositories.name} in (select value from json_each(${JSON.stringify(names)}))`,
      )
      .all();
    return new Map(rows.map(({ name, ...row }) => [name, row]));
  }

  return {
    standing,
    prefetch,

    /** The repository named `name` as this caller's questions saw it (undefined: none). */
    async repository(
      name: string,
    ): Promise<(Pick<Repository, "id" | "visibility" | "state"> & { mirrorRobotId: number | null }) | undefined> {
      const found = await lookup(name);
      return found
        ? { id: found.id, visibility: found.visibility, state: found.state, mirrorRobotId: found.mirrorRobotId }
        : undefined;
    },

    /** Whether the caller may create repositories in `namespace` (Quay: owner, org admin or creator). */
    async canCreate(namespace: string): Promise<boolean> {
      const s = await standing(namespace);
      return s === "owner" || s === "admin" || s === "creator";
    },

    /**
     * The caller's role on `name`; for a repository that does not exist yet, admin when the caller
     * may create it (a first push makes the pusher its admin), else null.
     */
    async role(name: string): Promise<RepositoryRole | null> {
      const [s, repository, who] = await Promise.all([standing(namespaceOf(name)), lookup(name), user]);
      if (repository?.deleting) return null;
      if (subject.kind === "user" && !who) return null;
      if (s === "owner" || s === "admin") return "admin";
      if (!repository) return s === "creator" ? "admin" : null;
      return repository.grant ?? null;
    },

    async actions(name: string): Promise<RepositoryAction[]> {
      const [s, repository, who] = await Promise.all([standing(namespaceOf(name)), lookup(name), user]);
      if (repository?.deleting) return [];
      if (s === "owner" || s === "admin") return ALL_ACTIONS;
      if (!repository) return s === "creator" ? ALL_ACTIONS : [];
      // A grant belongs to the account, and counts only while that account is valid.
      if (repository.grant && who) return ROLE_ACTIONS[repository.grant];
      return repository.visibility === "public" ? ["pull"] : [];
    },
  };
}

/**
 * The condition selecting the repositories `user` can see (pull): their own namespace's, those of
 * organizations they administer, those granted to them or their teams, and public ones; for no
 * user, the public ones. Namespaces being deleted show nothing.
 */
export function visibleTo(db: Db, user: User | undefined): SQL {
  const alive = sql`not ${namespaceDeleting}`;
  if (!user) return and(eq(repositories.visibility, "public"), alive)!;
  const administered = db
    .select({ name: users.username })
    .from(teamMembers)
    .innerJoin(teams, and(eq(teams.id, teamMembers.teamId), eq(teams.role, "admin")))
    .innerJoin(users, eq(users.id, teams.organizationId))
    .where(eq(teamMembers.userId, user.id));
  const granted = db
    .select({ id: repositoryPermissions.repositoryId })
    .from(repositoryPermissions)
    .where(or(eq(repositoryPermissions.userId, user.id), inArray(repositoryPermissions.teamId, teamsOf(db, user.id))));
  const own = user.kind === "user" ? eq(repositories.namespace, user.username) : sql`0`;
  return and(
    or(
      own,
      inArray(repositories.namespace, administered),
      inArray(repositories.id, granted),
      eq(repositories.visibility, "public"),
    ),
    alive,
  )!;
}

/** Repository names `subject` can see (pull), in lexical order after `last`, at most `limit`. */
export async function listVisibleRepositoryNames(
  db: Db,
  subject: TokenSubject,
  limit: number,
  last?: string,
): Promise<string[]> {
  const visible = visibleTo(db, await subjectUser(db, subject));
  const rows = await db
    .select({ name: repositories.name })
    .from(repositories)
    .where(last === undefined ? visible : and(visible, gt(repositories.name, last)))
    .orderBy(asc(repositories.name))
    .limit(limit);
  return rows.map((r) => r.name);
}
