/**
 * Quay's read-only mode (REGISTRY_STATE=readonly), in one place: every request that would write
 * is refused here, before any route, credential or body is looked at, with Quay's answer on each
 * surface. Quay refuses a write at its `@check_readonly` (every non-GET API method not marked
 * `@readonly_call_allowed`) and at its database layer (ReadOnlyModeException), answered:
 * - /v2: 405 `{"errors":[{"code":"DENIED","message":READ_ONLY_MESSAGE,"detail":{},"is_readonly":true}]}`
 *   (endpoints/v2/errors.py ReadOnlyMode), which docker and podman print as `denied: System is…`;
 * - /api/v1 (and every other Flask surface): 503 `{"message": READ_ONLY_MESSAGE, "is_readonly": true}`
 *   (Quay's app-wide ReadOnlyModeException handler), to which Wharf adds its usual error fields;
 * - build trigger webhooks: 503 "System is currently in read-only mode" (endpoints/webhooks.py).
 * Reads (GET, HEAD, OPTIONS) pass, but for {@link WRITING_READS}; so do {@link ALLOWED_WRITES}.
 * Elsewhere: the Cron Trigger's writers are skipped (src/index.ts), /v2/auth grants no push
 * (src/routes/v2/auth.ts), and a proxy cache serves only what it holds (src/routes/v2/pull-source.ts).
 */
import type { MiddlewareHandler } from "hono";
import { isReadOnly } from "../config";
import { contentLength } from "../lib/http";
import { DRAIN_LIMIT, drainBody } from "../lib/request-body";
import type { AppEnv } from "../routes/app-env";
import { ApiError } from "../routes/api/errors";
import { plainError, surfaceOf } from "../routes/surfaces";

/** Quay's words (endpoints/v2/errors.py ReadOnlyMode, and its API's ReadOnlyModeException handler). */
export const READ_ONLY_MESSAGE =
  "System is currently read-only. Pulls will succeed but all write operations are currently suspended.";
/** Quay's build trigger webhook answers this instead (endpoints/webhooks.py). */
const WEBHOOK_READ_ONLY_MESSAGE = "System is currently in read-only mode";

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The writes read-only mode still lets through, each for its reason: Quay's `@readonly_call_allowed`
 * methods (signing in and out, proving the password again, starting an external login), and the
 * configuration checks, which validate a body and write nothing.
 */
export const ALLOWED_WRITES: readonly { method: string; path: RegExp; why: string }[] = [
  { method: "POST", path: /^\/api\/v1\/signin\/?$/, why: "Quay's signinUser is @readonly_call_allowed" },
  { method: "POST", path: /^\/api\/v1\/signin\/verify\/?$/, why: "Quay's verifyUser is @readonly_call_allowed" },
  { method: "POST", path: /^\/api\/v1\/signout\/?$/, why: "Quay's logout is @readonly_call_allowed" },
  {
    method: "POST",
    path: /^\/api\/v1\/externallogin\/[^/]+\/?$/,
    why: "Quay's retrieveExternalLoginAuthorizationUrl is @readonly_call_allowed",
  },
  { method: "POST", path: /^\/api\/v1\/superuser\/config\/validate\/?$/, why: "validates a body, writes nothing" },
  { method: "POST", path: /^\/api\/v1\/config\/validate\/?$/, why: "validates a body, writes nothing" },
];

/**
 * The reads that write, refused as writes are: links a browser follows from a mail or an external
 * login, and the OAuth consent screen, whose every outcome is a token.
 */
export const WRITING_READS: readonly { path: RegExp; why: string }[] = [
  { path: /^\/confirm\/?$/, why: "a confirmation link marks the account's address verified" },
  { path: /^\/recovery\/?$/, why: "a recovery link consumes its code" },
  { path: /^\/authrepoemail\/?$/, why: "authorizes an address for a repository's notifications" },
  { path: /^\/oauth2\/[^/]+\/callback\/attach\/?$/, why: "links an external login to the account" },
  { path: /^\/oauth\/authorize\/?$/, why: "consenting issues a token" },
];

/** Whether `method path` may run while the registry is read-only. */
export function allowedWhileReadOnly(method: string, path: string): boolean {
  if (READS.has(method)) return !WRITING_READS.some((read) => read.path.test(path));
  return ALLOWED_WRITES.some((write) => write.method === method && write.path.test(path));
}

/** Refuses every write while REGISTRY_STATE is `readonly` (src/app.ts mounts it before the routes). */
export function refuseWritesWhileReadOnly(): MiddlewareHandler<AppEnv> {
  return async function readOnly(c, next) {
    if (!isReadOnly(c.env) || allowedWhileReadOnly(c.req.method, c.req.path)) return next();
    // The client is still sending: read what it sends (bounded) so that it reads the answer
    // rather than meeting a closed connection (src/middleware/drain-body.ts says why).
    const body = c.req.raw.body;
    const declared = contentLength(c.req.header("Content-Length"));
    if (body && !body.locked && (declared === null || declared <= DRAIN_LIMIT)) await drainBody(body);
    return readOnlyRefusal(c.req.path, c.req.method, c.var.publicOrigin?.origin ?? "");
  };
}

/** Quay's read-only refusal in the shape of the surface `path` belongs to. */
export function readOnlyRefusal(path: string, method: string, origin: string): Response {
  switch (surfaceOf(path)) {
    case "registry": {
      const headers = { "Content-Type": "application/json" };
      const error = { code: "DENIED", message: READ_ONLY_MESSAGE, detail: {}, is_readonly: true };
      return new Response(method === "HEAD" ? null : JSON.stringify({ errors: [error] }), { status: 405, headers });
    }
    case "api":
      return new ApiError("service_unavailable", READ_ONLY_MESSAGE, {
        fields: { message: READ_ONLY_MESSAGE, is_readonly: true },
      }).toResponse(origin);
    default:
      if (path.startsWith("/webhooks/")) return plainError(503, WEBHOOK_READ_ONLY_MESSAGE);
      if (path.startsWith("/connector/"))
        // The connectors' error shape (docs/connector.md); a 503 makes a connector back off and retry.
        return new Response(JSON.stringify({ error: "read_only", message: READ_ONLY_MESSAGE }), {
          status: 503,
          headers: { "Content-Type": "application/json", "Retry-After": "60" },
        });
      return new Response(JSON.stringify({ error: READ_ONLY_MESSAGE, message: READ_ONLY_MESSAGE, is_readonly: true }), {
        status: 503,
        headers: { "Content-Type": "application/json" },
      });
  }
}
