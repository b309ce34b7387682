/**
 * A blob a cache repository's manifest names but the registry does not hold yet: fetched from the
 * upstream once, whoever asks and however many ask at once, and stored before anyone is served.
 *
 * The lock: one Durable Object per namespace and digest (durable-objects/ProxyBlobDO.ts) runs
 * {@link fillBlob} for every miss of that blob, one at a time. The first fetches; those that
 * waited behind it find the blob recorded and only link it (or nothing). So ten concurrent first
 * pulls make one upstream request per blob.
 *
 * Fill first, then serve (README, "Proxy cache"): the upstream's body is piped straight into R2's
 * put (a FixedLengthStream of the size the upstream declared, R2 checking the SHA-256 as it
 * writes), then the client reads the stored object as any other pull does. One read of the
 * upstream, nothing buffered beyond the streams' own chunks, and no work left after the response:
 * a `tee` to the client and R2 would buffer whatever the slower side has not taken (a fast
 * client, a slow R2 write, or the reverse) inside a 128 MB isolate, and whatever R2 had not
 * received when the response ended would be cut off about 30 s later. The price is latency:
 * the client's first byte waits for the whole blob to arrive (measured in
 * test/e2e/proxy-cache.test.ts).
 */
import type { Db } from "../db/client";
import { DomainError, notFound } from "../errors/domain";
import { digestHex, type Digest } from "../lib/digest";
import { findBlob, findLinkedBlob, linkBlob, recordBlob } from "../registry/blobs";
import { DigestMismatchError, type BlobStore } from "../storage/blob-store";
import { contentKey } from "../storage/keys";
import { UpstreamError, type UpstreamRegistry } from "../upstream/registry";

/** R2's largest single put (5 GiB less 5 MiB, as its documentation gives it). */
export const MAX_FILL_BYTES = 5 * 1024 ** 3 - 5 * 1024 ** 2;

export interface BlobFill {
  repositoryId: number;
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
 * Makes `fill.digest` readable through the repository: already linked, nothing; known to the
 * registry (another repository's), linked; else fetched from `upstream` and stored. Must run
 * under the blob's lock (see above).
 */
export async function fillBlob(db: Db, store: BlobStore, upstream: UpstreamRegistry, fill: BlobFill): Promise<void> {
  const { repositoryId, digest } = fill;
  if (await findLinkedBlob(db, { id: repositoryId }, digest)) return;
  if (await findBlob(db, digest)) return linkBlob(db, repositoryId, digest);
  let blob: Awaited<ReturnType<UpstreamRegistry["getBlob"]>>;
  try {
    blob = await upstream.getBlob(fill.upstreamRepository, digest);
  } catch (err) {
    if (err instanceof UpstreamError) throw upstreamBlobUnavailable(digest, err);
    throw err;
  }
  if (!blob) throw notFound("blob", { digest });
  if (blob.size > MAX_FILL_BYTES) {
    await blob.body.cancel().catch(() => {});
    throw new DomainError("too_large", {
      subject: "blob",
      message: `the upstream blob is larger than the cache stores (${MAX_FILL_BYTES} bytes)`,
      detail: { digest, size: blob.size },
    });
  }
  const key = contentKey(digest);
  // R2 needs the length up front; the stream errors if the upstream sends more or less.
  const sized = new FixedLengthStream(blob.size);
  const piped = blob.body.pipeTo(sized.writable);
  try {
    await Promise.all([store.putVerified(key, sized.readable, digestHex(digest)), piped]);
  } catch (err) {
    await blob.body.cancel().catch(() => {});
    if (err instanceof DigestMismatchError) {
      throw new DomainError("not_found", {
        subject: "blob",
        message: "the upstream registry sent bytes that do not match the digest",
        detail: { digest },
      });
    }
    throw err;
  }
  await recordBlob(db, { digest, size: blob.size, storageKey: key }, repositoryId);
}
