/**
 * Who caused a request's changes, for the events they emit (docs/events.md, "Actor and address"):
 * routes pass {@link requestEvents} (or its `origin`, across Durable Object RPC) to the domain
 * writes they call. The actor comes from what authenticated the request: the registry token's
 * account on /v2 (a robot when its name is `namespace+short`), the API's caller on /api/v1 (an
 * OAuth token, a robot's Management-API token acting as the robot, or a signed-in browser acting
 * as its user); the address from `CF-Connecting-IP`.
 */
import type { Context } from "hono";
import type { AppEnv } from "../routes/app-env";
import type { Actor, EventOrigin } from "../events/envelope";
import { type EventScope, eventScope } from "../events/outbox";
import type { LoginAudit, LoginSurface } from "../identity/logins";
import { clientIpOf, userAgentOf } from "../lib/client-address";

function requestActor(c: Context<AppEnv>): Actor {
  const caller = c.var.caller;
  if (caller) {
    if (caller.kind === "anonymous") return { kind: "anonymous" };
    const { username: name, id } = caller.user;
    if (caller.via === "oauth") return { kind: "token", name, id, token: "oauth" };
    return { kind: caller.via === "robot-token" ? "robot" : "user", name, id };
  }
  const principal = c.var.principal;
  // A build's pushes are the builder's (Quay logs them as its build's), not an account's.
  if (principal?.kind === "token" && principal.claims.subject.kind === "build")
    return { kind: "system", name: "builder" };
  if (principal?.kind === "token" && principal.claims.subject.kind === "user") {
    const { name, id } = principal.claims.subject;
    // Robot accounts are named `<namespace>+<shortname>`; no other account name holds a `+`.
    return { kind: name.includes("+") ? "robot" : "user", name, id };
  }
  return { kind: "anonymous" };
}

/** The request's actor, client address and User-Agent, as plain data (it crosses Durable Object RPC). */
export function requestOrigin(c: Context<AppEnv>): EventOrigin {
  return withRequest(c, requestActor(c));
}

function withRequest(c: Context<AppEnv>, actor: Actor): EventOrigin {
  const userAgent = userAgentOf(c.req.raw);
  return { actor, ip: clientIpOf(c.req.raw), ...(userAgent === null ? {} : { userAgent }) };
}

/**
 * The request's event scope: its origin, and publication under the request's `waitUntil`. `actor`
 * names who asked where the route itself proved it (an application's authorization by password
 * or by the browser's session, outside the API's caller).
 */
export function requestEvents(c: Context<AppEnv>, actor?: Actor): EventScope {
  const origin = actor ? withRequest(c, actor) : requestOrigin(c);
  return eventScope(c.env, origin, (promise) => c.executionCtx.waitUntil(promise));
}

/**
 * How the request records the credential it checks (src/identity/logins.ts): on `surface`, as the
 * request's event scope (its address), with the client's User-Agent.
 */
export function requestLogin(
  c: Context<AppEnv>,
  surface: LoginSurface,
  options: Pick<LoginAudit, "recordSuccess" | "accepts">,
): LoginAudit {
  return { surface, events: requestEvents(c), userAgent: c.req.header("User-Agent") ?? null, ...options };
}
