/**
 * How an upload session learns its blob's SHA-256 without hashing in JavaScript. workerd's
 * `crypto.DigestStream` hashes natively but cannot export its state, and a chunked upload spans
 * requests. So:
 *
 * - the bytes of the request that starts at offset 0 (docker's and podman's one PATCH, or a PUT
 *   carrying the whole blob) go through a DigestStream; the session keeps the digest and the
 *   length it covers ({@link NativeHash}). A closing PUT that adds no byte uses it as it is;
 * - a chunk (a PATCH with Content-Range) keeps its DigestStream open in the Durable Object's
 *   memory ({@link LiveDigest}) and the next chunk continues it, so a chunked upload whose object
 *   stays in memory is hashed natively too, and its closing PUT closes the hash;
 * - otherwise, once a later request adds bytes, nothing is hashed as they pass ({@link DeferredHash}):
 *   the closing PUT assembles the object and reads it back through a DigestStream
 *   ({@link sha256OfStored}), one extra read of the blob at native speed;
 * - sessions saved before this (a JavaScript {@link Sha256State}) keep the resumable JavaScript
 *   hasher to their end, so uploads in flight across a deploy still finish.
 *
 * Measured (workerd; README "Speed and scale at the edge"): the JavaScript hasher cost ~5-7 s of CPU
 * per GiB; DigestStream well under one.
 */
import { hex } from "../lib/encoding";
import { Sha256, type Sha256State } from "../lib/sha256";
import type { BlobStore } from "../storage/blob-store";

/** The SHA-256 (hex) of the upload's first `length` bytes, computed natively. */
export interface NativeHash {
  native: string;
  length: number;
}

/** Bytes came in more than one request: the digest is taken from the assembled object. */
export interface DeferredHash {
  deferred: true;
}

export type UploadHash = NativeHash | DeferredHash | Sha256State;

/** SHA-256 of no bytes. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** What a new session starts from: the digest of its zero bytes. */
export function freshHash(): UploadHash {
  return { native: EMPTY_SHA256, length: 0 };
}

/** A session saved before native hashing: it resumes the JavaScript hasher. */
export function isJsState(hash: UploadHash): hash is Sha256State {
  return "h" in hash;
}

/** The hex digest `hash` knows for an upload of `size` bytes; null when it must be read back. */
export function knownDigest(hash: UploadHash, size: number): string | null {
  if (isJsState(hash)) return new Sha256(hash).digestHex();
  if ("native" in hash && hash.length === size) return hash.native;
  return null;
}

/**
 * A native hash of an upload's first `length` bytes, left open in its Durable Object's memory
 * between the requests of a chunked upload (a DigestStream cannot be saved, but it can outlive a
 * request): while the object stays in memory, each chunk continues it and the closing PUT needs
 * no read-back. Lost with the object's memory (eviction, deploy): the digest is then deferred.
 */
export class LiveDigest {
  readonly stream = new crypto.DigestStream("SHA-256");
  readonly writer = this.stream.getWriter();
  length = 0;

  /** Drops it: nobody will read its digest. */
  abandon(): void {
    this.writer.abort().catch(() => undefined);
    // An aborted DigestStream rejects its digest: observed here.
    this.stream.digest.catch(() => undefined);
  }
}

export interface HasherOptions {
  /** The session's open native hash, if its object kept one (valid when it covers `offset` bytes). */
  live?: LiveDigest | null;
  /** Keep the native hash open after this request (a chunk: more are likely to follow). */
  keepLive?: boolean;
}

/**
 * Hashes the bytes of one request as {@link UploadHash} says: natively from offset 0 or on top of
 * the session's {@link LiveDigest}, with the saved JavaScript state for an old session, or not at
 * all. `update`'s promise must settle before the caller reuses `bytes` (a DigestStream write is
 * asynchronous).
 */
export class RequestHasher {
  readonly #js: Sha256 | null;
  readonly #native: LiveDigest | null;

  constructor(
    private readonly hash: UploadHash,
    private readonly offset: number,
    private readonly options: HasherOptions = {},
  ) {
    this.#js = isJsState(hash) ? new Sha256(hash) : null;
    const { live } = options;
    if (this.#js) this.#native = null;
    else if (live && live.length === offset) this.#native = live;
    else this.#native = offset === 0 && "native" in hash ? new LiveDigest() : null;
    if (live && live !== this.#native) live.abandon();
  }

  async update(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength === 0) return;
    if (this.#js) this.#js.update(bytes);
    else if (this.#native) await this.#native.writer.write(bytes);
  }

  /**
   * The session's hash once `received` more bytes have been hashed, and the native hash to keep
   * open (only with `keepLive`; the saved hash is then deferred, as it would be without it).
   */
  async result(received: number): Promise<{ hash: UploadHash; live: LiveDigest | null }> {
    const length = this.offset + received;
    if (this.#js) return { hash: this.#js.exportState(), live: null };
    const native = this.#native;
    if (native && this.options.keepLive) {
      native.length = length;
      return { hash: length === 0 ? this.hash : { deferred: true }, live: native };
    }
    if (native) {
      await native.writer.close();
      return { hash: { native: hex(new Uint8Array(await native.stream.digest)), length }, live: null };
    }
    return { hash: received === 0 ? this.hash : { deferred: true }, live: null };
  }

  /** Drops a native hash the request will not finish. */
  abandon(): void {
    this.#native?.abandon();
  }
}

/**
 * The SHA-256 (hex) of the `size` bytes stored at `key`, read through a DigestStream. The read
 * is ranged so the store reads it in bounded segments (src/storage/r2-blob-store.ts).
 */
export async function sha256OfStored(store: BlobStore, key: string, size: number): Promise<string | null> {
  const hasher = new crypto.DigestStream("SHA-256");
  if (size === 0) {
    await hasher.getWriter().close();
  } else {
    const object = await store.get(key, { start: 0, end: size - 1 });
    if (!object) return null;
    await object.body.pipeTo(hasher);
  }
  return hex(new Uint8Array(await hasher.digest));
}
