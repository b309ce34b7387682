/**
 * A blob a cache repository's manifest names but the registry does not hold yet: fetched from the
 * upstream once, whoever asks and however many ask at once, and stored before anyone is served.
 *
 * The lock: one Durable Object per namespace and digest (durable-objects/ProxyBlobDO.ts) runs
 * {@link fillBlob} for every miss of that blob, one at a time. The first fetches; those that
 * waited behind it find the blob recorded and only link it (or nothing). So ten concurrent first
 * pulls make one upstream request per blob.
 *
 * Fill first, then serve (README, "Proxy cache"): the upstream's body is piped straight into R2
 * (the shared ingest, R2 or the upload session checking digest and size as the bytes pass), then
 * the client reads the stored object as any other pull does. One read of the
 * upstream, nothing buffered beyond the streams' own chunks, and no work left after the response:
 * a `tee` to the client and R2 would buffer whatever the slower side has not taken (a fast
 * client, a slow R2 write, or the reverse) inside a 128 MB isolate, and whatever R2 had not
 * received when the response ended would be cut off about 30 s later. The price is latency:
 * the client's first byte waits for the whole blob to arrive (measured in
 * test/e2e/proxy-cache.test.ts; the figures are in the README).
 */
import { eq } from "drizzle-orm";
import { repositories } from "../db/schema";
import { DomainError, notFound } from "../errors/domain";
import type { Digest } from "../lib/digest";
import { findBlob, findLinkedBlob } from "../registry/blobs";
import { namespaceOf } from "../registry/repository-name";
import { quotaExceeded } from "../quota/enforcement";
import { cacheRoom } from "./eviction";
import { coresOf, ingestBlob, type IngestScope } from "../upstream/ingest";
import { UpstreamError, type UpstreamRegistry } from "../upstream/registry";

export interface BlobFill {
  repositoryId: number;
  /** Its name when the pull read it: its namespace's core is where the blob is filled. */
  repositoryName: string;
  digest: Digest;
  /** The repository as the upstream names it (src/proxy/upstream.ts `upstreamRepository`). */
  upstreamRepository: string;
}

/** What a client is told when the upstream cannot give a blob the cache does not hold. */
export function upstreamBlobUnavailable(digest: Digest, err: UpstreamError): DomainError {
  return new DomainError("not_found", {
    subject: "blob",
    message: "blob not cached and the upstream registry did not provide it",
    detail: { digest, upstream: err.kind },
  });
}

/**
 * Makes `fill.digest` readable through the repository: already linked, nothing; else fetched from
 * `upstream` through the shared ingest (src/upstream/ingest.ts `ingestBlob`: one verified R2 put when
 * it fits one, an upload session's multipart otherwise, never buffered; content the registry holds
 * already hashed and linked, not stored again). Must run under the blob's lock.
 */
export async function fillBlob(scope: IngestScope, upstream: UpstreamRegistry, fill: BlobFill): Promise<void> {
  const { repositoryId, digest } = fill;
  const core = (await coresOf(scope)({ id: repositoryId, name: fill.repositoryName })).db;
  if (await findLinkedBlob(core, { id: repositoryId }, digest)) return;
  // Content another repository holds is still read from the upstream (the ingest hashes it and
  // links it): a cached manifest naming a digest proves nothing, and blobs are read only where linked.
  // The core's row: a shard's shadow holds the first-push mark that counts there.
  const repository = await core.select().from(repositories).where(eq(repositories.id, repositoryId)).get();
  if (!repository) throw notFound("blob", { digest });
  try {
    const blob = await upstream.getBlob(fill.upstreamRepository, digest);
    if (!blob) throw notFound("blob", { digest });
    // New content must fit: eviction made room for the layer sizes the manifest declared, which
    // the upstream chose; the bytes it sends (their size checked as they land) are what is charged.
    const namespace = namespaceOf(repository.name);
    const room = (await findBlob(core, digest)) ? null : await cacheRoom(scope.env, scope.db, core, namespace);
    if (room !== null && blob.size > room) {
      await blob.body.cancel().catch(() => {});
      throw quotaExceeded(namespace);
    }
    await ingestBlob(scope, repository, digest, blob);
  } catch (err) {
    if (err instanceof UpstreamError) throw upstreamBlobUnavailable(digest, err);
    throw err;
  }
}
