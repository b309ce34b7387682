/**
 * The byte pipeline of a chunked upload. R2 multipart wants every part but the last to have the
 * same size (≥ 5 MiB), while OCI clients send chunks of any size, one request at a time. So bytes
 * are cut into parts of {@link PART_SIZE}; the remainder (the *tail*, < PART_SIZE) is kept by the
 * upload's Durable Object until the next request. The bytes of the request at offset 0 are hashed
 * natively as they pass; later bytes are not hashed here (src/registry/upload-hash.ts).
 * Memory is bounded: at most two part buffers per request, whatever the blob's size, and small
 * bodies use small buffers.
 */
import { readOrEnded } from "../lib/request-body";
import { bodyEndedEarly, DomainError } from "../errors/domain";
import type { BlobStore, UploadedPart } from "../storage/blob-store";
import { type LiveDigest, RequestHasher, type HasherOptions, type UploadHash } from "./upload-hash";

/** 8 MiB parts: 10,000 parts (R2's limit) make an 80 GB blob, four times Quay's default cap. */
export const PART_SIZE = 8 * 1024 * 1024;
export const MAX_PARTS = 10_000;
export const MAX_BLOB_SIZE = PART_SIZE * MAX_PARTS;

export interface Multipart {
  key: string;
  uploadId: string;
}

/** What an upload has accepted so far, apart from the tail bytes. */
export interface IngestState {
  offset: number;
  hash: UploadHash;
  multipart: Multipart | null;
  parts: UploadedPart[];
}

export interface IngestResult {
  state: IngestState;
  tail: Uint8Array;
  received: number;
  /** The native hash left open for the next request (src/registry/upload-hash.ts), if kept. */
  live: LiveDigest | null;
}

export interface IngestOptions {
  store: BlobStore;
  /** Where the multipart object goes when the first full part is ready. */
  multipartKey: string;
  /** Called once the multipart object exists, so that it can be cleaned up if the request dies. */
  onMultipartCreated: (multipart: Multipart) => Promise<void> | void;
  /**
   * The most this one request's body may hold (MAX_REQUEST_BODY, src/registry/body-limits.ts),
   * counted as bytes arrive when no length was declared; past it, `refusal()` is thrown before the
   * excess reaches a part, so the upload's saved state is untouched.
   */
  bodyLimit?: { bytes: number; refusal: () => Error };
  /** The session's open native hash, and whether to keep it open (src/registry/upload-hash.ts). */
  hashing?: HasherOptions;
}

/** The first buffer of a request: small uploads (configs, small layers) never allocate a part. */
const FIRST_BUFFER = 64 * 1024;

/**
 * A copy of `buffer`'s first `fill` bytes in a buffer of at least `atLeast` bytes: doubling, at
 * most {@link PART_SIZE}. Growing instead of allocating whole parts up front matters: an upload of
 * a few bytes with two 8 MiB buffers made 32 concurrent small pushes hold 512 MB (measured).
 */
function grow(buffer: Uint8Array, fill: number, atLeast: number): Uint8Array {
  let size = Math.max(buffer.byteLength, FIRST_BUFFER);
  while (size < atLeast) size *= 2;
  const bigger = new Uint8Array(Math.min(size, PART_SIZE));
  bigger.set(buffer.subarray(0, fill));
  return bigger;
}

/**
 * Appends `body` to an upload that is at `state` with `tail` pending. Uploads each full part and
 * returns the new state and tail; the caller persists them only if the request succeeded, so a
 * request that dies half-way changes nothing (its parts are overwritten by the retry). A body that
 * ends before its length fails with bodyEndedEarly (400 SIZE_INVALID), the client's doing.
 */
export async function ingest(
  state: IngestState,
  tail: Uint8Array,
  body: ReadableStream<Uint8Array> | null,
  options: IngestOptions,
): Promise<IngestResult> {
  const hasher = new RequestHasher(state.hash, state.offset, options.hashing);
  const parts = [...state.parts];
  let multipart = state.multipart;
  let buffer = grow(tail, tail.length, tail.length + 1);
  let fill = tail.length;
  let hashedTo = tail.length;
  let received = 0;
  // At most two part buffers: one being filled, one being uploaded.
  let pending: Promise<void> | null = null;
  let uploading: Uint8Array | null = null;

  const flushPart = async () => {
    // Settled before the buffer is reused (a native hash write is asynchronous).
    await hasher.update(buffer.subarray(hashedTo, fill));
    let free: Uint8Array | null = null;
    if (pending) {
      await pending;
      free = uploading;
    }
    if (!multipart) {
      multipart = { key: options.multipartKey, uploadId: await options.store.createMultipart(options.multipartKey) };
      await options.onMultipartCreated(multipart);
    }
    const { key, uploadId } = multipart;
    const partNumber = parts.length + 1;
    uploading = buffer;
    pending = options.store.uploadPart(key, uploadId, partNumber, buffer).then((part) => void parts.push(part));
    buffer = free ?? new Uint8Array(PART_SIZE);
    fill = 0;
    hashedTo = 0;
  };
  const accept = (bytes: number) => {
    received += bytes;
    if (options.bodyLimit && received > options.bodyLimit.bytes) throw options.bodyLimit.refusal();
    if (state.offset + received > MAX_BLOB_SIZE) {
      throw new DomainError("too_large", {
        subject: "blob",
        detail: { limit: MAX_BLOB_SIZE },
        message: "blob too large",
      });
    }
  };

  if (body) {
    const byob = byobReader(body);
    const reader = byob ?? body.getReader();
    try {
      if (byob) {
        // Read straight into the part buffer: no allocation or copy per network chunk. Measured on
        // a 1 GiB streaming PATCH, the per-chunk buffers of a default reader left ~70 MB of
        // ArrayBuffers awaiting GC in the isolate (production caps an isolate at 128 MB).
        for (;;) {
          if (fill === buffer.byteLength) buffer = grow(buffer, fill, fill * 2);
          // readAtLeast (workerd's) fills the room before answering: one turn of JavaScript per
          // buffer rather than per network chunk (the body ending answers with what there is).
          const room = new Uint8Array(buffer.buffer, fill, buffer.byteLength - fill);
          const { done, value } = await readOrEnded(byob.readAtLeast(room.byteLength, room), bodyEndedEarly);
          // A BYOB read transfers the buffer it fills; the answer views its new owner.
          if (value) {
            buffer = new Uint8Array(value.buffer, 0, value.buffer.byteLength);
            accept(value.byteLength);
            fill += value.byteLength;
            if (fill === PART_SIZE) await flushPart();
          }
          if (done) break;
        }
      } else {
        const chunks = reader as ReadableStreamDefaultReader<Uint8Array>;
        for (;;) {
          const { done, value } = await readOrEnded(chunks.read(), bodyEndedEarly);
          if (done) break;
          accept(value.byteLength);
          let pos = 0;
          while (pos < value.byteLength) {
            const room = buffer.byteLength - fill;
            if (room < value.byteLength - pos && buffer.byteLength < PART_SIZE)
              buffer = grow(buffer, fill, fill + value.byteLength - pos);
            const n = Math.min(value.byteLength - pos, buffer.byteLength - fill);
            buffer.set(value.subarray(pos, pos + n), fill);
            fill += n;
            pos += n;
            if (fill === PART_SIZE) await flushPart();
          }
        }
      }
    } catch (err) {
      // Let an in-flight part settle so its failure is not left unobserved.
      await (pending as Promise<void> | null)?.catch(() => undefined);
      hasher.abandon();
      throw err;
    } finally {
      reader.releaseLock();
    }
  }
  if (pending) await pending;
  await hasher.update(buffer.subarray(hashedTo, fill));
  const { hash, live } = await hasher.result(received);
  return {
    state: { offset: state.offset + received, hash, multipart, parts },
    tail: buffer.subarray(0, fill),
    received,
    live,
  };
}

/** A BYOB reader when `body` is a byte stream (request bodies and streams passed over RPC are). */
function byobReader(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | null {
  try {
    return body.getReader({ mode: "byob" });
  } catch {
    return null;
  }
}
