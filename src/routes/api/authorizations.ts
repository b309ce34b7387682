/**
 * /api/v1/user/authorizations: the OAuth grants the signed-in user gave applications (Quay
 * `endpoints/api/user.py` `UserAuthorizationList`, `UserAuthorization`), and
 * /api/v1/user/assignedauthorization: the requests to grant one (`UserAssignedAuthorizations`),
 * administered as Quay's `@require_user_admin` does: with the user:admin scope.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { readConfig } from "../../config";
import { notFound } from "../../errors/domain";
import { callerWith, requireScope } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import type { AppEnv } from "../app-env";
import {
  authorizationView,
  findAuthorization,
  listAuthorizations,
  revokeAuthorization,
} from "../../identity/oauth-authorizations";
import { assignmentView, deleteAssignment, findAssignment, listAssignments } from "../../identity/oauth-assignments";
import { documented } from "./openapi";

export const authorizationRoutes = new Hono<AppEnv>();

authorizationRoutes.use("/user/authorizations", requireScope("user:admin"));
authorizationRoutes.use("/user/authorizations/*", requireScope("user:admin"));

documented("GET", "/user/authorizations", {
  operationId: "listUserAuthorizations",
  summary: "The OAuth tokens applications hold for the signed-in user.",
  scope: "user:admin",
});
authorizationRoutes.get("/user/authorizations", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const found = await listAuthorizations(c.var.db, user);
  return c.json({ authorizations: await Promise.all(found.map(authorizationView)) });
});

documented("GET", "/user/authorizations/:access_token_uuid", {
  operationId: "getUserAuthorization",
  summary: "One OAuth token an application holds for the signed-in user.",
  scope: "user:admin",
});
authorizationRoutes.get("/user/authorizations/:access_token_uuid", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  return c.json(await authorizationView(await findAuthorization(c.var.db, user, c.req.param("access_token_uuid"))));
});

documented("DELETE", "/user/authorizations/:access_token_uuid", {
  operationId: "deleteUserAuthorization",
  summary: "Revokes an OAuth token an application holds for the signed-in user.",
  scope: "user:admin",
  status: 204,
});
authorizationRoutes.delete("/user/authorizations/:access_token_uuid", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const found = await findAuthorization(c.var.db, user, c.req.param("access_token_uuid"));
  await revokeAuthorization(c.var.db, user, found, requestEvents(c));
  return c.body(null, 204);
});

/** Quay's `@show_if(features.ASSIGN_OAUTH_TOKEN)`: without it these routes do not exist. */
const assignmentsOn = createMiddleware<AppEnv>(async (c, next) => {
  if (!readConfig(c.env).FEATURE_ASSIGN_OAUTH_TOKEN) throw notFound();
  await next();
});
authorizationRoutes.use("/user/assignedauthorization", assignmentsOn, requireScope("user:admin"));
authorizationRoutes.use("/user/assignedauthorization/*", assignmentsOn, requireScope("user:admin"));

documented("GET", "/user/assignedauthorization", {
  operationId: "listAssignedAuthorizations",
  summary: "The requests to authorize an application that organizations' admins made to the signed-in user.",
  scope: "user:admin",
});
authorizationRoutes.get("/user/assignedauthorization", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const found = await listAssignments(c.var.db, user);
  return c.json({ authorizations: await Promise.all(found.map(assignmentView)) });
});

documented("DELETE", "/user/assignedauthorization/:assigned_authorization_uuid", {
  operationId: "deleteAssignedAuthorization",
  summary: "Declines a request to authorize an application.",
  scope: "user:admin",
  status: 204,
});
authorizationRoutes.delete("/user/assignedauthorization/:assigned_authorization_uuid", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const found = await findAssignment(c.var.db, user, c.req.param("assigned_authorization_uuid"));
  await deleteAssignment(c.var.db, user, found, requestEvents(c));
  return c.body(null, 204);
});
