/**
 * The part of Quay's v1 index (`endpoints/v1/`) that today's Docker clients still call:
 * `GET /v1/_ping` (docker checks a registry's v1 endpoint with it before searching) and
 * `GET /v1/search`, what `docker search <host>/<term>` asks. v1 push and pull are long gone from
 * clients and not served; every other /v1 path is a 404 in this surface's `{"error"}` JSON.
 */
import { Hono } from "hono";
import { readConfig } from "../config";
import type { AppEnv } from "./app-env";
import { identifyCaller } from "../identity/credentials";
import { LoginGuard } from "../identity/login-limits";
import { clientAddressOf } from "../lib/client-address";
import { serviceName } from "../middleware/access";
import { requestLogin } from "../middleware/event-scope";
import { SEARCH_MAX_PAGE, searchRepositories } from "../registry/repository-views";
import { plainError } from "./surfaces";

export const v1 = new Hono<AppEnv>();

/** Longer than any repository name (255 characters): such a query can match no name. */
const MAX_QUERY_LENGTH = 256;

// Quay's `ping`: the body `true` and the headers docker reads (a non-standalone registry).
v1.get("/_ping", (c) =>
  c.json(true, 200, { "X-Docker-Registry-Version": "0.6.0", "X-Docker-Registry-Standalone": "0" }),
);

v1.get("/search", async (c) => {
  const query = c.req.query("q") ?? "";
  if (query.length > MAX_QUERY_LENGTH)
    return plainError(400, `Search query is too long (at most ${MAX_QUERY_LENGTH} characters)`);
  const caller = await identifyCaller(c.var.db, c.env, c.req.header("Authorization"), {
    audience: serviceName(c),
    robotsDisallowed: readConfig(c.env).ROBOTS_DISALLOW,
    // Basic credentials here are one more place to guess passwords: the same login limits.
    guard: new LoginGuard(c.env, clientAddressOf(c.req.raw)),
    // A search is no login (Quay's v1 records none); a refused credential is a failed one.
    audit: requestLogin(c, "v1", { recordSuccess: false }),
  });
  // Quay's process_auth: credentials that name no one are refused, not taken as anonymous.
  if (caller.refused) return plainError(401, "Invalid credentials", { "WWW-Authenticate": 'Basic realm="wharf"' });
  // Quay's bounds: n in 1..100 (25 when unreadable); page from 1 (unreadable: 1), at most 5.
  const limit = Math.min(100, Math.max(1, integerOr(c.req.query("n"), 25)));
  const page = Math.min(SEARCH_MAX_PAGE, Math.max(1, integerOr(c.req.query("page"), 1)));
  return c.json(await searchRepositories(c.var.db, caller.user, { query, limit, page }));
});

/** `value` read as Python's `int()` reads a query parameter, or `fallback`. */
function integerOr(value: string | undefined, fallback: number): number {
  return value !== undefined && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : fallback;
}
