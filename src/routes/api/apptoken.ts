/** /api/v1/user/apptoken: application-specific tokens (Quay `endpoints/api/appspecifictokens.py`). */
import { Hono } from "hono";
import { documented } from "./openapi";
import { z } from "zod";
import { callerWith, requireFreshLogin, requireScope } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { notFound } from "../../errors/domain";
import { jsonBody } from "./validate";
import type { AppEnv } from "../app-env";
import {
  appTokenCode,
  appTokenView,
  createAppToken,
  findAppToken,
  listAppTokens,
  revokeAppToken,
} from "../../identity/app-tokens";

export const appTokenRoutes = new Hono<AppEnv>();

appTokenRoutes.use("/user/apptoken/*", requireScope("user:admin"));
appTokenRoutes.use("/user/apptoken", requireScope("user:admin"));

documented("GET", "/user/apptoken", {
  operationId: "listAppTokens",
  summary: "The signed-in user's application tokens.",
  scope: "user:admin",
});
appTokenRoutes.get("/user/apptoken", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const tokens = await listAppTokens(c.var.db, user);
  return c.json({ tokens: tokens.map((token) => appTokenView(token)), only_expiring: null });
});

const createBody = z.object({ title: z.string().trim().min(1, "title is required").max(255) });

documented("POST", "/user/apptoken", {
  operationId: "createAppToken",
  summary: "Creates an application token.",
  scope: "user:admin",
  body: createBody,
});
// Quay marks it `@require_fresh_login`: a browser session must have proven its password lately.
appTokenRoutes.post("/user/apptoken", requireFreshLogin(), async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const { title } = await jsonBody(c, createBody);
  const { token, code } = await createAppToken(c.var.db, c.env, user, title, requestEvents(c));
  return c.json({ token: appTokenView(token, code) });
});

documented("GET", "/user/apptoken/:uuid", {
  operationId: "getAppToken",
  summary: "One application token, with its code.",
  scope: "user:admin",
});
appTokenRoutes.get("/user/apptoken/:uuid", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const token = await findAppToken(c.var.db, user, c.req.param("uuid"));
  if (!token) throw notFound();
  return c.json({ token: appTokenView(token, await appTokenCode(c.env, token)) });
});

documented("DELETE", "/user/apptoken/:uuid", {
  operationId: "revokeAppToken",
  summary: "Revokes an application token.",
  scope: "user:admin",
  status: 204,
});
appTokenRoutes.delete("/user/apptoken/:uuid", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const token = await findAppToken(c.var.db, user, c.req.param("uuid"));
  if (!token) throw notFound();
  await revokeAppToken(c.var.db, user, token, requestEvents(c));
  return c.body(null, 204);
});
