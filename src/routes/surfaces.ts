/**
 * The Worker's own surfaces: the path prefixes it answers itself, each with its error JSON. Every
 * other path belongs to the UI, whose single-page fallback answers 200 HTML for any path; a client
 * of an API would take that for success, so an unknown path under a surface answers a 404 in the
 * surface's JSON instead. wrangler.toml's `[assets] run_worker_first` must list each prefix as
 * `/p` and `/p/*`, and each exact path (test/workers/unknown-paths.test.ts checks it), so that in
 * production these paths reach the Worker even where a file of that name exists among the assets.
 */

import { apiErrorOf } from "./api/errors";
import type { DomainError } from "../errors/domain";

/**
 * How a surface answers errors:
 * - `registry`: the OCI envelope `{"errors":[…]}` (distribution-spec "Error Codes");
 * - `api`: Quay's API error JSON (`/api/v1`, and `/oauth`, whose errors Quay renders the same way);
 * - `plain`: `{"error": "<message>"}`, Quay's `util/http.py` `abort` as its v1 endpoints answer
 *   (`/v1`), the shape `/oauth2` refusals already use, and the one health and metrics paths use.
 */
export type Surface = "registry" | "api" | "plain";

const SURFACE_OF_PREFIX = {
  "/v1": "plain",
  "/v2": "registry",
  "/api": "api",
  "/oauth": "api",
  "/oauth2": "plain",
  "/health": "plain",
  "/metrics": "plain",
  // A log export's signed link (./exported-logs.ts).
  "/exportedlogs": "plain",
  // The origin connectors' protocol (docs/connector.md) and Clair's layer downloads (./secscan.ts).
  "/connector": "plain",
  // Clair's notifier webhook (./secscan.ts).
  "/secscan": "plain",
  // Build triggers' push webhooks (./webhooks.ts), as Quay's endpoints/webhooks.py answers.
  "/webhooks": "plain",
  // A build file's signed upload URL (./filedrop.ts).
  "/filedrop": "plain",
} as const satisfies Record<string, Surface>;

// Pages a browser opens from a link: `/authrepoemail` (src/routes/web.ts) and the links of Quay's
// mails (./mail-links.ts); their refusals are plain JSON, as they have no API of their own.
const SURFACE_OF_PATH = {
  "/csrf_token": "api",
  // Quay's public configuration, which the UI reads when it loads (./public-config.ts).
  "/config": "plain",
  "/authrepoemail": "plain",
  "/confirm": "plain",
  "/recovery": "plain",
} as const satisfies Record<string, Surface>;

export const WORKER_PREFIXES = Object.keys(SURFACE_OF_PREFIX) as (keyof typeof SURFACE_OF_PREFIX)[];
export const WORKER_PATHS = Object.keys(SURFACE_OF_PATH) as (keyof typeof SURFACE_OF_PATH)[];

/** The surface `path` belongs to (on whole segments: `/v1x` is the UI's), or null for the UI. */
export function surfaceOf(path: string): Surface | null {
  if (Object.hasOwn(SURFACE_OF_PATH, path)) return SURFACE_OF_PATH[path as keyof typeof SURFACE_OF_PATH];
  const first = path.match(/^\/[^/]*/)?.[0] ?? "";
  return Object.hasOwn(SURFACE_OF_PREFIX, first) ? SURFACE_OF_PREFIX[first as keyof typeof SURFACE_OF_PREFIX] : null;
}

/** A `plain` surface's error answer. */
export function plainError(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: message }), {
    status,
    headers: { ...headers, "Content-Type": "application/json" },
  });
}

/** A `plain` surface's answer to a domain error: the status and words /api/v1 would give (src/routes/api/errors.ts). */
export function plainErrorOf(err: DomainError): Response {
  const { status, message, headers } = apiErrorOf(err);
  return plainError(status, message, headers);
}
