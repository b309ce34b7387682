/**
 * A repository's permissions (Quay `endpoints/api/permission.py`), for users and robots
 * (`…/permissions/user/`) and for teams of its organization (`…/permissions/team/`):
 * `GET /api/v1/repository/{repository}/permissions/{user|team}/` lists them (keyed by name),
 * `GET|PUT|DELETE …/{name}` read, set (`{"role": "read"|"write"|"admin"}`) and remove one. Only
 * the repository's admins may, with a repo:admin token; everyone else gets 403 whether or not the
 * repository exists, so private names do not leak.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { callerWith } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { documented } from "./openapi";
import { ApiError } from "./errors";
import { invalid, notFound } from "../../errors/domain";
import { jsonBody } from "./validate";
import type { Repository, User } from "../../db/schema";
import type { AppEnv } from "../app-env";
import { repositoryAccess, userSubject } from "../../identity/permissions";
import {
  deleteTeamRole,
  deleteUserRole,
  explicitRole,
  explicitTeamRole,
  listTeamRoles,
  listUserRoles,
  repositoryTeam,
  ROLES,
  setTeamRole,
  setUserRole,
  teamRoleView,
  userRoleView,
} from "../../identity/repository-permissions";
import { findUser } from "../../identity/users";
import { findRepository } from "../../registry/repositories";
import { repositoryParam } from "./repository-access";

export const permissionRoutes = new Hono<AppEnv>();

/** `{repository}` is `namespace/name` (Wharf's names may nest further, as /v2 allows). */
const BASE = "/repository/:repository{.+}/permissions/user";
const TEAMS = "/repository/:repository{.+}/permissions/team";

const noPermission = () =>
  new ApiError("invalid_request", "User does not have permission for repo.", {
    fields: { message: "User does not have permission for repo." },
  });

async function administeredRepository(c: Context<AppEnv>): Promise<Repository> {
  const caller = callerWith(c.var.caller, "repo:admin");
  const name = repositoryParam(c);
  const role = await repositoryAccess(c.var.db, userSubject(caller)).role(name);
  if (role !== "admin") throw new ApiError("insufficient_scope");
  const repository = await findRepository(c.var.db, name);
  if (!repository) throw notFound();
  return repository;
}

async function grantee(c: Context<AppEnv>): Promise<User> {
  const username = c.req.param("username")!;
  const user = await findUser(c.var.db, username);
  if (!user) throw invalid(`Invalid username: ${username}`);
  return user;
}

documented("GET", BASE, {
  operationId: "listRepoUserPermissions",
  summary: "The repository's user and robot permissions.",
  scope: "repo:admin",
});
permissionRoutes.get(BASE, async (c) => {
  const repository = await administeredRepository(c);
  const rows = await listUserRoles(c.var.db, repository);
  const entries = await Promise.all(
    rows.map(async (r) => [r.user.username, await userRoleView(c.var.db, repository, r.user, r.role)] as const),
  );
  return c.json({ permissions: Object.fromEntries(entries) });
});

documented("GET", `${BASE}/:username`, {
  operationId: "getUserPermissions",
  summary: "One user's permission on the repository.",
  scope: "repo:admin",
});
permissionRoutes.get(`${BASE}/:username`, async (c) => {
  const repository = await administeredRepository(c);
  const user = await grantee(c);
  const role = await explicitRole(c.var.db, repository.id, user.id);
  if (!role) throw noPermission();
  return c.json(await userRoleView(c.var.db, repository, user, role));
});

const roleBody = z.object({ role: z.enum(ROLES) });

documented("PUT", `${BASE}/:username`, {
  operationId: "changeUserPermissions",
  summary: "Sets a user's or robot's role on the repository.",
  scope: "repo:admin",
  body: roleBody,
});
permissionRoutes.put(`${BASE}/:username`, async (c) => {
  const repository = await administeredRepository(c);
  const user = await grantee(c);
  const { role } = await jsonBody(c, roleBody);
  await setUserRole(c.var.db, repository, user, role, requestEvents(c));
  return c.json(await userRoleView(c.var.db, repository, user, role));
});

documented("DELETE", `${BASE}/:username`, {
  operationId: "deleteUserPermissions",
  summary: "Removes a user's permission.",
  scope: "repo:admin",
  status: 204,
});
permissionRoutes.delete(`${BASE}/:username`, async (c) => {
  const repository = await administeredRepository(c);
  const user = await grantee(c);
  if (!(await deleteUserRole(c.var.db, repository, user, requestEvents(c)))) throw noPermission();
  return c.body(null, 204);
});

// Teams. Quay's messages: a team without a grant is "Team does not have permission for repo." (400,
// with `message` as Quay's DataModelException handler answers); granting a team of another
// organization (or on a user's repository) is "No team … in organization …".
const teamNoPermission = () =>
  new ApiError("invalid_request", "Team does not have permission for repo.", {
    fields: { message: "Team does not have permission for repo." },
  });

documented("GET", TEAMS, {
  operationId: "listRepoTeamPermissions",
  summary: "The repository's team permissions.",
  scope: "repo:admin",
});
permissionRoutes.get(TEAMS, async (c) => {
  const repository = await administeredRepository(c);
  const rows = await listTeamRoles(c.var.db, repository);
  const entries = await Promise.all(rows.map(async (r) => [r.team.name, await teamRoleView(r.team, r.role)] as const));
  return c.json({ permissions: Object.fromEntries(entries) });
});

documented("GET", `${TEAMS}/:teamname`, {
  operationId: "getTeamPermissions",
  summary: "One team's permission on the repository.",
  scope: "repo:admin",
});
permissionRoutes.get(`${TEAMS}/:teamname`, async (c) => {
  const repository = await administeredRepository(c);
  const team = await repositoryTeam(c.var.db, repository, c.req.param("teamname"));
  const role = team ? await explicitTeamRole(c.var.db, repository.id, team.id) : null;
  if (!team || !role) throw teamNoPermission();
  return c.json(await teamRoleView(team, role));
});

documented("PUT", `${TEAMS}/:teamname`, {
  operationId: "changeTeamPermissions",
  summary: "Sets a team's role on the repository.",
  scope: "repo:admin",
  body: roleBody,
});
permissionRoutes.put(`${TEAMS}/:teamname`, async (c) => {
  const repository = await administeredRepository(c);
  const teamname = c.req.param("teamname");
  const team = await repositoryTeam(c.var.db, repository, teamname);
  if (!team) throw invalid(`No team ${teamname} in organization ${repository.namespace}`);
  const { role } = await jsonBody(c, roleBody);
  await setTeamRole(c.var.db, repository, team, role, requestEvents(c));
  return c.json(await teamRoleView(team, role));
});

documented("DELETE", `${TEAMS}/:teamname`, {
  operationId: "deleteTeamPermissions",
  summary: "Removes a team's permission.",
  scope: "repo:admin",
  status: 204,
});
permissionRoutes.delete(`${TEAMS}/:teamname`, async (c) => {
  const repository = await administeredRepository(c);
  const team = await repositoryTeam(c.var.db, repository, c.req.param("teamname"));
  if (!team || !(await deleteTeamRole(c.var.db, repository, team, requestEvents(c)))) throw teamNoPermission();
  return c.body(null, 204);
});
