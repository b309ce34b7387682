/**
 * The bytes of one upload request (a PATCH, or the PUT's last chunk) into an upload session: the
 * Content-Range checked against the session, then one of three paths: a whole blob of declared
 * length opening the upload becomes one object (src/registry/upload-single.ts); a chunk after such
 * an object first moves it into a multipart upload; anything else goes through the part pipeline
 * (src/registry/upload-ingest.ts), hashed as src/registry/upload-hash.ts says. Nothing is saved
 * here: the caller persists the returned state only once the request succeeded.
 */
import { DomainError } from "../errors/domain";
import { type ByteRange, uploadRange } from "../lib/http";
import type { BlobStore } from "../storage/blob-store";
import { uploadContinuationKey, uploadKey } from "../storage/keys";
import { bodyTooLarge } from "./body-limits";
import type { UploadSessionState } from "./upload-close";
import type { LiveDigest } from "./upload-hash";
import { ingest, type Multipart } from "./upload-ingest";
import { continueAsMultipart, putSingleObject, takesSingleObject } from "./upload-single";

export interface AppendOptions {
  /** The request's Content-Range, when it sent one. */
  range: ByteRange | null;
  /** The request's Content-Length, when it sent one. */
  length: number | null;
  /** MAX_REQUEST_BODY as the Worker read it (0 or absent: no limit of Wharf's own). */
  maxRequestBody?: number;
}

export interface RequestSession {
  store: BlobStore;
  /**
   * Takes the session's open native hash for this request's bytes, once the request is found in
   * order (a refused request leaves it as it was); it is the session's again only if returned.
   */
  takeLive: () => LiveDigest | null;
  /** Keep the native hash open after this request (a chunk: more are likely to follow). */
  keepLive: boolean;
  /** The bytes the session keeps between requests (less than a part). */
  loadTail: () => Uint8Array;
  /** Saves the state with a multipart upload just created, so that it can be aborted if the request dies. */
  saveMultipart: (multipart: Multipart) => void;
}

export interface RequestResult {
  state: UploadSessionState;
  tail: Uint8Array;
  /** An object to delete once the state is saved (a one-object upload moved into multipart). */
  superseded?: string;
  live: LiveDigest | null;
}

/** Takes the request's bytes into the upload at `state`. */
export async function ingestRequest(
  session: RequestSession,
  state: UploadSessionState,
  body: ReadableStream<Uint8Array> | null,
  { range, length, maxRequestBody = 0 }: AppendOptions,
): Promise<RequestResult> {
  const { store } = session;
  const outOfOrder = (detail: Record<string, unknown>) =>
    new DomainError("range_not_satisfiable", {
      subject: "upload",
      detail,
      headers: { Range: uploadRange(state.offset) },
    });
  if (range && range.start !== state.offset) {
    throw outOfOrder({ reason: "chunk out of order", expectedStart: state.offset, start: range.start });
  }
  const expected = range ? range.end - range.start + 1 : length;
  if (range && length !== null && length !== expected) {
    throw new DomainError("invalid", {
      subject: "upload",
      detail: { reason: "Content-Range and Content-Length disagree" },
    });
  }
  const adds = body !== null && length !== 0;
  const live = session.takeLive();
  if (state.assembled) {
    // A PUT retried after its object was assembled: every byte is in; only the check remains.
    live?.abandon();
    if (adds) throw outOfOrder({ reason: "upload already assembled", expectedStart: state.offset });
    return { state, tail: new Uint8Array(0), live: null };
  }
  if (body && takesSingleObject(state, range, length)) {
    live?.abandon();
    const key = uploadKey(state.uploadId);
    const hash = await putSingleObject(store, key, body, length);
    return { state: { ...state, offset: length, hash, single: { key, length } }, tail: new Uint8Array(0), live: null };
  }
  const options = {
    store,
    multipartKey: state.single ? uploadContinuationKey(state.uploadId) : uploadKey(state.uploadId),
    onMultipartCreated: session.saveMultipart,
    bodyLimit: maxRequestBody > 0 ? { bytes: maxRequestBody, refusal: () => bodyTooLarge(maxRequestBody) } : undefined,
    hashing: { live, keepLive: session.keepLive },
  };
  let base = state;
  let tail: Uint8Array;
  const superseded = adds && state.single ? state.single : null;
  if (superseded) {
    const copied = await continueAsMultipart(state, superseded, options);
    base = { ...state, ...copied.state, single: null };
    tail = copied.tail;
  } else {
    tail = session.loadTail();
  }
  const next = await ingest(base, tail, body, options);
  if (expected !== null && next.received !== expected) {
    next.live?.abandon();
    throw outOfOrder({ reason: "chunk length does not match Content-Range", expected, received: next.received });
  }
  return { state: { ...base, ...next.state }, tail: next.tail, superseded: superseded?.key, live: next.live };
}
