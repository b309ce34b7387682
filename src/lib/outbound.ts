/**
 * The one guard for requests Wharf makes on a user's behalf (ARCHITECTURE.md, "Outbound
 * requests"): OpenID discovery and key sets of robot federation, and repository notifications'
 * webhooks and Slack messages (src/notifications/delivery.ts), log exports' callbacks
 * (src/events/logs-export-delivery.ts) and the log sink (src/events/logs-sink.ts); proxy upstreams and mirrors when
 * they come. A user chooses the URL, so without a guard any user could make the
 * Worker call loopback, private and cloud-metadata addresses (SSRF, issue #12). It:
 * - refuses what src/lib/outbound-addresses.ts refuses (not http(s); a host that is not public,
 *   unless ALLOW_PRIVATE_OUTBOUND allows it) before any request is made;
 * - follows at most {@link MAX_REDIRECTS} redirects, only within the origin (scheme, host and
 *   port), each checked again; a redirect elsewhere is refused, never followed, unless the caller
 *   opts in (`crossOriginRedirects`: a registry's blob redirected to its storage), and then each hop
 *   is checked the same, never downgrades https to http, and loses the Authorization header;
 * - bounds the whole exchange, the caller's reading of the body included, with a timeout; or, for
 *   long streams (`streamTimeouts`), the wait for the answer's headers and each silence of its body;
 * - leaves buffering to {@link readCapped}, which stops at a size cap.
 * Its errors carry what happened for the server's log; callers answer users generically, so that
 * the registry cannot be used to probe what answers where.
 */
import { readConfig } from "../config";
import { readBounded } from "./http";
import { urlRefusal } from "./outbound-addresses";

export type OutboundFailure = "refused" | "redirect" | "timeout" | "failed" | "too-large";

/** Why an outbound request produced no usable answer. The message is for logs, not for users. */
export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundFailure,
    message: string,
  ) {
    super(message);
    this.name = "OutboundError";
  }
}

export interface OutboundInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  /** Milliseconds for the whole exchange: redirects and the caller's reading of the body too. */
  timeoutMs?: number;
  /** The caller's own signal (jose passes one), honoured besides the timeout. */
  signal?: AbortSignal | null;
  /**
   * Follow redirects to other origins too, each hop checked by the guard: registries answer a blob
   * GET with a redirect to their storage (S3, a CDN). The Authorization header is dropped once the
   * origin changes (as the Fetch standard's HTTP-redirect fetch does), so credentials meant for the
   * registry never reach its storage; a hop from https to http is refused.
   */
  crossOriginRedirects?: boolean;
  /**
   * For bodies that take long to stream (a 10 GB layer): instead of {@link timeoutMs} for the whole
   * exchange, `headersMs` until the final answer's headers arrive, then `idleMs` for each wait on
   * the body (only while the caller is reading, so a slow consumer is not the server's silence).
   */
  streamTimeouts?: { headersMs: number; idleMs: number };
  /** Told the URL that gave the final answer (after redirects): whose answer it is. */
  answeredBy?: (url: URL) => void;
}

export const OUTBOUND_TIMEOUT_MS = 10_000;
/** Enough for a moved path or a trailing slash; a chain longer than that is no configuration. */
export const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * `fetch` through the guard, with the allowance of `env`'s ALLOW_PRIVATE_OUTBOUND. Resolves to the
 * final answer (any status; a redirect without a Location is an answer), or throws {@link
 * OutboundError}.
 */
export async function guardedFetch(
  env: { ALLOW_PRIVATE_OUTBOUND?: unknown },
  target: string | URL,
  init: OutboundInit = {},
): Promise<Response> {
  const allowance = readConfig(env).ALLOW_PRIVATE_OUTBOUND;
  if (!URL.canParse(String(target))) throw new OutboundError("refused", "not an absolute URL");
  let url = new URL(target);
  const deadline = exchangeDeadline(init);
  const signal = init.signal ? AbortSignal.any([deadline.signal, init.signal]) : deadline.signal;
  let method = init.method ?? "GET";
  const headers = new Headers(init.headers);
  const origin = url.origin;
  try {
    for (let redirects = 0; ; redirects++) {
      const refusal = urlRefusal(url, allowance);
      if (refusal) throw new OutboundError("refused", refusal);
      // Credentials go to the origin the caller named, never to where it sends us.
      if (url.origin !== origin) headers.delete("Authorization");
      let res: Response;
      try {
        const sent = new Headers(headers);
        res = await fetch(url.href, { method, headers: sent, body: init.body, redirect: "manual", signal });
      } catch (err) {
        if (deadline.signal.aborted) throw new OutboundError("timeout", `${url.origin} ${deadline.describe()}`);
        throw new OutboundError("failed", `${url.origin}: ${(err as Error).message}`);
      }
      const location = REDIRECT_STATUSES.has(res.status) ? res.headers.get("Location") : null;
      if (location === null) {
        init.answeredBy?.(url);
        return deadline.answered(res);
      }
      await res.body?.cancel();
      const next = URL.canParse(location, url.href) ? new URL(location, url) : null;
      if (!next || (next.origin !== url.origin && !init.crossOriginRedirects))
        throw new OutboundError("redirect", `${url.origin} redirected to another origin (${next?.origin ?? location})`);
      if (url.protocol === "https:" && next.protocol !== "https:")
        throw new OutboundError("redirect", `${url.origin} redirected from https to ${next.origin}`);
      // A streamed body cannot be sent twice, and a request that changes something is not repeated.
      if (init.body != null) throw new OutboundError("redirect", `${url.href} redirected a request with a body`);
      if (redirects === MAX_REDIRECTS) throw new OutboundError("redirect", `${url.origin}: too many redirects`);
      // Fetch standard §4.4 (HTTP-redirect fetch): a 303 is followed with GET.
      if (res.status === 303 && method !== "HEAD") method = "GET";
      url = next;
    }
  } catch (err) {
    deadline.clear();
    throw err;
  }
}

/**
 * The timeout of one exchange: the whole of it ({@link OutboundInit.timeoutMs}), or the wait for
 * the headers and then each wait on the body ({@link OutboundInit.streamTimeouts}).
 */
function exchangeDeadline(init: OutboundInit) {
  const stream = init.streamTimeouts;
  if (!stream) {
    const timeoutMs = init.timeoutMs ?? OUTBOUND_TIMEOUT_MS;
    return {
      signal: AbortSignal.timeout(timeoutMs),
      describe: () => `did not answer within ${timeoutMs} ms`,
      answered: (res: Response) => res,
      clear: () => {},
    };
  }
  const control = new AbortController();
  const timer = setTimeout(() => control.abort(), stream.headersMs);
  return {
    signal: control.signal,
    describe: () => `did not answer within ${stream.headersMs} ms`,
    answered(res: Response): Response {
      clearTimeout(timer);
      if (!res.body) return res;
      const { status, statusText, headers } = res;
      return new Response(idleBounded(res.body, stream.idleMs, control), { status, statusText, headers });
    },
    clear: () => clearTimeout(timer),
  };
}

/**
 * `body` read through a watch: a read that waits more than `idleMs` for the server aborts the
 * exchange and fails the stream with a `timeout` {@link OutboundError}. A byte stream, so that
 * readers that fill their own buffers (src/registry/upload-ingest.ts) still can.
 */
function idleBounded(body: ReadableStream<Uint8Array>, idleMs: number, control: AbortController) {
  const reader = body.getReader();
  return new ReadableStream({
    type: "bytes",
    async pull(controller: ReadableByteStreamController) {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          control.abort();
          reject(new OutboundError("timeout", `the answer's body was silent for ${idleMs} ms`));
        }, idleMs);
      });
      try {
        // An empty chunk is no answer to the reader: wait on for bytes or the end.
        for (;;) {
          const { done, value } = await Promise.race([reader.read(), idle]);
          if (done) return controller.close();
          if (value.byteLength > 0) return controller.enqueue(value);
        }
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason: unknown) {
      return reader.cancel(reason);
    },
  });
}

/**
 * The body of an outbound answer that the caller buffers (a JSON document), read at most
 * `maxBytes`: a larger declared or streamed body is abandoned (its stream cancelled) with a
 * `too-large` {@link OutboundError}, so a hostile server cannot fill the isolate's memory.
 */
export async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array> {
  try {
    return await readBounded(
      res,
      maxBytes,
      () => new OutboundError("too-large", `the answer exceeds ${maxBytes} bytes`),
    );
  } catch (err) {
    await res.body?.cancel().catch(() => {});
    throw err instanceof OutboundError
      ? err
      : new OutboundError("failed", `reading the answer: ${(err as Error).message}`);
  }
}
