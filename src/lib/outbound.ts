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
 *   port), each checked again; a redirect elsewhere is refused, never followed;
 * - bounds the whole exchange, the caller's reading of the body included, with a timeout;
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
  const timeoutMs = init.timeoutMs ?? OUTBOUND_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = init.signal ? AbortSignal.any([timeout, init.signal]) : timeout;
  let method = init.method ?? "GET";
  for (let redirects = 0; ; redirects++) {
    const refusal = urlRefusal(url, allowance);
    if (refusal) throw new OutboundError("refused", refusal);
    let res: Response;
    try {
      res = await fetch(url.href, { method, headers: init.headers, body: init.body, redirect: "manual", signal });
    } catch (err) {
      if (timeout.aborted) throw new OutboundError("timeout", `${url.origin} did not answer within ${timeoutMs} ms`);
      throw new OutboundError("failed", `${url.origin}: ${(err as Error).message}`);
    }
    const location = REDIRECT_STATUSES.has(res.status) ? res.headers.get("Location") : null;
    if (location === null) return res;
    await res.body?.cancel();
    const next = URL.canParse(location, url.href) ? new URL(location, url) : null;
    if (!next || next.origin !== url.origin)
      throw new OutboundError("redirect", `${url.origin} redirected to another origin (${next?.origin ?? location})`);
    // A streamed body cannot be sent twice, and a request that changes something is not repeated.
    if (init.body != null) throw new OutboundError("redirect", `${url.href} redirected a request with a body`);
    if (redirects === MAX_REDIRECTS) throw new OutboundError("redirect", `${url.origin}: too many redirects`);
    // Fetch standard §4.4 (HTTP-redirect fetch): a 303 is followed with GET.
    if (res.status === 303 && method !== "HEAD") method = "GET";
    url = next;
  }
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
