/**
 * Who a request acts as, per surface, as the route layer's middleware finds it: on /v2 the
 * registry token's claims (src/middleware/access.ts), on /api/v1 an OAuth token's or a browser
 * session's user (src/middleware/api-caller.ts). Here, below the routes, so that the domain can
 * take them without importing a middleware.
 */
import type { Session, User } from "../db/schema";
import type { RegistryClaims } from "./registry-tokens";
import type { Scope } from "./scopes";

/** A /v2 caller: a verified registry token, or none (an invalid one says so in the challenge). */
export type Principal = { kind: "none"; tokenError?: "invalid_token" } | { kind: "token"; claims: RegistryClaims };

/**
 * An /api/v1 caller: no one, a user with the scopes of their OAuth token or (all of them) session,
 * or a robot (`user` is its account) with the usable scopes of one of its Management-API tokens.
 */
export type ApiCaller =
  | { kind: "anonymous" }
  | { kind: "user"; user: User; scopes: Scope[]; via: "oauth" | "robot-token" }
  | { kind: "user"; user: User; scopes: Scope[]; via: "session"; session: Session };
