/**
 * The authorization seam of /v2. Every route names the action it needs on a repository;
 * {@link requireAccess} asks the configured {@link AccessPolicy}. Authentication (issue #4: users,
 * robots, tokens and the Docker token service) plugs in here as another policy, with no change to
 * the handlers.
 */
import type { MiddlewareHandler } from "hono";
import { RegistryError } from "../oci/errors";
import type { AppEnv } from "../env";

/** Actions on a repository, named as in the Docker token scopes (`repository:<name>:<actions>`). */
export type RepositoryAction = "pull" | "push" | "delete";

export type Principal = { kind: "anonymous" } | { kind: "user"; name: string };

export interface AccessPolicy {
  /** Who sent the request. */
  identify(request: Request, env: Env): Promise<Principal>;
  /** Whether `principal` may do `action` on `repository` (which may not exist yet). */
  allows(principal: Principal, action: RepositoryAction, repository: string, env: Env): Promise<boolean>;
}

/**
 * Everyone may do everything: the only policy until identities exist (issue #4). The README says
 * not to expose such a deployment.
 */
export const openAccess: AccessPolicy = {
  identify: async () => ({ kind: "anonymous" }),
  allows: async () => true,
};

/** Sets `principal` and `access` for the routes below it. */
export function identify(policy: AccessPolicy): MiddlewareHandler<AppEnv> {
  return async function identifyCaller(c, next) {
    c.set("access", policy);
    c.set("principal", await policy.identify(c.req.raw, c.env));
    await next();
  };
}

/** Whether the caller may do `action` on `repository`. */
export function mayAccess(c: { var: AppEnv["Variables"]; env: Env }, action: RepositoryAction, repository: string) {
  return c.var.access.allows(c.var.principal, action, repository, c.env);
}

/**
 * Refuses the request unless the caller may do `action` on the repository in the `name` path
 * parameter: UNAUTHORIZED for the anonymous (they may retry with credentials), DENIED otherwise.
 */
export function requireAccess(action: RepositoryAction): MiddlewareHandler<AppEnv> {
  return async function checkAccess(c, next) {
    const repository = c.req.param("name");
    if (repository === undefined) throw new Error("requireAccess needs a :name parameter");
    if (!(await mayAccess(c, action, repository))) {
      throw new RegistryError(c.var.principal.kind === "anonymous" ? "UNAUTHORIZED" : "DENIED", { repository, action });
    }
    await next();
  };
}
