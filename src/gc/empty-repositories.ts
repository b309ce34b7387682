/**
 * Empty repositories a push left behind (issue #12, item 7g). A first push creates its repository
 * before anything is uploaded; when the upload is abandoned, or a mount falls back to an upload
 * nobody finishes, the repository stays empty for good. Such a repository is deleted once no push
 * has worked on it for UPLOAD_EXPIRY_SECONDS (plus the mark's refresh interval): every upload of it
 * has then been aborted by its alarm (the argument beside PUSH_ACTIVITY_REFRESH_MS in
 * src/registry/repositories.ts). Repositories created through the API, or that ever held a
 * manifest, carry no mark and are kept however empty, as Quay keeps them.
 *
 * Deletion is the ordinary one (src/registry/repository-deletion.ts): under the repository's
 * Durable Object lock, in one statement that re-checks the whole condition, then the queued purge
 * and its event; so a push that starts as the collector decides either marks the repository
 * first (and it is kept) or finds its name free and creates it afresh.
 */
import { and, ne } from "drizzle-orm";
import { readConfig } from "../config";
import type { Db } from "../db/client";
import { repositories } from "../db/schema";
import { systemOrigin } from "../events/envelope";
import { PUSH_ACTIVITY_REFRESH_MS } from "../registry/repositories";
import { abandonedFirstPush, deleteRepository, TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";

/** Repositories deleted per run at most; the next run takes the rest. */
const BATCH = 50;

/** Pushes that have not touched their repository since this time have no upload alive. */
export function abandonedBefore(nowMs: number, uploadExpirySeconds: number): number {
  return nowMs - uploadExpirySeconds * 1000 - PUSH_ACTIVITY_REFRESH_MS;
}

/** Repositories that look abandoned at `before` (the partial index on the mark finds them). */
export async function abandonedRepositories(
  db: Db,
  before: number,
  limit = BATCH,
): Promise<{ id: number; name: string }[]> {
  return db
    .select({ id: repositories.id, name: repositories.name })
    .from(repositories)
    .where(and(abandonedFirstPush(before), ne(repositories.namespace, TOMBSTONE_NAMESPACE)))
    .limit(limit)
    .all();
}

/** One bounded pass at `nowMs`: deletes the abandoned repositories it finds. */
export async function collectEmptyRepositories(env: Env, db: Db, nowMs: number): Promise<{ deleted: number }> {
  const before = abandonedBefore(nowMs, readConfig(env).UPLOAD_EXPIRY_SECONDS);
  let deleted = 0;
  for (const repository of await abandonedRepositories(db, before)) {
    if (await deleteRepository(env, repository, systemOrigin("gc"), { abandonedBefore: before })) deleted++;
  }
  return { deleted };
}
