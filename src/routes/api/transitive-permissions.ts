/**
 * `GET /api/v1/repository/{repository}/permissions/user/{username}/transitive` (Quay
 * `endpoints/api/permission.py` `RepositoryUserTransitivePermission`): every role a user holds on
 * the repository, directly or through its teams. For the repository's admins with repo:admin, as
 * the other permission routes (./permissions.ts); anyone else gets 403 whether or not it exists.
 */
import { Hono } from "hono";
import { documented } from "./openapi";
import { notFound } from "../../errors/domain";
import type { AppEnv } from "../app-env";
import { changeableRepository } from "./repository-access";
import { transitiveRoles } from "../../identity/repository-permissions";
import { findUser } from "../../identity/users";

export const transitivePermissionRoutes = new Hono<AppEnv>();

const TRANSITIVE = "/repository/:repository{.+}/permissions/user/:username/transitive";

documented("GET", TRANSITIVE, {
  operationId: "getUserTransitivePermission",
  summary: "The roles a user holds on the repository, its own and its teams'.",
  scope: "repo:admin",
});
/** Quay answers 404 for an unknown user and for one that holds no role at all. */
transitivePermissionRoutes.get(TRANSITIVE, async (c) => {
  const repository = await changeableRepository(c, "repo:admin", "admin");
  const user = await findUser(c.var.db, c.req.param("username"));
  if (!user || user.kind === "organization") throw notFound();
  const roles = await transitiveRoles(c.var.db, repository, user);
  if (roles.length === 0) throw notFound();
  return c.json({ permissions: roles.map((role) => ({ role })) });
});
