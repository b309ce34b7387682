/**
 * /api/v1/organization/{orgname}/applications: an organization's OAuth applications (Quay
 * `endpoints/api/organization.py`, OrganizationApplications and friends). Every endpoint needs the
 * org:admin scope and an admin of the organization, as Quay's AdministerOrganizationPermission.
 */
import { Hono, type Context } from "hono";
import { documented } from "./openapi";
import { z } from "zod";
import { requireScope } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { notFound } from "../../errors/domain";
import { jsonBody } from "./validate";
import type { AppEnv } from "../app-env";
import { administeredOrganization } from "./organization-access";
import {
  appView,
  createApplication,
  deleteApplication,
  findApplication,
  listApplications,
  resetClientSecret,
  updateApplication,
  type ApplicationFields,
} from "../../identity/oauth-applications";

export const applicationRoutes = new Hono<AppEnv>();

applicationRoutes.use("/organization/:orgname/applications", requireScope("org:admin"));
applicationRoutes.use("/organization/:orgname/applications/*", requireScope("org:admin"));

/** Quay's columns hold 255 characters; the description is a text column, bounded here anyway. */
const uri = z.string().max(255);
/** Quay takes any string; Wharf wants an email, and reads "" or null (an emptied form field) as none. */
const avatarEmail = z.union([z.email("Invalid email address").max(255), z.literal(""), z.null()]).optional();
const common = {
  name: z.string().min(1, "name is required").max(255),
  description: z.string().max(4096).optional(),
  avatar_email: avatarEmail,
};
/** Quay's NewApp: only the name is required. */
const newApp = z.object({ ...common, redirect_uri: uri.optional(), application_uri: uri.optional() });
/** Quay's UpdateApp: name, redirect_uri and application_uri are required. */
const updateApp = z.object({ ...common, redirect_uri: uri, application_uri: uri });

/** Absent optional fields take Quay's defaults (`""`, and None for the avatar email). */
function fieldsOf(body: z.infer<typeof newApp>): ApplicationFields {
  return {
    name: body.name,
    description: body.description ?? "",
    applicationUri: body.application_uri ?? "",
    redirectUri: body.redirect_uri ?? "",
    avatarEmail: body.avatar_email || null,
  };
}

/** The application of an administered organization; another organization's client id is 404. */
export async function administeredApp(c: Context<AppEnv>) {
  const { org } = await administeredOrganization(c);
  const app = await findApplication(c.var.db, org, c.req.param("client_id")!);
  if (!app) throw notFound();
  return { org, app };
}

/** An application a write just changed; gone meanwhile (a concurrent delete) is 404. */
function changed<T>(app: T | undefined): T {
  if (!app) throw notFound();
  return app;
}

documented("GET", "/organization/:orgname/applications", {
  operationId: "getOrganizationApplications",
  summary: "The organization's OAuth applications.",
  scope: "org:admin",
});
applicationRoutes.get("/organization/:orgname/applications", async (c) => {
  const apps = await listApplications(c.var.db, (await administeredOrganization(c)).org);
  return c.json({ applications: await Promise.all(apps.map((app) => appView(c.env, app))) });
});

documented("POST", "/organization/:orgname/applications", {
  operationId: "createOrganizationApplication",
  summary: "Registers an OAuth application.",
  scope: "org:admin",
  body: newApp,
});
/** Quay answers 200 with the new application's view, secret included. */
applicationRoutes.post("/organization/:orgname/applications", async (c) => {
  const org = (await administeredOrganization(c)).org;
  const body = await jsonBody(c, newApp);
  return c.json(await appView(c.env, await createApplication(c.var.db, c.env, org, fieldsOf(body), requestEvents(c))));
});

documented("GET", "/organization/:orgname/applications/:client_id", {
  operationId: "getOrganizationApplication",
  summary: "One OAuth application, with its client secret.",
  scope: "org:admin",
});
applicationRoutes.get("/organization/:orgname/applications/:client_id", async (c) => {
  return c.json(await appView(c.env, (await administeredApp(c)).app));
});

documented("PUT", "/organization/:orgname/applications/:client_id", {
  operationId: "updateOrganizationApplication",
  summary: "Updates an OAuth application.",
  scope: "org:admin",
  body: updateApp,
});
applicationRoutes.put("/organization/:orgname/applications/:client_id", async (c) => {
  const { org, app } = await administeredApp(c);
  const body = await jsonBody(c, updateApp);
  const updated = await updateApplication(c.var.db, org, app, fieldsOf(body), requestEvents(c));
  return c.json(await appView(c.env, changed(updated)));
});

documented("DELETE", "/organization/:orgname/applications/:client_id", {
  operationId: "deleteOrganizationApplication",
  summary: "Deletes an OAuth application and its tokens.",
  scope: "org:admin",
  status: 204,
});
/** Revokes every token the application minted, as Quay's recursive delete does. */
applicationRoutes.delete("/organization/:orgname/applications/:client_id", async (c) => {
  const { org, app } = await administeredApp(c);
  await deleteApplication(c.var.db, org, app, requestEvents(c));
  return c.body(null, 204);
});

documented("POST", "/organization/:orgname/applications/:client_id/resetclientsecret", {
  operationId: "resetOrganizationApplicationClientSecret",
  summary: "Gives an OAuth application a new client secret.",
  scope: "org:admin",
});
applicationRoutes.post("/organization/:orgname/applications/:client_id/resetclientsecret", async (c) => {
  const { org, app } = await administeredApp(c);
  const reset = await resetClientSecret(c.var.db, c.env, org, app, requestEvents(c));
  return c.json(await appView(c.env, changed(reset)));
});
