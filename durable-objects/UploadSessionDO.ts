/**
 * One Durable Object per blob upload (keyed by its uuid): it holds the offset, the R2 multipart
 * state (or the one object of a whole-blob PATCH), the pending tail bytes and what is known of the
 * SHA-256 (src/registry/upload-hash.ts) between the requests of a chunked upload (distribution-spec
 * "Pushing a blob in chunks"), serializes those requests, and its alarm aborts an upload left idle
 * for UPLOAD_EXPIRY_SECONDS.
 */
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../src/config";
import { type Db, database } from "../src/db/client";
import { writableCoreDb, writableCoreShardOf } from "../src/registry/core-db";
import { namespaceOf } from "../src/registry/repository-name";
import { Mutex } from "../src/lib/mutex";
import { DRAIN_LIMIT, drainBody } from "../src/lib/request-body";
import { DomainError } from "../src/errors/domain";
import { capture, type Outcome } from "../src/errors/outcome";
import { putMonolithicBlob, recordBlob, type BlobInfo } from "../src/registry/blobs";
import { pushActivityDue, recordPushActivity } from "../src/registry/repositories";
import type { Digest } from "../src/lib/digest";
import { type AppendOptions, ingestRequest } from "../src/registry/upload-request";
import { freshHash, type LiveDigest } from "../src/registry/upload-hash";
import { discardStored, verifyAndPersist, type UploadSessionState } from "../src/registry/upload-close";
import { takesSingleObject } from "../src/registry/upload-single";
import type { BlobStore } from "../src/storage/blob-store";
import { R2BlobStore } from "../src/storage/r2-blob-store";
import { clock } from "../src/lib/clock";

type SessionState = UploadSessionState;

export type { AppendOptions };

/** SQLite rows hold at most 2 MB; the tail is kept in 1 MiB rows. */
const TAIL_ROW_BYTES = 1024 * 1024;

export class UploadSessionDO extends DurableObject<Env> {
  readonly #mutex = new Mutex();
  readonly #store: BlobStore;
  /** The open native hash of the saved bytes, between chunks (src/registry/upload-hash.ts). */
  #live: LiveDigest | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new R2BlobStore(env.BLOBS);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS session (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);
       CREATE TABLE IF NOT EXISTS tail (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);`,
    );
  }

  /**
   * Starts the upload for `repository` (`firstPushActivityAt`, `coreShard`: see startUpload in
   * src/registry/uploads.ts).
   */
  async open(
    uploadId: string,
    repository: string,
    repositoryId: number,
    firstPushActivityAt: number | null = null,
    coreShard?: number,
  ): Promise<Outcome<{ offset: number }>> {
    return capture(() =>
      this.#mutex.run(async () => {
        const state: SessionState = {
          uploadId,
          repository,
          repositoryId,
          offset: 0,
          hash: freshHash(),
          multipart: null,
          parts: [],
          completed: null,
          firstPushActivityAt,
          ...(coreShard === undefined ? {} : { coreShard }),
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
          const started = clock.now();
          // A chunk (Content-Range) keeps its native hash open for the next one.
          const next = await this.#ingest(state, body, options, options.range !== null);
          await this.#recordPushActivity(next.state);
          this.#save(next.state, next.tail);
          this.#live = next.live;
          await this.#dropSuperseded(next.superseded);
          // A session holding one object expires within UPLOAD_EXPIRY_SECONDS of that object's
          // write, counted from before it, so the R2 sweep (which spares objects younger than
          // that) never takes it from a live session; an empty PATCH does not push it back.
          if (!next.state.single) await this.#touch();
          else if (next.state.offset !== state.offset) await this.#touch(started);
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
          if (this.#isWholeBlob(state, body, options)) return this.#putWholeBlob(state, digest, body, options.length);
          const next = await this.#ingest(state, body, options, false);
          state = next.state;
          const closing = {
            db: await this.#core(state),
            store: this.#store,
            save: (saved: SessionState) => this.#save(saved, new Uint8Array(0)),
            discard: (discarded: SessionState) => this.#discard(discarded),
          };
          state.completed = await verifyAndPersist(closing, state, digest, next.tail);
          this.#save(state, new Uint8Array(0));
          await this.#dropSuperseded(next.superseded);
        } else if (state.completed.digest !== digest || body) {
          throw new DomainError("conflict", {
            subject: "upload",
            detail: { reason: "upload already closed with another digest" },
          });
        }
        const blob = await recordBlob(
          await this.#core(state),
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

  /** The request's bytes into the upload (src/registry/upload-request.ts); the open hash is taken for them. */
  #ingest(state: SessionState, body: ReadableStream<Uint8Array> | null, options: AppendOptions, keepLive: boolean) {
    return ingestRequest(
      {
        store: this.#store,
        takeLive: () => {
          const live = this.#live;
          this.#live = null;
          return live;
        },
        keepLive,
        loadTail: () => this.#loadTail(),
        // Saved at once so that cancel and the alarm can abort it even if this request dies.
        saveMultipart: (multipart) => this.#saveState({ ...state, multipart }),
      },
      state,
      body,
      options,
    );
  }

  /** A PUT that carries a whole blob of declared length, nothing stored before: one verified put. */
  #isWholeBlob(
    state: SessionState,
    body: ReadableStream<Uint8Array> | null,
    options: AppendOptions,
  ): body is ReadableStream<Uint8Array> {
    return body !== null && !state.assembled && takesSingleObject(state, options.range, options.length);
  }

  /** Stores the PUT's whole blob as a monolithic POST does (R2 checks its digest) and ends the upload. */
  async #putWholeBlob(state: SessionState, digest: Digest, body: ReadableStream<Uint8Array>, length: number | null) {
    try {
      const blob = await putMonolithicBlob(
        await this.#core(state),
        this.#store,
        state.repositoryId,
        digest,
        body,
        length ?? 0,
      );
      this.#clear();
      return blob;
    } catch (err) {
      // A wrong digest ends the upload, as after chunks (nothing was stored); a short body does not.
      if (err instanceof DomainError && err.subject === "digest") this.#clear();
      throw err;
    }
  }

  /**
   * Deletes the one object an upload moved into multipart, once the move is saved. Best effort: an
   * object left behind is named by no row, and the R2 sweep takes it (src/gc/r2-sweep.ts).
   */
  async #dropSuperseded(key: string | undefined): Promise<void> {
    if (key) await this.#store.delete([key]).catch(() => undefined);
  }

  async #discard(state: SessionState): Promise<void> {
    await discardStored(await this.#core(state), this.#store, state);
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
    this.#live?.abandon();
    this.#live = null;
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
    const core = await this.#core(state);
    state.firstPushActivityAt = (await recordPushActivity(core, state.repositoryId, now)) ? now : null;
  }

  /**
   * The client over the repository's core, asked of the directory at each write (kept by the
   * isolate: no query while warm): a namespace's core may move between databases while an upload
   * is open (src/registry/core-moves.ts), which refuses the write while it copies. The database
   * the Worker found when it opened the session has its shadows made; another one (the core moved
   * since) gets them made first.
   */
  async #core(state: SessionState): Promise<Db> {
    const repository = { id: state.repositoryId, name: state.repository };
    const shard = await writableCoreShardOf(this.env, namespaceOf(state.repository));
    if (shard.number === state.coreShard) return database(shard.binding);
    return writableCoreDb(this.env, repository);
  }

  async #touch(at = clock.now()): Promise<void> {
    const { UPLOAD_EXPIRY_SECONDS } = readConfig(this.env);
    await this.ctx.storage.setAlarm(at + UPLOAD_EXPIRY_SECONDS * 1000);
  }
}
