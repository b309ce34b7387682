/**
 * The byte pipeline of a chunked upload. R2 multipart wants every part but the last to have the
 * same size (≥ 5 MiB), while OCI clients send chunks of any size, one request at a time. So bytes
 * are cut into parts of {@link PART_SIZE}; the remainder (the *tail*, < PART_SIZE) is kept by the
 * upload's Durable Object until the next request. The SHA-256 advances as bytes pass, and its
 * state travels with the tail, so the digest is known the moment the last byte arrives.
 * Memory is bounded: two part buffers per upload, whatever the blob's size.
 */
import { RegistryError } from "../oci/errors";
import { Sha256, type Sha256State } from "../lib/sha256";
import type { BlobStore, UploadedPart } from "../storage/blob-store";

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
  hash: Sha256State;
  multipart: Multipart | null;
  parts: UploadedPart[];
}

export interface IngestResult {
  state: IngestState;
  tail: Uint8Array;
  received: number;
}

export interface IngestOptions {
  store: BlobStore;
  /** Where the multipart object goes when the first full part is ready. */
  multipartKey: string;
  /** Called once the multipart object exists, so that it can be cleaned up if the request dies. */
  onMultipartCreated: (multipart: Multipart) => Promise<void> | void;
}

/**
 * Appends `body` to an upload that is at `state` with `tail` pending. Uploads each full part and
 * returns the new state and tail; the caller persists them only if the request succeeded, so a
 * request that dies half-way changes nothing (its parts are overwritten by the retry).
 */
export async function ingest(
  state: IngestState,
  tail: Uint8Array,
  body: ReadableStream<Uint8Array> | null,
  options: IngestOptions,
): Promise<IngestResult> {
  const hasher = new Sha256(state.hash);
  const parts = [...state.parts];
  let multipart = state.multipart;
  const buffers = [new Uint8Array(PART_SIZE), new Uint8Array(PART_SIZE)];
  let current = 0;
  let buffer = buffers[0]!;
  buffer.set(tail);
  let fill = tail.length;
  let hashedTo = tail.length;
  let received = 0;
  let pending: Promise<void> | null = null;

  const flushPart = async () => {
    hasher.update(buffer.subarray(hashedTo, fill));
    if (pending) await pending;
    if (!multipart) {
      multipart = { key: options.multipartKey, uploadId: await options.store.createMultipart(options.multipartKey) };
      await options.onMultipartCreated(multipart);
    }
    const { key, uploadId } = multipart;
    const partNumber = parts.length + 1;
    const bytes = buffer;
    pending = options.store.uploadPart(key, uploadId, partNumber, bytes).then((part) => void parts.push(part));
    current ^= 1;
    buffer = buffers[current]!;
    fill = 0;
    hashedTo = 0;
  };

  if (body) {
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.byteLength;
        if (state.offset + received > MAX_BLOB_SIZE) {
          throw new RegistryError("SIZE_INVALID", { limit: MAX_BLOB_SIZE }, { status: 413, message: "blob too large" });
        }
        let pos = 0;
        while (pos < value.byteLength) {
          const n = Math.min(value.byteLength - pos, PART_SIZE - fill);
          buffer.set(value.subarray(pos, pos + n), fill);
          fill += n;
          pos += n;
          if (fill === PART_SIZE) await flushPart();
        }
      }
    } catch (err) {
      // Let an in-flight part settle so its failure is not left unobserved.
      await (pending as Promise<void> | null)?.catch(() => undefined);
      throw err;
    } finally {
      reader.releaseLock();
    }
  }
  if (pending) await pending;
  hasher.update(buffer.subarray(hashedTo, fill));
  return {
    state: { offset: state.offset + received, hash: hasher.exportState(), multipart, parts },
    tail: buffer.subarray(0, fill),
    received,
  };
}
