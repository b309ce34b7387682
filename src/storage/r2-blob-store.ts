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

/**
 * Bytes per ranged read of a multipart object. The local R2 simulator assembles a multipart object's
 * bytes through a JavaScript stream, and a whole read of one made workerd's memory grow with the
 * object's size; reads of this size, each asked for once the previous one has drained, keep it
 * bounded. Measured on a 256 MiB multipart blob (README "Large pulls"): 16, 64 and 256 MiB (one
 * get) cost 9.0, 7.9 and 7.5 s of workerd CPU per GiB, workerd grew by up to 37, 56 and 92 MiB, and
 * the Worker's isolate stayed at 50 MiB in all three. 64 MiB also means 16 gets (R2 Class B
 * operations, each counted against the invocation's limits, below) per GiB instead of 64.
 */
export const MULTIPART_SEGMENT = 64 * 1024 * 1024;

/**
 * The most gets one read makes: a Worker invocation may make up to 1,000 operations on other
 * Cloudflare services, R2 reads included (the KV limits page), and the request needs some of its
 * own. Past 500 segments (32 GiB at 64 MiB; a session upload may reach ~78 GiB) segments grow.
 */
export const MAX_SEGMENTS = 500;

/**
 * Whether an R2 ETag is a multipart object's: R2, as S3, names it `<MD5 of the parts' MD5s>-<part
 * count>` (R2's "Multipart upload" documentation); a put's ETag is the plain MD5 hex of its bytes.
 */
export function isMultipartEtag(etag: string): boolean {
  return /-\d+$/.test(etag);
}

/** R2 refuses a put whose `sha256` option differs from the bytes it received (error 10037). */
function isChecksumMismatch(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /10037|checksum|digest/i.test(message);
}

export class R2BlobStore implements BlobStore {
  /** `segment`, `maxSegments`: see {@link MULTIPART_SEGMENT}, {@link MAX_SEGMENTS} (tests pass small ones). */
  constructor(
    private readonly bucket: R2Bucket,
    private readonly segment = MULTIPART_SEGMENT,
    private readonly maxSegments = MAX_SEGMENTS,
  ) {}

  /**
   * A range is read with a first get of at most one segment of bytes, whose ETag says
   * how the object is stored: the rest of a single object then comes in one more get, the rest of
   * a multipart object in consecutive segments, each requested when the previous one has drained
   * (at most one segment in flight whatever the blob's size). Measured locally on a 256 MiB blob:
   * a single object costs ~0.5 s of workerd CPU per GiB read in one get or two, a multipart one
   * 7.5-9 s/GiB, nearly all of it the simulator's assembly of parts (README "Large pulls").
   */
  async get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    if (!range) {
      const whole = await this.bucket.get(key);
      if (!whole || whole.size <= this.segment || !isMultipartEtag(whole.etag))
        return whole && { size: whole.size, body: whole.body };
      // A large multipart object read whole (a caller that did not know its size): drop this body
      // before it flows and read it in segments, for the memory reason above.
      await whole.body.cancel();
      return this.get(key, { start: 0, end: whole.size - 1 });
    }
    const { start } = range;
    const firstLength = Math.min(this.segment, range.end - start + 1);
    const first = await this.bucket.get(key, { range: { offset: start, length: firstLength } });
    if (!first) return null;
    const end = Math.min(range.end, first.size - 1);
    if (end < start + firstLength) return { size: first.size, body: first.body };
    const rest = end - start - firstLength + 1;
    const step = isMultipartEtag(first.etag) ? Math.max(this.segment, Math.ceil(rest / (this.maxSegments - 1))) : rest;
    // Native pipes into one stream of known length (so the answer keeps its Content-Length): each
    // further get is requested once the previous body has drained, so backpressure bounds memory.
    const { readable, writable } = new FixedLengthStream(end - start + 1);
    const pump = async () => {
      await first.body.pipeTo(writable, { preventClose: true });
      for (let next = start + firstLength; next <= end; next += step) {
        const length = Math.min(step, end - next + 1);
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
