/**
 * What a caller may do with a repository. Until Quay's tenancy lands (issue #5: teams and
 * per-repository permissions), a repository is private to the user whose namespace holds it and
 * to the admins (the `owners` team) of the organization that holds it; public repositories may be
 * pulled by anyone. #5 widens these two functions; every check in the Worker goes through them.
 */
import { and, asc, eq, gt, inArray, or, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories, teamMembers, teams, users } from "../db/schema";
import type { RepositoryAction } from "../middleware/access";
import { organizationRole } from "./organizations";
import type { TokenSubject } from "./registry-tokens";

const ALL_ACTIONS: RepositoryAction[] = ["pull", "push", "delete"];

/** The enabled user behind a subject, if any. */
async function subjectUser(db: Db, subject: TokenSubject) {
  if (subject.kind !== "user") return undefined;
  const user = await db.select().from(users).where(eq(users.username, subject.name)).get();
  return user && user.enabled && user.kind === "user" ? user : undefined;
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
    let known = adminOf.get(namespace);
    if (!known) {
      known = organizationRole(db, who.id, namespace).then((role) => role === "admin");
      adminOf.set(namespace, known);
    }
    return known;
  };
  return {
    async actions(name: string): Promise<RepositoryAction[]> {
      if (await administers(name.split("/")[0]!)) return ALL_ACTIONS;
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
  const visible: SQL | undefined =
    user && administered
      ? or(eq(repositories.namespace, user.username), inArray(repositories.namespace, administered), eq(repositories.visibility, "public"))
      : eq(repositories.visibility, "public");
  const rows = await db
    .select({ name: repositories.name })
    .from(repositories)
    .where(last === undefined ? visible : and(visible, gt(repositories.name, last)))
    .orderBy(asc(repositories.name))
    .limit(limit);
  return rows.map((r) => r.name);
}
