/**
 * Quay's stars (`/api/v1/user/starred`): a user's bookmarked repositories. Only repositories the
 * user can see are starred or listed; a star on one they can no longer see stays but is not shown.
 */
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories, repositoryStars, type Repository, type User } from "../db/schema";
import { visibleTo } from "../identity/permissions";
import { REPOSITORIES_PER_PAGE } from "./repository-views";
import { splitName } from "./repository-name";

/** Stars `repository` for `user`; starring twice is no error (Quay ignores the duplicate). */
export async function starRepository(db: Db, user: User, repository: Repository): Promise<void> {
  await db.insert(repositoryStars).values({ userId: user.id, repositoryId: repository.id }).onConflictDoNothing();
}

/** Removes the user's star on `repository`; false when there was none. */
export async function unstarRepository(db: Db, user: User, repository: Repository): Promise<boolean> {
  const gone = await db
    .delete(repositoryStars)
    .where(and(eq(repositoryStars.userId, user.id), eq(repositoryStars.repositoryId, repository.id)))
    .returning({ id: repositoryStars.repositoryId });
  return gone.length > 0;
}

/** A page of the user's starred, visible image repositories (Quay's list, 100 a page, by id). */
export async function listStarred(db: Db, user: User, after?: number) {
  const starred = db
    .select({ id: repositoryStars.repositoryId })
    .from(repositoryStars)
    .where(eq(repositoryStars.userId, user.id));
  const rows = await db
    .select({
      id: repositories.id,
      name: repositories.name,
      description: repositories.description,
      visibility: repositories.visibility,
    })
    .from(repositories)
    .where(
      and(
        inArray(repositories.id, starred),
        visibleTo(db, user),
        eq(repositories.kind, "image"),
        after === undefined ? undefined : gt(repositories.id, after),
      ),
    )
    .orderBy(asc(repositories.id))
    .limit(REPOSITORIES_PER_PAGE + 1)
    .all();
  const page = rows.slice(0, REPOSITORIES_PER_PAGE);
  return {
    items: page.map((r) => {
      const [namespace, name] = splitName(r.name);
      return { namespace, name, description: r.description, is_public: r.visibility === "public" };
    }),
    next: rows.length > REPOSITORIES_PER_PAGE ? page[page.length - 1]!.id : undefined,
  };
}
