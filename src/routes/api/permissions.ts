/**
 * A repository's user and robot permissions (Quay `endpoints/api/permission.py`):
 * `GET /api/v1/repository/{repository}/permissions/user/` lists them (keyed by name),
 * `GET|PUT|DELETE …/permissions/user/{username}` read, set (`{"role": "read"|"write"|"admin"}`)
 * and remove one. Only the repository's admins may, with a repo:admin token; everyone else gets
 * 403 whether or not the repository exists, so private names do not leak.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { callerWith } from "../../api/caller";
import { ApiError, invalidRequest, notFound } from "../../api/errors";
import { jsonBody } from "../../api/validate";
import type { Repository, User } from "../../db/schema";
import type { AppEnv } from "../../env";
import { repositoryAccess } from "../../identity/permissions";
import { deleteUserRole, explicitRole, listUserRoles, ROLES, setUserRole, userRoleView } from "../../identity/repository-permissions";
import { findUser } from "../../identity/users";
import { findRepository } from "../../registry/repositories";

export const permissionRoutes = new Hono<AppEnv>();

/** `{repository}` is `namespace/name` (Wharf's names may nest further, as /v2 allows). */
const BASE = "/repository/:repository{.+}/permissions/user";

const noPermission = () =>
  new ApiError("invalid_request", "User does not have permission for repo.", { fields: { message: "User does not have permission for repo." } });

async function administeredRepository(c: Context<AppEnv>): Promise<Repository> {
  const caller = callerWith(c.var.caller, "repo:admin");
  const name = c.req.param("repository")!;
  const role = await repositoryAccess(c.var.db, { kind: "user", name: caller.username }).role(name);
  if (role !== "admin") throw new ApiError("insufficient_scope");
  const repository = await findRepository(c.var.db, name);
  if (!repository) throw notFound();
  return repository;
}

async function grantee(c: Context<AppEnv>): Promise<User> {
  const username = c.req.param("username")!;
  const user = await findUser(c.var.db, username);
  if (!user) throw invalidRequest(`Invalid username: ${username}`);
  return user;
}

permissionRoutes.get(BASE, async (c) => {
  const repository = await administeredRepository(c);
  const rows = await listUserRoles(c.var.db, repository);
  const entries = await Promise.all(rows.map(async (r) => [r.user.username, await userRoleView(c.var.db, repository, r.user, r.role)] as const));
  return c.json({ permissions: Object.fromEntries(entries) });
});

permissionRoutes.get(`${BASE}/:username`, async (c) => {
  const repository = await administeredRepository(c);
  const user = await grantee(c);
  const role = await explicitRole(c.var.db, repository.id, user.id);
  if (!role) throw noPermission();
  return c.json(await userRoleView(c.var.db, repository, user, role));
});

const roleBody = z.object({ role: z.enum(ROLES) });

permissionRoutes.put(`${BASE}/:username`, async (c) => {
  const repository = await administeredRepository(c);
  const user = await grantee(c);
  const { role } = await jsonBody(c, roleBody);
  await setUserRole(c.var.db, repository, user, role);
  return c.json(await userRoleView(c.var.db, repository, user, role));
});

permissionRoutes.delete(`${BASE}/:username`, async (c) => {
  const repository = await administeredRepository(c);
  const user = await grantee(c);
  if (!(await deleteUserRole(c.var.db, repository, user))) throw noPermission();
  return c.body(null, 204);
});
