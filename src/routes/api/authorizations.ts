/**
 * /api/v1/user/authorizations: the OAuth grants the signed-in user gave applications (Quay
 * `endpoints/api/user.py` `UserAuthorizationList`, `UserAuthorization`), administered as Quay's
 * `@require_user_admin` does: with the user:admin scope.
 */
import { Hono } from "hono";
import { callerWith, requireScope } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import type { AppEnv } from "../app-env";
import {
  authorizationView,
  findAuthorization,
  listAuthorizations,
  revokeAuthorization,
} from "../../identity/oauth-authorizations";
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
