/**
 * An upload whose first request declares its length and carries a whole blob (a PATCH with
 * `Content-Length` and no `Content-Range`, at offset 0) is stored as ONE R2 object, not as a
 * multipart one, so a pull reads one object (issue #20: the local R2 simulator serves multipart
 * reads at ~4 s of CPU per 256 MiB). The bytes are hashed natively on their way to R2; the
 * closing PUT compares that digest. docker and podman send their PATCH without `Content-Length`,
 * and chunking clients send `Content-Range`: their uploads stay multipart.
 *
 * Should another chunk follow (allowed by the protocol, rare in practice), the object is read back
 * into a multipart upload at another key through the ordinary pipeline and then deleted: the cost
 * of one extra read and write of the first request's bytes, paid only by that unusual client.
 */
import { bodyEndedEarly, DomainError } from "../errors/domain";
import { hex } from "../lib/encoding";
import { readOrEnded } from "../lib/request-body";
import type { ByteRange } from "../lib/http";
import { ingest, PART_SIZE, type IngestOptions, type IngestResult, type IngestState } from "./upload-ingest";
import type { NativeHash } from "./upload-hash";

/** R2 takes at most 5 GiB in one put; bigger single-request bodies go through multipart. */
export const SINGLE_PUT_LIMIT = 5 * 1024 * 1024 * 1024 - 5 * 1024 * 1024;

/** The one object an upload's first request was stored as. */
export interface SingleObject {
  key: string;
  length: number;
}

/**
 * Whether a request goes to one object: it opens an upload that stored nothing yet, is not a
 * chunk (no Content-Range), declares its length, and is at least a part (smaller bodies already
 * end as one object, kept in the session until the PUT) and at most one put.
 */
export function takesSingleObject(
  state: { offset: number; multipart: unknown; single?: SingleObject | null },
  range: ByteRange | null,
  length: number | null,
): length is number {
  return (
    state.offset === 0 &&
    !state.multipart &&
    !state.single &&
    range === null &&
    length !== null &&
    length >= PART_SIZE &&
    length <= SINGLE_PUT_LIMIT
  );
}

/** Bytes per read of the body: one turn of JavaScript per MiB, not per network chunk. */
const READ_BYTES = 1024 * 1024;

/**
 * Stores the `length` bytes of `body` at `key`, hashing them natively as they pass. The bytes are
 * read with `readAtLeast` into one reused buffer and written to the hasher and to R2's stream; a
 * JavaScript TransformStream instead cost a promise chain per network chunk (measured: ~4 s of
 * CPU per GiB), and tee() lets the faster branch run ahead, buffering the other without bound.
 */
export async function putSingleObject(
  store: IngestOptions["store"],
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number,
): Promise<NativeHash> {
  const digest = new crypto.DigestStream("SHA-256");
  const hash = digest.getWriter();
  const { writer: toR2, stored: putting } = store.putSized(key, length);
  // Observed at once: a put that fails while the body is still being read is awaited below.
  putting.catch(() => undefined);
  let received = 0;
  try {
    received = await copy(body, length, [hash, toR2]);
    if (received < length) throw bodyEndedEarly();
    await Promise.all([hash.close(), toR2.close(), putting]);
  } catch (err) {
    hash.abort().catch(() => undefined);
    digest.digest.catch(() => undefined);
    toR2.abort(err).catch(() => undefined);
    await putting.catch(() => undefined);
    if (received > length)
      throw new DomainError("invalid", { subject: "size", detail: { declared: length, received } });
    throw err;
  }
  return { native: hex(new Uint8Array(await digest.digest)), length };
}

/**
 * Reads `body` into `sinks`, each write settled before its buffer is read into again; stops past
 * `length` bytes. A failed read is the client's body ending early.
 */
async function copy(
  body: ReadableStream<Uint8Array>,
  length: number,
  sinks: WritableStreamDefaultWriter<Uint8Array>[],
): Promise<number> {
  let received = 0;
  const write = async (bytes: Uint8Array) => {
    received += bytes.byteLength;
    if (received > length)
      throw new DomainError("invalid", { subject: "size", detail: { declared: length, received } });
    await Promise.all(sinks.map((sink) => sink.write(bytes)));
  };
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (request bodies and streams passed over RPC are): read its chunks.
  }
  if (byob) {
    let buffer = new ArrayBuffer(Math.min(READ_BYTES, Math.max(length, 1)));
    try {
      for (;;) {
        const view = new Uint8Array(buffer);
        const { done, value } = await readOrEnded(byob.readAtLeast(view.byteLength, view), bodyEndedEarly);
        if (value && value.byteLength > 0) await write(value);
        if (done || !value) break;
        // A BYOB read transfers the buffer it fills; the answer views its new owner.
        buffer = value.buffer as ArrayBuffer;
      }
    } finally {
      byob.releaseLock();
    }
    return received;
  }
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await readOrEnded(reader.read(), bodyEndedEarly);
      if (done) break;
      await write(value);
    }
  } finally {
    reader.releaseLock();
  }
  return received;
}

/**
 * The upload at `state`, stored as `single`, continued as a multipart upload: the object's bytes
 * go through {@link ingest} into parts and a tail, as if they had just arrived. The state keeps the
 * object's digest (a later request adds bytes, which defers it). The caller deletes the object
 * once the new state is saved.
 */
export async function continueAsMultipart(
  state: IngestState,
  single: SingleObject,
  options: IngestOptions,
): Promise<IngestResult> {
  const stored = await options.store.get(single.key, { start: 0, end: single.length - 1 });
  if (!stored) throw new Error(`${single.key} vanished before the upload could continue`);
  const start: IngestState = { offset: 0, hash: { deferred: true }, multipart: state.multipart, parts: [] };
  const copied = await ingest(start, new Uint8Array(0), stored.body, {
    ...options,
    bodyLimit: undefined,
    hashing: undefined,
  });
  return { ...copied, state: { ...copied.state, hash: state.hash } };
}
