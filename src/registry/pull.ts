/**
 * The pull seam: everything a /v2 manifest or blob GET/HEAD reads, behind one interface. The
 * routes ask a {@link PullSource} and turn its answer into headers; the proxy cache (src/proxy/pull-through.ts)
 * is another PullSource that wraps this one, so it can serve what the registry holds and fetch
 * the rest upstream. Pulls are counted by the routes, once per request, whichever source served
 * them (src/registry/pull-counts.ts).
 *
 * Its cost is the read path's (ARCHITECTURE.md "The read path at the edge", measured in
 * test/workers/v2/pull-cost.test.ts): a manifest by tag or digest is one D1 query and, unless
 * the isolate's content cache holds its bytes, one R2 read; a blob is one D1 query and its R2
 * read; nothing here goes through a Durable Object. For a pull-only token, a manifest or blob by
 * digest seen in the last FACT_TTL costs no D1 query at all (src/registry/pull-cache.ts), nor, for a
 * manifest whose bytes the isolate holds, any R2 read (test/workers/v2/pull-cache.test.ts).
 */
import type { Db } from "../db/client";
import type { Manifest } from "../db/schema";
import type { ByteRange } from "../lib/http";
import { notFound } from "../errors/domain";
import type { BlobStore } from "../storage/blob-store";
import { findLinkedBlob, touchBlobs, touchDue, type BlobInfo } from "./blobs";
import { lookupManifest, manifestUnknown, storedManifestBody, unusableReference } from "./manifests";
import { negotiateManifest } from "./negotiate";
import type { Digest, ManifestReference } from "./reference";
import { findRepository } from "./repositories";
import { forgetManifest, type PullFacts } from "./pull-cache";

export interface ManifestRequest {
  /** The tag or digest asked for; null when what the client wrote is neither, so no manifest can be there. */
  reference: ManifestReference | null;
  /** The reference as the client wrote it, named in the error when it is no reference. */
  written?: string;
  /** The media types the client reads (its `Accept`): an index may be answered with its linux/amd64 image. */
  accept?: string | null;
  /** Whether the caller wants the bytes (a GET) or only what they are (a HEAD). */
  bytes: boolean;
}

export interface OpenedManifest {
  /** The manifest served: the one named, or the image content negotiation chose from it. */
  manifest: Manifest;
  /** Its bytes, exactly as pushed, when asked for. */
  bytes: Uint8Array | null;
}

export interface BlobRequest {
  /** Whether the caller wants the bytes (a GET) or only what they are (a HEAD). */
  bytes: boolean;
  /**
   * The part wanted, decided once the blob's size is known: a range, undefined for all of it, or
   * "unsatisfiable" when what was asked lies outside it (RFC 9110 §14.2, src/lib/http.ts).
   */
  range?: (size: number) => ByteRange | "unsatisfiable" | undefined;
}

export interface OpenedBlob {
  blob: BlobInfo;
  /** The range the body holds; null for the whole blob; "unsatisfiable" (and no body) when none fits. */
  range: ByteRange | "unsatisfiable" | null;
  /** The bytes, when asked for and the range fits. */
  body: ReadableStream<Uint8Array> | null;
}

export interface PullSource {
  /**
   * The live manifest `request.reference` names in `repository`. NAME_UNKNOWN when there is no
   * such repository, MANIFEST_UNKNOWN when it holds no such manifest.
   */
  openManifest(repository: string, request: ManifestRequest): Promise<OpenedManifest>;
  /** A blob `repository` links, or BLOB_UNKNOWN: blobs are read only where they are linked. */
  openBlob(repository: string, digest: Digest, request: BlobRequest): Promise<OpenedBlob>;
}

/**
 * What this registry holds: D1 for what exists, the store (and the isolate's content cache) for bytes.
 * Manifests, tags and blob links are read in `core`, the database holding the repository's
 * namespace's core; only a miss asks `db` (`DB`, the directory) whether the repository exists.
 * With `facts` (a pull-only token, src/routes/v2/pull-source.ts), what a pull by digest needs to
 * know from D1 may come from cached facts (src/registry/pull-cache.ts says why that is safe).
 */
export function storedPulls(core: Db, db: Db, store: BlobStore, facts: PullFacts | null = null): PullSource {
  /** The live manifest `digest` of `repository`: a cached fact, or D1 (then kept as one). */
  async function manifestByDigest(repository: string, digest: Digest): Promise<Manifest | undefined> {
    const known = await facts?.manifest(repository, digest);
    if (known) return known;
    const read = facts?.mark();
    const stored = await lookupManifest(core, { name: repository }, { kind: "digest", digest });
    if (stored && read) facts!.putManifest(repository, stored, read);
    return stored;
  }

  /** The manifest a reference names; a tag always asks D1 (tags move), its answer kept by digest. */
  async function manifestByReference(repository: string, reference: ManifestReference): Promise<Manifest | undefined> {
    if (reference.kind === "digest") return manifestByDigest(repository, reference.digest);
    const read = facts?.mark();
    const stored = await lookupManifest(core, { name: repository }, reference);
    if (stored && read) facts!.putManifest(repository, stored, read);
    return stored;
  }

  async function linkedBlob(repository: string, digest: Digest): Promise<{ blob?: BlobInfo; cached: boolean }> {
    const known = await facts?.link(repository, digest);
    if (known) return { blob: known, cached: true };
    const read = facts?.mark();
    const blob = await findLinkedBlob(core, { name: repository }, digest);
    if (blob && read) facts!.putLink(repository, blob, read);
    return { blob, cached: false };
  }

  return {
    async openManifest(repository, request) {
      const { reference } = request;
      const stored = reference && (await manifestByReference(repository, reference));
      if (!stored) {
        // Only a miss pays for telling an unknown repository from an unknown manifest.
        if (!(await findRepository(db, repository))) throw notFound("repository", { name: repository });
        throw reference ? manifestUnknown(reference) : unusableReference(request.written);
      }
      const manifest = await negotiateManifest(
        (digest) => manifestByDigest(repository, digest),
        store,
        stored,
        request.accept,
      );
      if (!request.bytes) return { manifest, bytes: null };
      const bytes = await storedManifestBody(store, manifest, facts?.sharedBytes);
      if (bytes) return { manifest, bytes };
      // Deleted and collected since a cached fact was read (or since the query above): not there.
      if (facts) await forgetManifest(repository, manifest.digest);
      throw manifestUnknown({ kind: "digest", digest: manifest.digest as Digest });
    },

    async openBlob(repository, digest, request) {
      const { blob, cached } = await linkedBlob(repository, digest);
      if (!blob) throw notFound("blob", { digest });
      const range = request.range?.(blob.size);
      if (range === "unsatisfiable") return { blob, range, body: null };
      if (!request.bytes) {
        // Clients HEAD a layer before a push that will name it: garbage collection spares it from
        // now (touchBlobs in src/registry/blobs.ts), with a write at most once per touch interval.
        // Were the blob collected between the read above and this touch, the manifest push that
        // follows would be refused (MANIFEST_BLOB_UNKNOWN), never committed over a missing blob.
        // A cached fact (pull-only tokens: no push follows) skips the touch with the read.
        if (!cached && touchDue(blob)) await touchBlobs(core, [blob.digest]);
        return { blob, range: null, body: null };
      }
      // Even a whole read names its span, so that the store reads a large blob in bounded segments.
      const span = range ?? (blob.size > 0 ? { start: 0, end: blob.size - 1 } : undefined);
      const object = await store.get(blob.storageKey, span);
      if (object) return { blob, range: range ?? null, body: object.body };
      if (cached) {
        // Collected (or collected and pushed again under a new key) since the fact was read: the
        // fact goes, and D1 is asked once more. The size is the digest's, so the range stands.
        facts!.dropLink(repository, digest);
        const now = await findLinkedBlob(core, { name: repository }, digest);
        const again = now && (await store.get(now.storageKey, span));
        if (again) return { blob: now, range: range ?? null, body: again.body };
      }
      // No bytes: the blob was collected between the read and the get (or lost). Not a 500.
      console.error(JSON.stringify({ msg: "blob has no bytes", digest, key: blob.storageKey }));
      throw notFound("blob", { digest });
    },
  };
}
