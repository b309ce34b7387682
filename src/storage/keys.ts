/**
 * The R2 key layout, built only here:
 *
 *   blobs/sha256/<hex>   bytes of a blob or manifest whose digest was known before they were
 *                        written (monolithic pushes, manifests, small chunked uploads); written
 *                        once, with R2 verifying the SHA-256 on put.
 *   uploads/<uuid>       a chunked upload assembled with R2 multipart. R2 cannot rename, so once
 *                        its digest is verified this object *is* the blob (D1 `blobs.storage_key`).
 *
 * No key is ever rewritten with other content, so no key is a mutable pointer (R2 allows about
 * one write per second per key).
 */
import { digestHex, type Digest } from "../lib/digest";

export function contentKey(digest: Digest): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

export function uploadKey(uploadId: string): string {
  return `uploads/${uploadId}`;
}
