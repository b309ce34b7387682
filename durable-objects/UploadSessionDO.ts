/**
 * One Durable Object per blob upload (keyed by its uuid): it holds the offset, the R2 multipart
 * state, the pending tail bytes and the resumable SHA-256 between the requests of a chunked
 * upload (distribution-spec "Pushing a blob in chunks"), serializes those requests, and its alarm
 * aborts an upload left idle for UPLOAD_EXPIRY_SECONDS.
 */
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../src/config";
import { database } from "../src/db/client";
import { Mutex } from "../src/lib/mutex";
import { Sha256 } from "../src/lib/sha256";
import { uploadRange, type ByteRange } from "../src/lib/http";
import { DRAIN_LIMIT, drainBody } from "../src/lib/request-body";
import { DomainError } from "../src/errors/domain";
import { capture, type Outcome } from "../src/errors/outcome";
import { findBlob, linkBlob, recordBlob, touchBlobs, type BlobInfo } from "../src/registry/blobs";
import { pushActivityDue, recordPushActivity } from "../src/registry/repositories";
import { digestHex, sha256Digest, type Digest } from "../src/lib/digest";
import { ingest, type IngestState } from "../src/registry/upload-ingest";
import { bodyTooLarge } from "../src/registry/body-limits";
import type { BlobStore } from "../src/storage/blob-store";
import { R2BlobStore } from "../src/storage/r2-blob-store";
import { contentKey, uploadKey } from "../src/storage/keys";
import { clock } from "../src/lib/clock";

interface SessionState extends IngestState {
  uploadId: string;
  repository: string;
  repositoryId: number;
  /** Set once the multipart object is complete, so that a retried PUT only has to record it. */
  completed: { digest: Digest; storageKey: string } | null;
  /**
   * When this upload last recorded push activity on a repository its push created and that has
   * no manifest yet; null otherwise (or absent, in sessions opened before it existed).
   */
  firstPushActivityAt?: number | null;
}

export interface AppendOptions {
  /** The request's Content-Range, when it sent one. */
  range: ByteRange | null;
  /** The request's Content-Length, when it sent one. */
  length: number | null;
  /** MAX_REQUEST_BODY as the Worker read it (0 or absent: no limit of Wharf's own). */
  maxRequestBody?: number;
}

/** SQLite rows hold at most 2 MB; the tail is kept in 1 MiB rows. */
const TAIL_ROW_BYTES = 1024 * 1024;

export class UploadSessionDO extends DurableObject<Env> {
  readonly #mutex = new Mutex();
  readonly #store: BlobStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new R2BlobStore(env.BLOBS);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS session (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);
       CREATE TABLE IF NOT EXISTS tail (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);`,
    );
  }

  /** Starts the upload for `repository` (`firstPushActivityAt`: see startUpload in src/registry/uploads.ts). */
  async open(
    uploadId: string,
    repository: string,
    repositoryId: number,
    firstPushActivityAt: number | null = null,
  ): Promise<Outcome<{ offset: number }>> {
    return capture(() =>
      this.#mutex.run(async () => {
        const state: SessionState = {
          uploadId,
          repository,
          repositoryId,
          offset: 0,
          hash: new Sha256().exportState(),
          multipart: null,
          parts: [],
          completed: null,
          firstPushActivityAt,
        };
        this.#save(state, new Uint8Array(0));
        await this.#touch();
        return { offset: 0 };
      }),
    );
  }

  /** How many bytes the upload holds (GET on the upload URL). */
  async status(repository: string): Promise<Outcome<{ offset: number }>> {
    return capture(async () => ({ offset: this.#load(repository).offset }));
  }

  /** Appends one chunk (PATCH). A chunk that does not start at the current offset gets a 416. */
  async append(
    repository: string,
    body: ReadableStream<Uint8Array> | null,
    options: AppendOptions,
  ): Promise<Outcome<{ offset: number }>> {
    return this.#drainingOnFailure(body, options, () =>
      capture(() =>
        this.#mutex.run(async () => {
          const state = this.#load(repository);
          // Before the chunk (a long one must not outlast the mark) and after it (the alarm counts
          // from its end): at most one write each per PUSH_ACTIVITY_REFRESH_MS.
          await this.#recordPushActivity(state);
          const next = await this.#ingest(state, body, options);
          await this.#recordPushActivity(next.state);
          this.#save(next.state, next.tail);
          await this.#touch();
          return { offset: next.state.offset };
        }),
      ),
    );
  }

  /**
   * Closes the upload (PUT `?digest=`), with an optional last chunk: verifies the digest, makes the
   * blob visible and linked to the repository, and forgets the session. A wrong digest discards
   * everything the upload stored.
   */
  async finish(
    repository: string,
    digest: Digest,
    body: ReadableStream<Uint8Array> | null,
    options: AppendOptions,
  ): Promise<Outcome<BlobInfo>> {
    return this.#drainingOnFailure(body, options, () => this.#finish(repository, digest, body, options));
  }

  #finish(
    repository: string,
    digest: Digest,
    body: ReadableStream<Uint8Array> | null,
    options: AppendOptions,
  ): Promise<Outcome<BlobInfo>> {
    return capture(() =>
      this.#mutex.run(async () => {
        let state = this.#load(repository);
        if (!state.completed) {
          const next = await this.#ingest(state, body, options);
          state = next.state as SessionState;
          const actual = sha256Digest(new Sha256(state.hash).digestHex());
          if (actual !== digest) {
            await this.#discard(state);
            throw new DomainError("invalid", { subject: "digest", detail: { digest, actual } });
          }
          state.completed = await this.#persistBlob(state, digest, next.tail);
          this.#save(state, new Uint8Array(0));
        } else if (state.completed.digest !== digest || body) {
          throw new DomainError("conflict", {
            subject: "upload",
            detail: { reason: "upload already closed with another digest" },
          });
        }
        const db = database(this.env.DB);
        const blob = await recordBlob(
          db,
          { digest, size: state.offset, storageKey: state.completed.storageKey },
          state.repositoryId,
        );
        if (blob.storageKey !== state.completed.storageKey) await this.#store.delete([state.completed.storageKey]);
        this.#clear();
        return blob;
      }),
    );
  }

  /**
   * A refused chunk (416, unknown upload, wrong digest, too large …) is read to its end, at most
   * DRAIN_LIMIT bytes, before the answer goes back: the client then reads the refusal instead of
   * meeting a closed connection (src/lib/request-body.ts). A chunk declared larger is not read.
   */
  async #drainingOnFailure<T>(
    body: ReadableStream<Uint8Array> | null,
    { length }: AppendOptions,
    work: () => Promise<Outcome<T>>,
  ): Promise<Outcome<T>> {
    let failed = true;
    try {
      const outcome = await work();
      failed = !outcome.ok;
      return outcome;
    } finally {
      if (failed && body && (length === null || length <= DRAIN_LIMIT)) await drainBody(body);
    }
  }

  /** Cancels the upload (DELETE on the upload URL) and discards what it stored. */
  async cancel(repository: string): Promise<Outcome<null>> {
    return capture(() =>
      this.#mutex.run(async () => {
        await this.#discard(this.#load(repository));
        return null;
      }),
    );
  }

  /** An upload idle for UPLOAD_EXPIRY_SECONDS is abandoned: discard it. */
  override async alarm(): Promise<void> {
    await this.#mutex.run(async () => {
      const row = this.ctx.storage.sql.exec<{ state: string }>("SELECT state FROM session").toArray()[0];
      if (row) await this.#discard(JSON.parse(row.state) as SessionState);
    });
  }

  async #ingest(state: SessionState, body: ReadableStream<Uint8Array> | null, options: AppendOptions) {
    const { range, length, maxRequestBody = 0 } = options;
    if (range && range.start !== state.offset) {
      throw new DomainError("range_not_satisfiable", {
        subject: "upload",
        detail: { reason: "chunk out of order", expectedStart: state.offset, start: range.start },
        headers: { Range: uploadRange(state.offset) },
      });
    }
    const expected = range ? range.end - range.start + 1 : length;
    if (range && length !== null && length !== expected) {
      throw new DomainError("invalid", {
        subject: "upload",
        detail: { reason: "Content-Range and Content-Length disagree" },
      });
    }
    const next = await ingest(state, this.#loadTail(), body, {
      store: this.#store,
      multipartKey: uploadKey(state.uploadId),
      onMultipartCreated: (multipart) => {
        // Saved at once so that cancel and the alarm can abort it even if this request dies.
        this.#saveState({ ...state, multipart });
      },
      bodyLimit:
        maxRequestBody > 0 ? { bytes: maxRequestBody, refusal: () => bodyTooLarge(maxRequestBody) } : undefined,
    });
    if (expected !== null && next.received !== expected) {
      throw new DomainError("range_not_satisfiable", {
        subject: "upload",
        detail: { reason: "chunk length does not match Content-Range", expected, received: next.received },
        headers: { Range: uploadRange(state.offset) },
      });
    }
    return { state: { ...state, ...next.state }, tail: next.tail };
  }

  /** Puts the verified bytes where the blob will live and returns that key. */
  async #persistBlob(state: SessionState, digest: Digest, tail: Uint8Array) {
    const db = database(this.env.DB);
    // Touch, then look: a blob found after the touch outlives garbage collection's grace period,
    // long enough to be linked below (the argument: touchBlobs in src/registry/blobs.ts).
    await touchBlobs(db, [digest]);
    const known = await findBlob(db, digest);
    if (known) {
      // Known content: link it, keep nothing of this upload.
      if (state.multipart) await this.#store.abortMultipart(state.multipart.key, state.multipart.uploadId);
      await linkBlob(db, state.repositoryId, digest);
      return { digest, storageKey: known.storageKey };
    }
    if (!state.multipart) {
      const key = contentKey(digest);
      await this.#store.putVerified(key, tail, digestHex(digest));
      return { digest, storageKey: key };
    }
    const { key, uploadId } = state.multipart;
    const parts = [...state.parts];
    if (tail.byteLength > 0 || parts.length === 0) {
      parts.push(await this.#store.uploadPart(key, uploadId, parts.length + 1, tail));
    }
    await this.#store.completeMultipart(key, uploadId, parts);
    return { digest, storageKey: key };
  }

  async #discard(state: SessionState): Promise<void> {
    if (state.completed) {
      const known = await findBlob(database(this.env.DB), state.completed.digest);
      if (known?.storageKey !== state.completed.storageKey) await this.#store.delete([state.completed.storageKey]);
    } else if (state.multipart) {
      await this.#store.abortMultipart(state.multipart.key, state.multipart.uploadId);
    }
    this.#clear();
  }

  #load(repository: string): SessionState {
    const row = this.ctx.storage.sql.exec<{ state: string }>("SELECT state FROM session").toArray()[0];
    const state = row ? (JSON.parse(row.state) as SessionState) : null;
    // An upload is reachable only through the repository that opened it.
    if (!state || state.repository !== repository) throw new DomainError("not_found", { subject: "upload" });
    return state;
  }

  #loadTail(): Uint8Array {
    const rows = this.ctx.storage.sql.exec<{ data: ArrayBuffer }>("SELECT data FROM tail ORDER BY seq").toArray();
    const size = rows.reduce((n, r) => n + r.data.byteLength, 0);
    const tail = new Uint8Array(size);
    let at = 0;
    for (const { data } of rows) {
      tail.set(new Uint8Array(data), at);
      at += data.byteLength;
    }
    return tail;
  }

  #saveState(state: SessionState): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO session (id, state) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state",
      JSON.stringify(state),
    );
  }

  /** State and tail change together or not at all. */
  #save(state: SessionState, tail: Uint8Array): void {
    this.ctx.storage.transactionSync(() => {
      this.#saveState(state);
      this.ctx.storage.sql.exec("DELETE FROM tail");
      for (let at = 0, seq = 0; at < tail.byteLength; at += TAIL_ROW_BYTES, seq++) {
        this.ctx.storage.sql.exec(
          "INSERT INTO tail (seq, data) VALUES (?, ?)",
          seq,
          tail.slice(at, at + TAIL_ROW_BYTES),
        );
      }
    });
  }

  #clear(): void {
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec("DELETE FROM session");
      this.ctx.storage.sql.exec("DELETE FROM tail");
    });
    void this.ctx.storage.deleteAlarm();
  }

  /**
   * Keeps the repository's mark of an unfinished first push within PUSH_ACTIVITY_REFRESH_MS of
   * this upload's latest step, so garbage collection never takes a repository with a live upload
   * (src/registry/repositories.ts). Stops once the repository is no first push any more.
   */
  async #recordPushActivity(state: SessionState): Promise<void> {
    const now = clock.now();
    if (!pushActivityDue(state.firstPushActivityAt, now)) return;
    state.firstPushActivityAt = (await recordPushActivity(database(this.env.DB), state.repositoryId, now)) ? now : null;
  }

  async #touch(): Promise<void> {
    const { UPLOAD_EXPIRY_SECONDS } = readConfig(this.env);
    await this.ctx.storage.setAlarm(clock.now() + UPLOAD_EXPIRY_SECONDS * 1000);
  }
}
