/** Looking up and creating repositories. Callers check access first (src/middleware/access.ts). */
import { eq } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { repositories, type Repository } from "../db/schema";

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
 * Returns the repository, creating it on first push as Quay does. Concurrent first pushes race
 * on the unique name; `onConflictDoNothing` lets the loser read the winner's row.
 */
export async function ensureRepository(db: Db, name: string): Promise<Repository> {
  const existing = await findRepository(db, name);
  if (existing) return existing;
  const namespace = name.split("/")[0]!;
  await db.insert(repositories).values({ name, namespace }).onConflictDoNothing();
  const created = await findRepository(db, name);
  if (!created) throw new Error(`repository ${name} vanished after insert`);
  return created;
}
