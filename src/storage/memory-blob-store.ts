/**
 * {@link BlobStore} in the isolate's memory: R2's twin for tests and tools, holding to R2's rules
 * wherever the registry relies on them (test/workers/storage/blob-store-contract.ts runs the same
 * cases against both): a verified put that stores nothing on a wrong SHA-256; ranges clipped to
 * the object and refused when they start past it; multipart parts numbered 1 to 10,000, assembled
 * only when every part but the last is at least 5 MiB and of one size, the last no larger;
 * listings in UTF-8 key order with a cursor and at most 1,000 objects, never showing an
 * incomplete multipart object; deletes and aborts of what does not exist are no error.
 *
 * What it cannot check: R2 also refuses a stream body of unknown length (workerd requires a
 * request or response body, or a FixedLengthStream); a stream here is read whatever its origin.
 */
import { hex } from "../lib/encoding";
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

/** R2's smallest part but the last (docs: "Multipart upload limits"). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PART_NUMBER = 10_000;

interface StoredBytes {
  bytes: Uint8Array;
  writtenAt: number;
}

interface MultipartUpload {
  key: string;
  parts: Map<number, { bytes: Uint8Array; etag: string }>;
}

const encoder = new TextEncoder();

/** R2 lists keys in the order of their UTF-8 bytes (UTF-16 order differs above U+D7FF). */
function compareKeys(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

async function readAll(body: ReadableStream<Uint8Array> | Uint8Array): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body.slice();
  return new Uint8Array(await new Response(body).arrayBuffer());
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

export class MemoryBlobStore implements BlobStore {
  readonly #objects = new Map<string, StoredBytes>();
  readonly #uploads = new Map<string, MultipartUpload>();

  /** `now` stamps writes (unix ms); tests may pass their own clock. */
  constructor(private readonly now: () => number = Date.now) {}

  async get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    const object = this.#objects.get(key);
    if (!object) return null;
    const size = object.bytes.byteLength;
    if (!range) return { size, body: new Response(object.bytes.slice()).body ?? emptyStream() };
    // R2: "The requested range is not satisfiable (10039)".
    if (range.start >= size) throw new Error(`get: the requested range is not satisfiable (${key})`);
    const slice = object.bytes.slice(range.start, Math.min(range.end, size - 1) + 1);
    return { size, body: new Response(slice).body ?? emptyStream() };
  }

  async size(key: string): Promise<number | null> {
    return this.#objects.get(key)?.bytes.byteLength ?? null;
  }

  async writtenAt(key: string): Promise<number | null> {
    return this.#objects.get(key)?.writtenAt ?? null;
  }

  async stat(key: string): Promise<{ size: number; writtenAt: number } | null> {
    const object = this.#objects.get(key);
    return object ? { size: object.bytes.byteLength, writtenAt: object.writtenAt } : null;
  }

  async putVerified(key: string, body: ReadableStream<Uint8Array> | Uint8Array, sha256Hex: string): Promise<void> {
    const bytes = await readAll(body);
    const actual = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
    if (actual !== sha256Hex.toLowerCase()) throw new DigestMismatchError();
    this.#objects.set(key, { bytes, writtenAt: this.now() });
  }

  putSized(key: string, length: number): SizedPut {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const stored = readAll(readable).then((bytes) => {
      // workerd's FixedLengthStream: a TypeError when the bytes are not the declared length.
      if (bytes.byteLength !== length) throw new TypeError(`putSized: ${bytes.byteLength} bytes, ${length} declared`);
      this.#objects.set(key, { bytes, writtenAt: this.now() });
    });
    return { writer: writable.getWriter(), stored };
  }

  async list(prefix: string, options: { cursor?: string; limit?: number } = {}): Promise<ObjectPage> {
    const limit = options.limit ?? MAX_LIST_LIMIT;
    // R2: "MaxKeys params must be positive integer <= 1000 (10022)".
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)
      throw new Error(`list: limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    const after = options.cursor;
    const keys = [...this.#objects.keys()]
      .filter((key) => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0))
      .sort(compareKeys);
    const page = keys.slice(0, limit).map((key) => {
      const object = this.#objects.get(key)!;
      return { key, size: object.bytes.byteLength, writtenAt: object.writtenAt };
    });
    // The cursor is the last key returned: the next page starts after it.
    return { objects: page, ...(keys.length > limit ? { cursor: page.at(-1)!.key } : {}) };
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) this.#objects.delete(key);
  }

  async createMultipart(key: string): Promise<string> {
    const uploadId = crypto.randomUUID();
    this.#uploads.set(uploadId, { key, parts: new Map() });
    return uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array): Promise<UploadedPart> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER)
      throw new TypeError(`Part number must be between 1 and ${MAX_PART_NUMBER} (inclusive): ${partNumber}`);
    const upload = this.#upload(key, uploadId, "uploadPart");
    const etag = crypto.randomUUID().replaceAll("-", "");
    upload.parts.set(partNumber, { bytes: bytes.slice(), etag });
    return { partNumber, etag };
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    const upload = this.#upload(key, uploadId, "completeMultipart");
    const chosen = [...parts]
      .sort((a, b) => a.partNumber - b.partNumber)
      .map((part) => {
        const stored = upload.parts.get(part.partNumber);
        // R2: "One or more of the specified parts could not be found (10025)".
        if (!stored || stored.etag !== part.etag)
          throw new Error(`completeMultipart: part ${part.partNumber} could not be found`);
        return stored.bytes;
      });
    const leading = chosen.slice(0, -1);
    // R2: "Your proposed upload is smaller than the minimum allowed object size (10011)".
    if (leading.some((part) => part.byteLength < MIN_PART_BYTES))
      throw new Error("completeMultipart: a part but the last is smaller than 5 MiB");
    // R2: "There was a problem with the multipart upload (10048)".
    const size = leading[0]?.byteLength;
    if (size !== undefined && (leading.some((part) => part.byteLength !== size) || chosen.at(-1)!.byteLength > size))
      throw new Error("completeMultipart: the parts but the last differ in size, or the last is larger");
    this.#uploads.delete(uploadId);
    this.#objects.set(key, { bytes: concat(chosen), writtenAt: this.now() });
  }

  async abortMultipart(_key: string, uploadId: string): Promise<void> {
    this.#uploads.delete(uploadId);
  }

  #upload(key: string, uploadId: string, operation: string): MultipartUpload {
    const upload = this.#uploads.get(uploadId);
    // R2: "The specified multipart upload does not exist (10024)", also for another key's upload.
    if (!upload || upload.key !== key) throw new Error(`${operation}: the multipart upload does not exist`);
    return upload;
  }
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}
