/**
 * Garbage collection of one repository, run by its Durable Object under the repository's lock.
 * (Being written: issue #6.)
 */
import type { Db } from "../db/client";

export interface RepositoryCollection {
  tagRowsDeleted: number;
  manifestsDeleted: number;
  /** True when a bound was reached and another pass has more to do. */
  more: boolean;
}

export async function collectRepository(_db: Db, _repositoryId: number, _nowMs: number): Promise<RepositoryCollection> {
  return { tagRowsDeleted: 0, manifestsDeleted: 0, more: false };
}
