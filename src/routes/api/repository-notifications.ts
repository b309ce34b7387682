/**
 * Repository notifications (Quay `endpoints/api/repositorynotification.py`) under
 * `/api/v1/repository/{repository}/notification/`: list and create, get, delete, reset failures
 * (`POST …/{uuid}`) and test (`POST …/{uuid}/test`, a sample payload queued). Quay's rule for all
 * of them: repo:admin and the admin role, 403 otherwise, existing or not (src/routes/api/
 * repository-access.ts). Quay's answers: 201 with the notification, `{"notifications": […]}`, 204
 * for delete and reset, `{}` for test; a missing notification is 404 on GET and Quay's 400
 * "No repository notification found for: …" elsewhere.
 */
import { Hono } from "hono";
import { readConfig } from "../../config";
import { requestEvents } from "../../middleware/event-scope";
import {
  createNotification,
  deleteNotification,
  findNotification,
  listNotifications,
  missingNotification,
  requireNotification,
  resetNotification,
} from "../../notifications/repository-notifications";
import { queueTestDelivery } from "../../notifications/spawn";
import { notificationView } from "../../notifications/stored-notifications";
import type { AppEnv } from "../app-env";
import { notificationCreateBody } from "./notification-body";
import { documented } from "./openapi";
import { changeableRepository } from "./repository-access";
import { jsonBody } from "./validate";

export const repositoryNotificationRoutes = new Hono<AppEnv>();

const LIST = "/repository/:repository{.+}/notification";
const ONE = `${LIST}/:uuid`;
const TEST = `${ONE}/test`;

/** The path's repository, for its admins (Quay's require_repo_admin). */
const administered = (c: Parameters<typeof changeableRepository>[0]) => changeableRepository(c, "repo:admin", "admin");

documented("GET", LIST, {
  operationId: "listRepoNotifications",
  summary: "List the notifications for the specified repository.",
  scope: "repo:admin",
});
repositoryNotificationRoutes.get(LIST, async (c) => {
  const repository = await administered(c);
  const notifications = await listNotifications(c.var.db, c.env, repository);
  return c.json({ notifications: notifications.map(notificationView) });
});

documented("POST", LIST, {
  operationId: "createRepoNotification",
  summary: "Create a notification on the repository.",
  scope: "repo:admin",
  body: notificationCreateBody,
  status: 201,
});
repositoryNotificationRoutes.post(LIST, async (c) => {
  const repository = await administered(c);
  const body = await jsonBody(c, notificationCreateBody);
  const created = await createNotification(
    c.var.db,
    c.env,
    readConfig(c.env),
    repository,
    body,
    c.var.publicOrigin.origin,
    requestEvents(c),
  );
  return c.json(notificationView(created), 201);
});

documented("GET", ONE, {
  operationId: "getRepoNotification",
  summary: "Get information for the specified notification.",
  scope: "repo:admin",
});
repositoryNotificationRoutes.get(ONE, async (c) => {
  const repository = await administered(c);
  return c.json(notificationView(await requireNotification(c.var.db, c.env, repository, c.req.param("uuid"))));
});

documented("DELETE", ONE, {
  operationId: "deleteRepoNotification",
  summary: "Deletes the specified notification.",
  scope: "repo:admin",
  status: 204,
});
repositoryNotificationRoutes.delete(ONE, async (c) => {
  const repository = await administered(c);
  await deleteNotification(c.var.db, repository, c.req.param("uuid"), requestEvents(c));
  return c.body(null, 204);
});

documented("POST", ONE, {
  operationId: "resetRepositoryNotificationFailures",
  summary: "Resets repository notification to 0 failures.",
  scope: "repo:admin",
  status: 204,
});
repositoryNotificationRoutes.post(ONE, async (c) => {
  const repository = await administered(c);
  await resetNotification(c.var.db, repository, c.req.param("uuid"), requestEvents(c));
  return c.body(null, 204);
});

documented("POST", TEST, {
  operationId: "testRepoNotification",
  summary: "Queues a test notification for this repository.",
  scope: "repo:admin",
});
repositoryNotificationRoutes.post(TEST, async (c) => {
  const repository = await administered(c);
  const uuid = c.req.param("uuid");
  const found = await findNotification(c.var.db, c.env, repository, uuid);
  if (!found) throw missingNotification(repository, uuid);
  await queueTestDelivery(c.env, found, repository.name);
  return c.json({});
});
