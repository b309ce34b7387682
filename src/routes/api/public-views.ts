/**
 * What anyone, anonymous included, may look up by name (Quay asks no scope for either):
 * `GET /api/v1/users/{username}` (Quay `endpoints/api/user.py` `getUserInformation`) and
 * `GET /api/v1/app/{client_id}` (Quay `endpoints/api/organization.py` `getApplicationInformation`,
 * the page a user sees before authorizing an application).
 */
import { Hono } from "hono";
import { documented } from "./openapi";
import { notFound } from "../../errors/domain";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { viewerOf } from "./organization-access";
import { applicationInformation, userInformationView } from "../../identity/public-views";
import { findUser } from "../../identity/users";

export const publicViewRoutes = new Hono<AppEnv>();

documented("GET", "/users/:username", {
  operationId: "getUserInformation",
  summary: "A user's public view (more for the user themselves).",
  scope: null,
});
/** Quay's `get_nonrobot_user`: robots and organizations are 404, as are users being deleted. */
publicViewRoutes.get("/users/:username", async (c) => {
  const user = await findUser(c.var.db, c.req.param("username"));
  if (user?.kind !== "user" || user.deletingSince !== null) throw notFound();
  return c.json(await userInformationView(c.var.db, readConfig(c.env), user, viewerOf(c)));
});

documented("GET", "/app/:client_id", {
  operationId: "getApplicationInformation",
  summary: "An OAuth application's public view: name, description, homepage, organization.",
  scope: null,
});
publicViewRoutes.get("/app/:client_id", async (c) => {
  return c.json(await applicationInformation(c.var.db, c.req.param("client_id"), viewerOf(c)));
});
