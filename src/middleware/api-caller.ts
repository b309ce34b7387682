/**
 * Who is calling /api/v1, and the checks routes make. Quay takes OAuth bearer tokens, robots'
 * Management-API tokens (`qro_…`, acting as the robot: src/identity/robot-tokens.ts), and the
 * browser's session cookie (which POST /api/v1/signin sets), and checks a scope on every endpoint
 * (`@require_scope`). As in Quay, a missing or unusable credential is 401 invalid_token and a
 * credential without the scope is 403 insufficient_scope.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { readConfig } from "../config";
import type { Session, User } from "../db/schema";
import type { AppEnv } from "../routes/app-env";
import type { ApiCaller } from "../identity/callers";
import { ALL_SCOPES, grants, type Scope } from "../identity/scopes";
import { csrfMatches, findSession, isFreshSession, SESSION_COOKIE } from "../identity/sessions";
import { resolveRobotApiToken, ROBOT_API_TOKEN_PREFIX } from "../identity/robot-tokens";
import { resolveToken } from "../identity/tokens";
import { isSuperuser } from "../identity/users";
import { ApiError } from "../routes/api/errors";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The signed-in browser's live session (cookie) and its user, or null. Never throws, so routes
 * outside /api/v1 (`POST /oauth/authorizeapp`) can weigh it against other credentials.
 */
export async function browserSession(c: Context<AppEnv>): Promise<{ session: Session; user: User } | null> {
  const cookie = getCookie(c, SESSION_COOKIE);
  return cookie ? findSession(c.var.db, cookie) : null;
}

const invalidBearer = () =>
  new ApiError("invalid_token", "Invalid or expired token", {
    headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
  });

/** Sets `caller` from the Authorization header; a bearer token that resolves to no one is refused. */
export function authenticateApi(): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    const header = c.req.header("Authorization");
    const bearer = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (header && /^Bearer\b/i.test(header) && bearer?.startsWith(ROBOT_API_TOKEN_PREFIX)) {
      const holder = readConfig(c.env).ROBOTS_DISALLOW ? null : await resolveRobotApiToken(c.var.db, bearer);
      if (!holder) throw invalidBearer();
      if (holder.lastUse) await holder.lastUse;
      c.set("caller", { kind: "user", user: holder.robot, scopes: holder.scopes, via: "robot-token" });
    } else if (header && /^Bearer\b/i.test(header)) {
      // Application tokens are passwords for registry clients, not API credentials (as in Quay).
      const holder = bearer ? await resolveToken(c.var.db, bearer) : null;
      if (holder?.kind !== "oauth") throw invalidBearer();
      c.set("caller", { kind: "user", user: holder.user, scopes: holder.scopes, via: "oauth" });
    } else {
      const found = await browserSession(c);
      if (found) {
        // A signed-in browser: every state-changing call must echo the session's CSRF token.
        if (!SAFE_METHODS.has(c.req.method) && !csrfMatches(found.session, c.req.header("X-CSRF-Token"))) {
          throw new ApiError("insufficient_scope", "CSRF token was invalid or missing.");
        }
        // The UI acts with the user's full powers, as Quay's session does.
        c.set("caller", { kind: "user", user: found.user, scopes: ALL_SCOPES, via: "session", session: found.session });
      } else {
        c.set("caller", { kind: "anonymous" });
      }
    }
    await next();
  };
}

/** The id of the browser session the call came with, or null (a token, or no one). */
export function callerSessionId(caller: ApiCaller): number | null {
  return caller.kind === "user" && caller.via === "session" ? caller.session.id : null;
}

/**
/**
 * The user of a signed-in browser session (Quay's `@require_session_login`: tokens of any kind
 * are refused with its 401). Routes that Quay also marks `@require_fresh_login` add
 * {@link requireFreshLogin}.
 */
export function sessionCaller(caller: ApiCaller): User {
  if (caller.kind !== "user" || caller.via !== "session")
    throw new ApiError("invalid_token", "Method requires login and no valid login could be loaded.");
  return caller.user;
}

/**
 * The signed-in user holding `scope`, or the error Quay answers with: its `Unauthorized()`, 401
 * "Requires authentication" for no one and 403 "Unauthorized" for a user whose token lacks the
 * scope (endpoints/exception.py), the words scripts match.
 */
export function callerWith(caller: ApiCaller, scope: Scope): User {
  if (caller.kind === "anonymous") throw new ApiError("invalid_token", "Requires authentication");
  if (!grants(caller.scopes, scope)) throw new ApiError("insufficient_scope", "Unauthorized");
  return caller.user;
}

/** Routes below need `scope`; the user is then `c.var.caller.user`. */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async function checkScope(c, next) {
    callerWith(c.var.caller, scope);
    await next();
  };
}

/** Superuser endpoints: the super:user scope and a name listed in SUPER_USERS (Quay's rule). */
export function requireSuperuser(): MiddlewareHandler<AppEnv> {
  return async function checkSuperuser(c, next) {
    const user = callerWith(c.var.caller, "super:user");
    if (!isSuperuser(readConfig(c.env), user.username)) throw new ApiError("insufficient_scope", "Unauthorized");
    await next();
  };
}

/**
 * Quay's `@require_fresh_login`, after the scope check: a browser session must have proven its
 * password within FRESH_LOGIN_TIMEOUT (`POST /api/v1/signin/verify` proves it again), else 401
 * `fresh_login_required`. OAuth tokens pass, as in Quay, and so does an account without a password.
 */
export function requireFreshLogin(): MiddlewareHandler<AppEnv> {
  return async function checkFreshLogin(c, next) {
    const caller = c.var.caller;
    if (caller.kind === "anonymous") throw new ApiError("invalid_token", "Requires authentication");
    if (caller.via === "session" && caller.user.passwordHash !== null) {
      const timeoutMs = readConfig(c.env).FRESH_LOGIN_TIMEOUT * 1000;
      if (!isFreshSession(caller.session, timeoutMs)) throw new ApiError("fresh_login_required");
    }
    await next();
  };
}
