/**
 * Where the fair-use budgets (src/fairuse/budgets.ts) meet the requests: who a request is charged
 * to on /v2 (the registry token's subject) and /api/v1 (the caller), and the /api/v1 namespace a
 * path names. /v2 charges its requester here and its namespace in requireAccess
 * (./access.ts), once the repository's name is parsed and the token checked; blob GETs charge
 * their bytes in src/routes/v2/blobs.ts before sending any.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../routes/app-env";
import {
  chargeAnswered,
  chargeRequester,
  type FairUseContext,
  refuseKnownSpent,
  type Requester,
} from "../fairuse/budgets";
import { clientAddressOf } from "../lib/client-address";

export function fairUseContext(c: Context<AppEnv>): FairUseContext {
  return { env: c.env, db: c.var.db, waitUntil: (promise) => c.executionCtx.waitUntil(promise) };
}

const anonymous = (c: Context<AppEnv>): Requester => ({ key: `ip:${clientAddressOf(c.req.raw)}`, username: null });

/** The /v2 requester: the account the registry token was issued to (or its build), else the client address. */
export function registryRequester(c: Context<AppEnv>): Requester {
  const principal = c.var.principal;
  if (principal.kind !== "token") return anonymous(c);
  const subject = principal.claims.subject;
  if (subject.kind === "user") return { key: `account:${subject.id}`, username: subject.name };
  if (subject.kind === "build") return { key: `build:${subject.build}`, username: null };
  return anonymous(c);
}

function apiRequester(c: Context<AppEnv>): Requester {
  const caller = c.var.caller;
  if (caller.kind === "user") return { key: `account:${caller.user.id}`, username: caller.user.username };
  return anonymous(c);
}

/**
 * Charges every /v2 request to its requester; `/v2/auth`, mounted before this, charges its own
 * once its credential is proven (src/routes/v2/auth.ts), failed ones being the login limits'.
 */
export function chargeRegistryRequester(): MiddlewareHandler<AppEnv> {
  return async function fairUseRegistry(c, next) {
    await chargeRequester(fairUseContext(c), registryRequester(c));
    await next();
  };
}

/**
 * The namespace an /api/v1 path names: `/repository/{namespace}/…` and `/organization/{orgname}…`
 * (Quay's paths that belong to one namespace). A name that no namespace could have names none.
 * Read as the router reads it: the path keeps `%2F` encoded, but a route's parameter is decoded,
 * so `/repository/acme%2Fapp` is served as acme/app and must be charged to acme too.
 */
export function apiNamespaceOf(path: string): string | null {
  const rest = path.match(/^\/api\/v1\/(?:repository|organization)\/(.+)$/)?.[1];
  if (!rest) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return null; // malformed escapes: the router answers 400 before any route
  }
  const slash = decoded.indexOf("/");
  const name = slash === -1 ? decoded : decoded.slice(0, slash);
  return /^[a-z0-9_][a-z0-9_.-]{0,254}$/.test(name) ? name : null;
}

/**
 * Charges every /api/v1 request to its requester before it runs, and to the namespace its path
 * names after it was answered without an error (src/fairuse/budgets.ts `chargeAnswered`).
 */
export function chargeApiRequest(): MiddlewareHandler<AppEnv> {
  return async function fairUseApi(c, next) {
    const ctx = fairUseContext(c);
    const requester = apiRequester(c);
    const namespace = apiNamespaceOf(c.req.path);
    await chargeRequester(ctx, requester);
    if (namespace !== null) await refuseKnownSpent(ctx, requester, namespace);
    await next();
    if (namespace !== null && c.res.status < 400) ctx.waitUntil(chargeAnswered(ctx, requester, namespace));
  };
}
