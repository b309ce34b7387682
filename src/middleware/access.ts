/**
 * Who may do what on /v2: Docker token authentication (distribution "Token Authentication
 * Specification"). A request carries `Authorization: Bearer <registry token>` minted by
 * GET /v2/auth (src/routes/v2/auth.ts); every route names the action it needs and the token's
 * `access` claim must grant it. Without a usable token the answer is 401 with the challenge that
 * tells the client where to get one: `WWW-Authenticate: Bearer realm=…,service=…,scope=…`.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../routes/app-env";
import type { Principal } from "../identity/callers";
import { repositoryAccess, type RepositoryAction } from "../identity/permissions";
import { claimsGrant, verifyRegistryToken, type TokenSubject } from "../identity/registry-tokens";
import { quotedString } from "../lib/http";
import { mayPushInState, readOnlyRepository } from "../registry/repository-state";
import { namespaceOf } from "../registry/repository-name";
import { PROXY_CACHE_PUSH_DENIED } from "../proxy/pull-through";
import { proxyCacheFor } from "../proxy/lookup";
import { RegistryError } from "../routes/v2/errors";
import { parseName } from "../routes/v2/params";
import { chargeNamespace } from "../fairuse/budgets";
import { fairUseContext, registryRequester } from "./fair-use";

/**
 * The audience of registry tokens: this registry's host as clients see it (SERVER_HOSTNAME, or
 * the request's validated host; src/lib/public-url.ts).
 */
export function serviceName(c: { var: AppEnv["Variables"] }): string {
  return c.var.publicOrigin.host;
}

/** The challenge; every auth-param is a quoted-string (RFC 7235 §2.1), whatever it holds. */
function challenge(c: Context<AppEnv>, scope?: string, error?: string): string {
  const params: [string, string | undefined][] = [
    ["realm", `${c.var.publicOrigin.origin}/v2/auth`],
    ["service", serviceName(c)],
    ["scope", scope],
    ["error", error],
  ];
  const present = params.filter((p): p is [string, string] => Boolean(p[1]));
  return `Bearer ${present.map(([name, value]) => `${name}=${quotedString(value)}`).join(",")}`;
}

/** 401 UNAUTHORIZED with the challenge for `scope` (spec: "the client should… retry with a token"). */
export function unauthorized(c: Context<AppEnv>, scope?: string, detail?: unknown): RegistryError {
  const principal = c.var.principal;
  const error = principal.kind === "token" ? "insufficient_scope" : principal.tokenError;
  return new RegistryError("UNAUTHORIZED", detail, { headers: { "WWW-Authenticate": challenge(c, scope, error) } });
}

/** Sets `principal` from the bearer token; an invalid one counts as none (and says so in the challenge). */
export function authenticateRegistry(): MiddlewareHandler<AppEnv> {
  return async function readToken(c, next) {
    const token = c.req.header("Authorization")?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (!token) {
      c.set("principal", { kind: "none" });
    } else {
      const claims = await verifyRegistryToken(c.env, token, serviceName(c));
      c.set("principal", claims ? { kind: "token", claims } : { kind: "none", tokenError: "invalid_token" });
    }
    await next();
  };
}

/** Who the caller's token was issued to (anonymous without a token). */
export function principalSubject(principal: Principal): TokenSubject {
  return principal.kind === "token" ? principal.claims.subject : { kind: "anonymous" };
}

/** Whether the caller's token grants `action` on `repository`. */
export function mayAccess(c: { var: AppEnv["Variables"] }, action: RepositoryAction, repository: string): boolean {
  const principal = c.var.principal;
  return principal.kind === "token" && claimsGrant(principal.claims, "repository", repository, action);
}

const CHALLENGE_ACTIONS: Record<RepositoryAction, string> = { pull: "pull", push: "pull,push", delete: "delete" };

/**
 * Refuses the request unless the token grants `action` on the repository in the `name` path
 * parameter. Writes (push, delete) are also re-authorized against the permission module now: a
 * registry token lives five minutes, and in that time its account may be disabled, deleted (and a
 * new account of the same name created), or lose its grant, or the namespace may change hands.
 * The check costs three indexed D1 reads issued together (the account by id, its organization
 * role, the repository with its grant: one round trip of latency) per write request. Requests
 * that continue an upload session (`continuesUpload`: its chunks, the closing PUT, status,
 * cancel) were re-checked when the session opened and trust the token for the rest of its life,
 * as pulls do: what they add is a blob no tag shows until a re-checked manifest push names it.
 */
export function requireAccess(
  action: RepositoryAction,
  options: { continuesUpload?: boolean } = {},
): MiddlewareHandler<AppEnv> {
  return async function checkAccess(c, next) {
    // A malformed name is a syntax error, not a secret: NAME_INVALID before any token question.
    const repository = parseName(c);
    if (!mayAccess(c, action, repository)) {
      throw unauthorized(c, `repository:${repository}:${CHALLENGE_ACTIONS[action]}`, { repository, action });
    }
    // Fair use: the namespace is charged only once the token let the caller in, so a stranger
    // refused here spends nothing of its budget (src/fairuse/budgets.ts).
    await chargeNamespace(fairUseContext(c), registryRequester(c), namespaceOf(repository));
    if (action !== "pull" && !options.continuesUpload) {
      const access = repositoryAccess(c.var.db, principalSubject(c.var.principal));
      // One query answers both (the lookup is shared); the state is checked again where the write
      // commits (src/registry/repository-state.ts), this only refuses before any upload starts.
      const [allowed, existing] = await Promise.all([access.actions(repository), access.repository(repository)]);
      // Permission first: the state is told only to whoever may still write the repository.
      if (!allowed.includes(action))
        throw new RegistryError(
          "DENIED",
          { repository, action },
          { message: "the token's account may no longer do this" },
        );
      const subject = principalSubject(c.var.principal);
      const writerId = subject.kind === "user" ? subject.id : null;
      if (existing && !mayPushInState(existing.state, existing.mirrorRobotId, writerId))
        throw readOnlyRepository(repository, existing.state);
      // A token granted before its organization became a proxy cache pushes nothing into it either.
      if (action === "push" && (await proxyCacheFor(c.env, c.var.db, namespaceOf(repository))))
        throw new RegistryError("DENIED", { repository, action }, { message: PROXY_CACHE_PUSH_DENIED });
    }
    await next();
  };
}

/** Any valid token (anonymous ones included): the base endpoint and the catalog's own scope check. */
export function requireToken(): MiddlewareHandler<AppEnv> {
  return async function checkToken(c, next) {
    if (c.var.principal.kind !== "token") throw unauthorized(c);
    await next();
  };
}
