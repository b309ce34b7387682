/**
 * What a caller may do with a repository. Its namespace's owner (the user, or the admins of the
 * organization: its `owners` team) may do everything; others hold what an explicit repository
 * permission gives them (Quay's roles: read pulls, write also pushes and deletes, admin also
 * administers), robots included; public repositories may be pulled by anyone. Teams' repository
 * permissions (issue #5) widen these functions; every check in the Worker goes through them.
 */
import { and, asc, eq, gt, inArray, or, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories, repositoryPermissions, teamMembers, teams, users, type RepositoryRole } from "../db/schema";
import type { RepositoryAction } from "../middleware/access";
import { organizationRole } from "./organizations";
import type { TokenSubject } from "./registry-tokens";

const ALL_ACTIONS: RepositoryAction[] = ["pull", "push", "delete"];
const ROLE_ACTIONS: Record<RepositoryRole, RepositoryAction[]> = { read: ["pull"], write: ALL_ACTIONS, admin: ALL_ACTIONS };

/** The enabled user or robot behind a subject, if any. */
async function subjectUser(db: Db, subject: TokenSubject) {
  if (subject.kind !== "user") return undefined;
  const user = await db.select().from(users).where(eq(users.username, subject.name)).get();
  return user && user.enabled && user.kind !== "organization" ? user : undefined;
}

/**
 * The actions `subject` may take on repositories (which may not exist yet: a first push). The
 * subject's account is read once, and each namespace's organization role once, however many
 * scopes one token request names.
 */
export function repositoryAccess(db: Db, subject: TokenSubject) {
  const user = subjectUser(db, subject);
  const adminOf = new Map<string, Promise<boolean>>();
  const administers = async (namespace: string) => {
    const who = await user;
    if (!who) return false;
    if (who.username === namespace) return true;
    if (who.kind === "robot") return false;
    let known = adminOf.get(namespace);
    if (!known) {
      known = organizationRole(db, who.id, namespace).then((role) => role === "admin");
      adminOf.set(namespace, known);
    }
    return known;
  };
  return {
    /** Quay's role on `name`: admin for the namespace's owners, else the explicit one; null for none. */
    async role(name: string): Promise<RepositoryRole | null> {
      if (await administers(name.split("/")[0]!)) return "admin";
      const who = await user;
      if (!who) return null;
      const row = await db
        .select({ role: repositoryPermissions.role })
        .from(repositoryPermissions)
        .innerJoin(repositories, eq(repositories.id, repositoryPermissions.repositoryId))
        .where(and(eq(repositories.name, name), eq(repositoryPermissions.userId, who.id)))
        .get();
      return row?.role ?? null;
    },
    async actions(name: string): Promise<RepositoryAction[]> {
      const role = await this.role(name);
      if (role) return ROLE_ACTIONS[role];
      const repository = await db.select({ visibility: repositories.visibility }).from(repositories).where(eq(repositories.name, name)).get();
      return repository?.visibility === "public" ? ["pull"] : [];
    },
  };
}

/** Repository names `subject` can see (pull), in lexical order after `last`, at most `limit`. */
export async function listVisibleRepositoryNames(db: Db, subject: TokenSubject, limit: number, last?: string): Promise<string[]> {
  const user = await subjectUser(db, subject);
  const administered = user
    ? db
        .select({ name: users.username })
        .from(teamMembers)
        .innerJoin(teams, and(eq(teams.id, teamMembers.teamId), eq(teams.role, "admin")))
        .innerJoin(users, eq(users.id, teams.organizationId))
        .where(eq(teamMembers.userId, user.id))
    : undefined;
  const granted = user
    ? db.select({ id: repositoryPermissions.repositoryId }).from(repositoryPermissions).where(eq(repositoryPermissions.userId, user.id))
    : undefined;
  const visible: SQL | undefined =
    user && administered && granted
      ? or(eq(repositories.namespace, user.username), inArray(repositories.namespace, administered), inArray(repositories.id, granted), eq(repositories.visibility, "public"))
      : eq(repositories.visibility, "public");
  const rows = await db
    .select({ name: repositories.name })
    .from(repositories)
    .where(last === undefined ? visible : and(visible, gt(repositories.name, last)))
    .orderBy(asc(repositories.name))
    .limit(limit);
  return rows.map((r) => r.name);
}
