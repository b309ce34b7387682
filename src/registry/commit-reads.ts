/**
 * What a manifest commit reads under the repository's lock (src/registry/manifest-writes.ts), sent
 * together: the write guard (`DB`: name, state, policies, quota), then in the namespace's core the
 * index's children and the blobs the manifest names (re-checked under the lock, where GC and blob
 * DELETEs run) and the alive tag it moves. One D1 batch, one round trip, when the core is in `DB`;
 * the guard and a batch of the core's reads at once when the core is on a shard. They were four
 * round trips one after the other. All are reads under the same lock, so sending them together
 * changes no answer: the commit still checks them in the order it always did.
 */
import { type Db, sameDatabase } from "../db/client";
import type { RepositoryRef } from "../events/envelope";
import { linkedDigestsQueries } from "./blobs";
import type { WriteClients } from "./core-db";
import { liveManifestsQueries, type ManifestCommit } from "./manifests";
import { type AliveTag, aliveTagOf, aliveTagQuery } from "./tags";
import { type WriteGuard, writeGuardOf, writeGuardQuery } from "./write-guard";

export interface CommitReads {
  /** Undefined when the repository no longer bears its name. */
  guard: WriteGuard | undefined;
  /** The index's children the repository holds live, by digest (none read for a proxied commit). */
  manifests: { digest: string }[];
  /** The blobs the repository links among those the manifest names (none read for a proxied commit). */
  linked: { digest: string }[];
  /** The alive tag the push moves, when it is pushed by tag. */
  alive: AliveTag | undefined;
}

/** A query drizzle can send in a batch. */
type Read = Parameters<Db["batch"]>[0][number];

export async function readForCommit(
  clients: WriteClients,
  repository: RepositoryRef,
  commit: Pick<ManifestCommit, "parsed" | "tag" | "referencesPending">,
  nowMs: number,
): Promise<CommitReads> {
  const { db, core } = clients;
  const checked = !commit.referencesPending;
  const manifestReads: Read[] = checked ? liveManifestsQueries(core, repository.id, commit.parsed.manifests) : [];
  const blobReads: Read[] = checked ? linkedDigestsQueries(core, repository.id, commit.parsed.blobs) : [];
  const tagReads: Read[] = commit.tag === null ? [] : [aliveTagQuery(core, repository.id, commit.tag, nowMs)];
  const coreReads = [...manifestReads, ...blobReads, ...tagReads];
  const guardRead = writeGuardQuery(db, repository);
  let guardRows: unknown;
  let coreRows: unknown[];
  if (sameDatabase(db, core)) {
    [guardRows, ...coreRows] = await db.batch([guardRead, ...coreReads]);
  } else {
    const [first, ...rest] = coreReads;
    [guardRows, coreRows] = await Promise.all([guardRead, first ? core.batch([first, ...rest]) : []]);
  }
  const rowsOf = (from: number, count: number) => coreRows.slice(from, from + count).flat() as { digest: string }[];
  const tagRows = rowsOf(manifestReads.length + blobReads.length, tagReads.length) as unknown as Parameters<
    typeof aliveTagOf
  >[0][];
  return {
    guard: writeGuardOf((guardRows as Parameters<typeof writeGuardOf>[0][])[0]),
    manifests: rowsOf(0, manifestReads.length),
    linked: rowsOf(manifestReads.length, blobReads.length),
    alive: aliveTagOf(tagRows[0]),
  };
}
