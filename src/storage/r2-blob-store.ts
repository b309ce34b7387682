/** {@link BlobStore} on an R2 bucket. Key layout: src/storage/keys.ts. */
import type { ByteRange } from "../lib/http";
import { DigestMismatchError, type BlobStore, type StoredObject, type UploadedPart } from "./blob-store";

/** R2 refuses a put whose `sha256` option differs from the bytes it received (error 10037). */
function isChecksumMismatch(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /10037|checksum|digest/i.test(message);
}

export class R2BlobStore implements BlobStore {
  constructor(private readonly bucket: R2Bucket) {}

  async get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    const object = await this.bucket.get(
      key,
      range ? { range: { offset: range.start, length: range.end - range.start + 1 } } : undefined,
    );
    if (!object) return null;
    return { size: object.size, body: object.body };
  }

  async size(key: string): Promise<number | null> {
    const head = await this.bucket.head(key);
    return head ? head.size : null;
  }

  async putVerified(key: string, body: ReadableStream<Uint8Array> | Uint8Array, sha256Hex: string): Promise<void> {
    try {
      await this.bucket.put(key, body, { sha256: sha256Hex });
    } catch (err) {
      if (isChecksumMismatch(err)) throw new DigestMismatchError();
      throw err;
    }
  }

  async delete(keys: string[]): Promise<void> {
    // R2 deletes at most 1,000 keys a call.
    for (let i = 0; i < keys.length; i += 1000) await this.bucket.delete(keys.slice(i, i + 1000));
  }

  async createMultipart(key: string): Promise<string> {
    const upload = await this.bucket.createMultipartUpload(key);
    return upload.uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array): Promise<UploadedPart> {
    const part = await this.bucket.resumeMultipartUpload(key, uploadId).uploadPart(partNumber, bytes);
    return { partNumber: part.partNumber, etag: part.etag };
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    await this.bucket.resumeMultipartUpload(key, uploadId).complete(parts);
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.bucket.resumeMultipartUpload(key, uploadId).abort();
    } catch {
      // Already completed, aborted or expired: nothing left to discard.
    }
  }
}
