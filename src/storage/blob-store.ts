/**
 * Where bytes live. Everything above this interface speaks digests and keys (src/storage/keys.ts);
 * only the implementation knows R2.
 */
import type { ByteRange } from "../lib/http";

export interface StoredObject {
  size: number;
  /** The requested range's bytes, or all of them. */
  body: ReadableStream<Uint8Array>;
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
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
   * Streams an object, or the inclusive `range` of it; null when the key does not exist. Pass a
   * range to read a large object: it is then read in bounded segments.
   */
  get(key: string, range?: ByteRange): Promise<StoredObject | null>;
  /** The object's size in bytes, or null when it does not exist. */
  size(key: string): Promise<number | null>;
  /** When the object was last written (unix ms), or null when it does not exist. */
  writtenAt(key: string): Promise<number | null>;
  /**
   * Stores `body` under `key` only if its SHA-256 is `sha256Hex`; otherwise stores nothing and
   * throws {@link DigestMismatchError}. A stream body must have a known length.
   */
  putVerified(key: string, body: ReadableStream<Uint8Array> | Uint8Array, sha256Hex: string): Promise<void>;
  /** Deletes objects; missing keys are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Starts a multipart object at `key` and returns its upload id. */
  createMultipart(key: string): Promise<string>;
  /**
   * Uploads one part. Every part but the last must have the same size, at least 5 MiB (R2).
   * Uploading a part number again replaces that part.
   */
  uploadPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array): Promise<UploadedPart>;
  /** Assembles the listed parts, in order, into the object at `key`. */
  completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void>;
  /** Discards a multipart object and its parts; an unknown upload is not an error. */
  abortMultipart(key: string, uploadId: string): Promise<void>;
}
