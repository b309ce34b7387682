/**
 * Where bytes live. Everything above this interface speaks digests and keys (src/storage/keys.ts);
 * only an implementation knows R2 (src/storage/r2-blob-store.ts). The in-memory twin
 * (src/storage/memory-blob-store.ts) keeps R2's rules where the code relies on them, and one
 * contract suite (test/workers/storage/blob-store-contract.ts) holds both to them.
 */
import type { ByteRange } from "../lib/http";

export interface StoredObject {
  size: number;
  /** The requested range's bytes, or all of them. */
  body: ReadableStream<Uint8Array>;
}

/** An object as a listing shows it. */
export interface ListedObject {
  key: string;
  size: number;
  /** When the object was last written (unix ms): for a multipart object, when it was completed. */
  writtenAt: number;
}

export interface ObjectPage {
  objects: ListedObject[];
  /** Present when more objects follow: pass it back to {@link BlobStore.list} for the next page. */
  cursor?: string;
}

/** The most objects one {@link BlobStore.list} call returns (R2's limit). */
export const MAX_LIST_LIMIT = 1000;

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/** A put in progress: see {@link BlobStore.putSized}. */
export interface SizedPut {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  stored: Promise<void>;
}

/** Thrown by {@link BlobStore.putVerified} when the bytes do not hash to the expected digest. */
export class DigestMismatchError extends Error {
  constructor() {
    super("content does not match its digest");
    this.name = "DigestMismatchError";
  }
}

export interface BlobStore {
  /**
   * Streams an object, or the inclusive `range` of it; null when the key does not exist. A large
   * object is read in bounded segments; pass its range when its size is known (a pull does), which
   * saves the R2 store one get of a multipart object (src/storage/r2-blob-store.ts).
   */
  get(key: string, range?: ByteRange): Promise<StoredObject | null>;
  /** The object's size in bytes, or null when it does not exist. */
  size(key: string): Promise<number | null>;
  /** When the object was last written (unix ms), or null when it does not exist. */
  writtenAt(key: string): Promise<number | null>;
  /** Size and last write of the object in one look (what garbage collection weighs), or null. */
  stat(key: string): Promise<{ size: number; writtenAt: number } | null>;
  /**
   * Stores `body` under `key` only if its SHA-256 is `sha256Hex`; otherwise stores nothing and
   * throws {@link DigestMismatchError}. A stream body must have a known length.
   */
  putVerified(key: string, body: ReadableStream<Uint8Array> | Uint8Array, sha256Hex: string): Promise<void>;
  /**
   * Opens a put of `length` bytes at `key`, unverified (the upload path hashes the bytes as they
   * pass, src/registry/upload-single.ts, and checks the digest at the closing PUT): write them to
   * `writer` and close it. `stored` settles once the object is written; with more or fewer bytes
   * it fails and nothing is stored.
   */
  putSized(key: string, length: number): SizedPut;
  /**
   * One page of the objects whose keys start with `prefix`, in key order (UTF-8 bytes), after
   * `cursor` (from the previous page); at most `limit` (1 to {@link MAX_LIST_LIMIT}, the default)
   * objects. A multipart object is listed only once completed.
   */
  list(prefix: string, options?: { cursor?: string; limit?: number }): Promise<ObjectPage>;
  /** Deletes objects; missing keys are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Starts a multipart object at `key` and returns its upload id. */
  createMultipart(key: string): Promise<string>;
  /**
   * Uploads one part. Every part but the last must have the same size, at least 5 MiB (R2).
   * Uploading a part number again replaces that part. The caller may reuse `bytes` once this
   * settles (src/registry/upload-ingest.ts does): an implementation keeps no reference to them.
   */
  uploadPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array): Promise<UploadedPart>;
  /**
   * Assembles the listed parts, in ascending part order, into the object at `key` (replacing
   * any object there). R2 refuses it when a part but the last is under 5 MiB, when the parts but
   * the last differ in size or the last is larger, or when a listed part was not uploaded.
   */
  completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void>;
  /** Discards a multipart object and its parts; an unknown upload is not an error. */
  abortMultipart(key: string, uploadId: string): Promise<void>;
}
