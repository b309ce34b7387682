/**
 * Namespace notifications (Quay `endpoints/api/namespacenotification.py`), an organization's under
 * `/api/v1/organization/{orgname}/notifications` and the signed-in user's under
 * `/api/v1/user/namespacenotifications`: list and create, get, delete, reset failures
 * (`POST …/{uuid}`) and test (`POST …/{uuid}/test`, Quay's sample data queued). Quay's answers:
 * 201 with the notification, `{"notifications": […]}`, 204 for delete and reset, `{}` for test; a
 * notification that is not the namespace's is 404 everywhere.
 *
 * Access as Quay: an organization's need org:admin and an admin of it (anyone else 403, whether or
 * not it exists); the user's own need user:admin. Quay also lets superusers read (global read-only
 * superusers) and write (SUPERUSERS_FULL_ACCESS) an organization's; Wharf has neither setting, so
 * superusers hold no access here, as for the organization's other settings. With
 * FEATURE_QUOTA_NOTIFICATIONS off (the default, as Quay) every route answers 404, to everyone, as
 * Quay then registers none of them (`@show_if`).
 */
import { type Context, Hono } from "hono";
import { readConfig } from "../../config";
import type { User } from "../../db/schema";
import { notFound } from "../../errors/domain";
import { callerWith } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import {
  createNamespaceNotification,
  deleteNamespaceNotification,
  listNamespaceNotifications,
  requireNamespaceNotification,
  resetNamespaceNotification,
} from "../../notifications/namespace-notifications";
import { queueNamespaceTestDelivery } from "../../notifications/namespace-spawn";
import { notificationView } from "../../notifications/stored-notifications";
import type { AppEnv } from "../app-env";
import { notificationCreateBody } from "./notification-body";
import { documented } from "./openapi";
import { administeredOrganization } from "./organization-access";
import { jsonBody } from "./validate";

export const namespaceNotificationRoutes = new Hono<AppEnv>();

/** The namespace the path names, once the feature is on and the caller administers it. */
type NamespaceOf = (c: Context<AppEnv>) => Promise<User>;

const gated =
  (namespaceOf: NamespaceOf): NamespaceOf =>
  async (c) => {
    if (!readConfig(c.env).FEATURE_QUOTA_NOTIFICATIONS) throw notFound();
    return namespaceOf(c);
  };

const organization = gated(async (c) => (await administeredOrganization(c)).org);
const ownNamespace = gated(async (c) => callerWith(c.var.caller, "user:admin"));

/** Serves the six operations on the notifications of `base`'s namespace. */
function mount(base: string, namespaceOf: NamespaceOf) {
  const one = `${base}/:uuid`;
  namespaceNotificationRoutes.get(base, async (c) => {
    const namespace = await namespaceOf(c);
    const found = await listNamespaceNotifications(c.var.db, c.env, namespace);
    return c.json({ notifications: found.map(notificationView) });
  });
  namespaceNotificationRoutes.post(base, async (c) => {
    const namespace = await namespaceOf(c);
    const body = await jsonBody(c, notificationCreateBody);
    const created = await createNamespaceNotification(
      c.var.db,
      c.env,
      readConfig(c.env),
      namespace,
      body,
      c.var.publicOrigin.origin,
      requestEvents(c),
    );
    return c.json(notificationView(created), 201);
  });
  namespaceNotificationRoutes.get(one, async (c) => {
    const namespace = await namespaceOf(c);
    const found = await requireNamespaceNotification(c.var.db, c.env, namespace, c.req.param("uuid")!);
    return c.json(notificationView(found));
  });
  namespaceNotificationRoutes.delete(one, async (c) => {
    const namespace = await namespaceOf(c);
    await deleteNamespaceNotification(c.var.db, namespace, c.req.param("uuid")!, requestEvents(c));
    return c.body(null, 204);
  });
  namespaceNotificationRoutes.post(one, async (c) => {
    const namespace = await namespaceOf(c);
    await resetNamespaceNotification(c.var.db, namespace, c.req.param("uuid")!, requestEvents(c));
    return c.body(null, 204);
  });
  namespaceNotificationRoutes.post(`${one}/test`, async (c) => {
    const namespace = await namespaceOf(c);
    const found = await requireNamespaceNotification(c.var.db, c.env, namespace, c.req.param("uuid")!);
    await queueNamespaceTestDelivery(c.env, found, namespace.username);
    return c.json({});
  });
}

const ORGANIZATION = "/organization/:orgname/notifications";
const USER = "/user/namespacenotifications";

mount(ORGANIZATION, organization);
mount(USER, ownNamespace);

/** Quay's nicknames and summaries of the six operations under each path. */
function describe(base: string, kind: "Org" | "User", scope: "org:admin" | "user:admin") {
  const one = `${base}/:uuid`;
  const names =
    kind === "Org"
      ? ["listOrgNotifications", "createOrgNotification", "getOrgNotification", "deleteOrgNotification"]
      : [
          "listUserNamespaceNotifications",
          "createUserNamespaceNotification",
          "getUserNamespaceNotification",
          "deleteUserNamespaceNotification",
        ];
  const whose = kind === "Org" ? "the organization" : "the signed-in user's namespace";
  documented("GET", base, { operationId: names[0]!, summary: `List the notifications of ${whose}.`, scope });
  documented("POST", base, {
    operationId: names[1]!,
    summary: `Create a notification on ${whose}'s quota events (quota_warning, quota_error).`,
    scope,
    body: notificationCreateBody,
    status: 201,
  });
  documented("GET", one, { operationId: names[2]!, summary: "Get the specified namespace notification.", scope });
  documented("DELETE", one, {
    operationId: names[3]!,
    summary: "Delete the specified namespace notification.",
    scope,
    status: 204,
  });
  documented("POST", one, {
    operationId: kind === "Org" ? "resetOrgNotificationFailures" : "resetUserNamespaceNotificationFailures",
    summary: "Reset the namespace notification to 0 failures, enabling it again.",
    scope,
    status: 204,
  });
  documented("POST", `${one}/test`, {
    operationId: kind === "Org" ? "testOrgNotification" : "testUserNamespaceNotification",
    summary: "Queue a delivery of the event's sample data to the namespace notification.",
    scope,
  });
}

describe(ORGANIZATION, "Org", "org:admin");
describe(USER, "User", "user:admin");
