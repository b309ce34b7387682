/**
 * Request bodies that end badly, from either side.
 *
 * The server's side: an answer sent before the body is read (a 401 before a token is checked
 * against an 8 MiB PATCH, a 416 for a chunk out of order) makes workerd's HTTP server read on only
 * briefly and then close the connection with the client's bytes unread, so the client's kernel
 * resets it: the client sees `write: broken pipe` and often never reads the answer (issue #12;
 * registry clients send every request once without a token and retry after the 401, so this hit
 * valid chunks too). Reading the rest of a bounded body before answering ({@link drainBody}) lets
 * the exchange end as HTTP/1.1 expects.
 *
 * The client's side: a body that ends before its Content-Length (the client closed or stopped
 * sending) makes reads fail with workerd's "Network connection lost."; that is the client's
 * doing, not a server fault, and is reported as {@link BodyEndedEarlyError}.
 */

/**
 * The most of an unread body the registry reads and discards to answer early: chunk sizes clients
 * use (the conformance suite's 8 MiB, 64 MiB for large layers) fit; a client sending more than
 * that to a refusal has its connection closed, as any server must at some point.
 */
export const DRAIN_LIMIT = 64 * 1024 * 1024;

/** The request body ended before its Content-Length: the client closed the connection or stopped. */
export class BodyEndedEarlyError extends Error {
  constructor() {
    super("request body ended before its Content-Length");
    this.name = "BodyEndedEarlyError";
  }
}

/**
 * Reads and discards what is left of `body`, at most `limit` bytes (then cancels it). Resolves
 * true when the body was read to its end; false when it was too long, had failed, or is locked.
 */
export async function drainBody(body: ReadableStream<Uint8Array>, limit = DRAIN_LIMIT): Promise<boolean> {
  if (body.locked) return false;
  const reader = body.getReader();
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      read += value.byteLength;
      if (read > limit) {
        await reader.cancel().catch(() => undefined);
        return false;
      }
    }
  } catch {
    return false;
  } finally {
    reader.releaseLock();
  }
}

/**
 * `read`, with a failure of the body itself reported as `ended()` ({@link BodyEndedEarlyError} by
 * default): a request body's reads fail only when the client's bytes stop before the declared
 * length.
 */
export async function readOrEnded<T>(
  read: Promise<T>,
  ended: () => Error = () => new BodyEndedEarlyError(),
): Promise<T> {
  try {
    return await read;
  } catch {
    throw ended();
  }
}

/**
 * `body` (declared `length` bytes) as a stream of exactly that length for another consumer (an R2
 * put), through a native pipe (no JavaScript per chunk), so that when the consumer fails it can be
 * told what the client's side did: `"complete"` (every byte the client sent went through: the
 * consumer failed, or the byte count was not `length`), `"ended"` (the client's body ended early),
 * `"failed"` (the consumer stopped reading first). The pipe never cancels `body`: bytes the
 * consumer left unread stay for {@link drainBody}.
 */
export function observeBody(body: ReadableStream<Uint8Array>, length: number) {
  const { readable, writable } = new FixedLengthStream(length);
  const piped = body.pipeTo(writable, { preventCancel: true }).then(
    () => true,
    () => false,
  );
  return {
    stream: readable as ReadableStream<Uint8Array>,
    async outcome(): Promise<"complete" | "ended" | "failed"> {
      if (await piped) return "complete";
      if (body.locked) return "failed";
      const reader = body.getReader();
      try {
        await reader.read();
        return "failed";
      } catch {
        return "ended";
      } finally {
        reader.releaseLock();
      }
    },
  };
}
