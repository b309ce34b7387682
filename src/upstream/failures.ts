/**
 * Upstream answers and guard refusals as {@link UpstreamError}s, so that the proxy cache and
 * mirroring decide on one vocabulary: `unreachable` (the upstream is down or failing: a proxy may
 * serve what it has), `unauthorized`, `refused` (the guard would not send the request), `protocol`
 * (an answer that breaks the Distribution API), `timeout`, `too-large`.
 */
import { OutboundError } from "../lib/outbound";
import { UpstreamError } from "./registry";

/** `err` (from the guard or already an upstream error) as an {@link UpstreamError}; `what` names the peer. */
export function asUpstreamError(err: unknown, what: string): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (err instanceof OutboundError) {
    const kind = (
      {
        refused: "refused",
        redirect: "protocol",
        timeout: "timeout",
        failed: "unreachable",
        "too-large": "too-large",
      } as const
    )[err.kind];
    return new UpstreamError(kind, `${what}: ${err.message}`);
  }
  return new UpstreamError("unreachable", `${what}: ${(err as Error)?.message ?? String(err)}`);
}

/** The failure an unexpected status means (after 401 was handled and 404 taken as absence). */
export function statusFailure(status: number, what: string): UpstreamError {
  if (status === 401 || status === 403)
    return new UpstreamError("unauthorized", `${what} answered ${status}: access denied`);
  // Down, overloaded or rate-limiting (Docker Hub's pull limits answer 429): nothing usable now.
  if (status >= 500 || status === 429) return new UpstreamError("unreachable", `${what} answered ${status}`);
  return new UpstreamError("protocol", `${what} answered ${status}`);
}
