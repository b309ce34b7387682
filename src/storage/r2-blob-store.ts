/** {@link BlobStore} on an R2 bucket. Key layout: src/storage/keys.ts. */
import type { ByteRange } from "../lib/http";
import {
  DigestMismatchError,
  MAX_LIST_LIMIT,
  type BlobStore,
  type ObjectPage,
  type SizedPut,
  type StoredObject,
  type UploadedPart,
} from "./blob-store";

/** Bytes per ranged read of a large object. */
const READ_SEGMENT = 16 * 1024 * 1024;

/** R2 refuses a put whose `sha256` option differs from the bytes it received (error 10037). */
function isChecksumMismatch(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /10037|checksum|digest/i.test(message);
}

export class R2BlobStore implements BlobStore {
  constructor(private readonly bucket: R2Bucket) {}

  /**
   * A ranged read of more than {@link READ_SEGMENT} bytes goes out as consecutive ranged reads,
   * each requested when the previous one has drained: at most one segment is in flight whatever
   * the blob's size. (Measured locally: a whole-object read of a multipart object made workerd's
   * memory grow with the object's size; segmented reads stay flat.)
   */
  async get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    if (!range) {
      const whole = await this.bucket.get(key);
      return whole && { size: whole.size, body: whole.body };
    }
    const { start } = range;
    const firstLength = Math.min(READ_SEGMENT, range.end - start + 1);
    const first = await this.bucket.get(key, { range: { offset: start, length: firstLength } });
    if (!first) return null;
    const end = Math.min(range.end, first.size - 1);
    if (end < start + READ_SEGMENT) return { size: first.size, body: first.body };
    // Native pipes into one stream of known length (so the answer keeps its Content-Length): each
    // segment is requested once the previous one has drained, so backpressure bounds memory.
    const { readable, writable } = new FixedLengthStream(end - start + 1);
    const pump = async () => {
      await first.body.pipeTo(writable, { preventClose: true });
      for (let next = start + READ_SEGMENT; next <= end; next += READ_SEGMENT) {
        const length = Math.min(READ_SEGMENT, end - next + 1);
        const segment = await this.bucket.get(key, { range: { offset: next, length } });
        if (!segment) throw new Error(`${key} vanished while being read`);
        await segment.body.pipeTo(writable, { preventClose: true });
      }
      await writable.close();
    };
    pump().catch((err: unknown) => writable.abort(err).catch(() => undefined));
    const body = readable as ReadableStream<Uint8Array>;
    return { size: first.size, body };
  }

  async size(key: string): Promise<number | null> {
    const head = await this.bucket.head(key);
    return head ? head.size : null;
  }

  async writtenAt(key: string): Promise<number | null> {
    const head = await this.bucket.head(key);
    return head ? head.uploaded.getTime() : null;
  }

  async stat(key: string): Promise<{ size: number; writtenAt: number } | null> {
    const head = await this.bucket.head(key);
    return head ? { size: head.size, writtenAt: head.uploaded.getTime() } : null;
  }

  async putVerified(key: string, body: ReadableStream<Uint8Array> | Uint8Array, sha256Hex: string): Promise<void> {
    try {
      await this.bucket.put(key, body, { sha256: sha256Hex });
    } catch (err) {
      if (isChecksumMismatch(err)) throw new DigestMismatchError();
      throw err;
    }
  }

  putSized(key: string, length: number): SizedPut {
    // R2 takes a stream only with a known length; a FixedLengthStream also refuses more or fewer
    // bytes, so a short body stores nothing. (Its readable cannot be piped into another one.)
    const { readable, writable } = new FixedLengthStream(length);
    const stored = this.bucket.put(key, readable).then(() => undefined);
    return { writer: writable.getWriter(), stored };
  }

  async list(prefix: string, options: { cursor?: string; limit?: number } = {}): Promise<ObjectPage> {
    const page = await this.bucket.list({ prefix, cursor: options.cursor, limit: options.limit ?? MAX_LIST_LIMIT });
    return {
      objects: page.objects.map((o) => ({ key: o.key, size: o.size, writtenAt: o.uploaded.getTime() })),
      ...(page.truncated ? { cursor: page.cursor } : {}),
    };
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
