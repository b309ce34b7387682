/**
 * The signed-in user's in-app notifications (Quay `endpoints/api/user.py`, internal):
 * `GET /api/v1/user/notifications` (`page` from 0, `limit` default 5: `{"notifications", "additional"}`),
 * `GET|PUT /api/v1/user/notifications/{uuid}` (PUT `{"dismissed": bool}`). Quay's
 * `require_user_admin`: the user's own, with user:admin.
 */
import { Hono } from "hono";
import { z } from "zod";
import { callerWith } from "../../middleware/api-caller";
import {
  dismissUserNotification,
  findUserNotification,
  listUserNotifications,
  userNotificationView,
} from "../../notifications/user-notifications";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { jsonBody, parseOrInvalid } from "./validate";

export const userNotificationRoutes = new Hono<AppEnv>();

const LIST = "/user/notifications";
const ONE = `${LIST}/:uuid`;

const listQuery = z.object({
  page: z.coerce.number().int().min(0).max(10_000).default(0),
  limit: z.coerce.number().int().min(1).max(100).default(5),
});

/** Quay's `UpdateNotification`; a missing `dismissed` is false, as Quay reads it. */
const updateBody = z.object({ dismissed: z.boolean().optional() });

documented("GET", LIST, {
  operationId: "listUserNotifications",
  summary: "List the signed-in user's notifications (not dismissed), newest first.",
  scope: "user:admin",
  query: listQuery,
});
userNotificationRoutes.get(LIST, async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const { page, limit } = parseOrInvalid(listQuery, c.req.query());
  return c.json(await listUserNotifications(c.var.db, user, page, limit));
});

documented("GET", ONE, {
  operationId: "getUserNotification",
  summary: "Get one of the signed-in user's notifications.",
  scope: "user:admin",
});
userNotificationRoutes.get(ONE, async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  return c.json(userNotificationView(await findUserNotification(c.var.db, user, c.req.param("uuid"))));
});

documented("PUT", ONE, {
  operationId: "updateUserNotification",
  summary: "Dismiss (or restore) one of the signed-in user's notifications.",
  scope: "user:admin",
  body: updateBody,
});
userNotificationRoutes.put(ONE, async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const { dismissed } = await jsonBody(c, updateBody);
  return c.json(await dismissUserNotification(c.var.db, user, c.req.param("uuid"), dismissed ?? false));
});
