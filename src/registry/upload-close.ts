/**
 * The closing PUT of an upload session: check the bytes against the digest the client names,
 * then keep them as the blob (or link content the registry already holds). The digest comes from
 * what the session knows (src/registry/upload-hash.ts); when it was deferred, the multipart object
 * is completed first and read back through a native hasher. A mismatch leaves nothing behind: the
 * session's objects are deleted and nothing is linked.
 */
import type { Db } from "../db/client";
import { DomainError } from "../errors/domain";
import { digestHex, sha256Digest, type Digest } from "../lib/digest";
import { hex } from "../lib/encoding";
import type { BlobStore } from "../storage/blob-store";
import { contentKey } from "../storage/keys";
import { findBlob, linkBlob, touchBlobs } from "./blobs";
import type { IngestState } from "./upload-ingest";
import { knownDigest, sha256OfStored } from "./upload-hash";
import type { SingleObject } from "./upload-single";

/** What an upload session keeps between its requests (a JSON row in its Durable Object). */
export interface UploadSessionState extends IngestState {
  uploadId: string;
  repository: string;
  repositoryId: number;
  /** Set once the multipart object is complete, so that a retried PUT only has to record it. */
  completed: { digest: Digest; storageKey: string } | null;
  /**
   * When this upload last recorded push activity on a repository its push created and that has
   * no manifest yet; null otherwise (or absent, in sessions opened before it existed).
   */
  firstPushActivityAt?: number | null;
  /**
   * The database holding the repository's core (src/db/core-shards.ts), as the Worker found it
   * with its shadows made when it opened the session; absent in sessions opened before it existed.
   */
  coreShard?: number;
  /** The one object the first request was stored as (src/registry/upload-single.ts); else null or absent. */
  single?: SingleObject | null;
  /** The multipart object is complete and its digest being checked: a retried PUT only checks it. */
  assembled?: boolean;
}

export interface ClosingSession {
  /** The client over the repository's core. */
  db: Db;
  store: BlobStore;
  /** Persists the state (an assembled object must be known even if the check never ends). */
  save: (state: UploadSessionState) => void;
  /** Discards everything the upload stored and ends it. */
  discard: (state: UploadSessionState) => Promise<void>;
}

function digestInvalid(digest: Digest, actual: string | null): DomainError {
  return new DomainError("invalid", {
    subject: "digest",
    detail: { digest, actual: actual === null ? null : sha256Digest(actual) },
  });
}

/**
 * Checks the upload's bytes (all received: `tail` holds those not in a part) against `digest`,
 * then stores them as the blob and returns where it lives; a mismatch discards the upload.
 */
export async function verifyAndPersist(
  session: ClosingSession,
  state: UploadSessionState,
  digest: Digest,
  tail: Uint8Array,
): Promise<{ digest: Digest; storageKey: string }> {
  let actual = knownDigest(state.hash, state.offset);
  // Bytes from several requests but no part cut: all of them are in the tail (< one part).
  if (actual === null && !state.multipart) actual = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", tail)));
  if (actual === null) return assembleAndVerify(session, state, digest, tail);
  if (actual !== digestHex(digest)) {
    await session.discard(state);
    throw digestInvalid(digest, actual);
  }
  return persistVerified(session, state, digest, tail);
}

/** Completes the multipart object, then reads it back through a native hasher. */
async function assembleAndVerify(
  session: ClosingSession,
  state: UploadSessionState,
  digest: Digest,
  tail: Uint8Array,
): Promise<{ digest: Digest; storageKey: string }> {
  const { store, db } = session;
  const { key, uploadId } = state.multipart!;
  if (!state.assembled) {
    await store.completeMultipart(key, uploadId, await withLastPart(store, state, tail));
    state.assembled = true;
    session.save(state);
  }
  const actual = await sha256OfStored(store, key, state.offset);
  if (actual !== digestHex(digest)) {
    await session.discard(state);
    throw digestInvalid(digest, actual);
  }
  // Touch, then look (touchBlobs in src/registry/blobs.ts): known content is linked, ours dropped.
  await touchBlobs(db, [digest]);
  const known = await findBlob(db, digest);
  if (!known) return { digest, storageKey: key };
  await linkBlob(db, state.repositoryId, digest);
  await store.delete([key]);
  return { digest, storageKey: known.storageKey };
}

/** The session's parts with the tail uploaded as the last one (an empty upload has one empty part). */
async function withLastPart(store: BlobStore, state: UploadSessionState, tail: Uint8Array) {
  const { key, uploadId } = state.multipart!;
  const parts = [...state.parts];
  if (tail.byteLength > 0 || parts.length === 0) {
    parts.push(await store.uploadPart(key, uploadId, parts.length + 1, tail));
  }
  state.parts = parts;
  return parts;
}

/** Puts bytes already verified where the blob will live and returns that key. */
async function persistVerified(
  { db, store }: ClosingSession,
  state: UploadSessionState,
  digest: Digest,
  tail: Uint8Array,
): Promise<{ digest: Digest; storageKey: string }> {
  // Touch, then look: a blob found after the touch outlives garbage collection's grace period,
  // long enough to be linked below (the argument: touchBlobs in src/registry/blobs.ts).
  await touchBlobs(db, [digest]);
  const known = await findBlob(db, digest);
  if (known) {
    // Known content: link it, keep nothing of this upload.
    if (state.multipart) await store.abortMultipart(state.multipart.key, state.multipart.uploadId);
    await linkBlob(db, state.repositoryId, digest);
    if (state.single) await store.delete([state.single.key]);
    return { digest, storageKey: known.storageKey };
  }
  if (state.single) return { digest, storageKey: state.single.key };
  if (!state.multipart) {
    const key = contentKey(digest);
    await store.putVerified(key, tail, digestHex(digest));
    return { digest, storageKey: key };
  }
  await store.completeMultipart(state.multipart.key, state.multipart.uploadId, await withLastPart(store, state, tail));
  return { digest, storageKey: state.multipart.key };
}

/** Deletes what an unfinished or finished-but-unrecorded upload stored. */
export async function discardStored(db: Db, store: BlobStore, state: UploadSessionState): Promise<void> {
  if (state.completed) {
    const known = await findBlob(db, state.completed.digest);
    if (known?.storageKey !== state.completed.storageKey) await store.delete([state.completed.storageKey]);
    return;
  }
  // An assembled multipart object is an object: aborting no longer removes it.
  if (state.multipart && state.assembled) await store.delete([state.multipart.key]);
  else if (state.multipart) await store.abortMultipart(state.multipart.key, state.multipart.uploadId);
  if (state.single) await store.delete([state.single.key]);
}
