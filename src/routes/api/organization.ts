/**
 * /api/v1/organization (Quay `endpoints/api/organization.py`): creating one, reading it (anyone:
 * the public part; members: its teams; admins: its email and settings), changing its settings, and
 * listing its members and outside collaborators (admins only, org:admin). Teams are in ./teams.ts.
 */
import { Hono } from "hono";
import { z } from "zod";
import { callerWith, requireScope } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { documented } from "./openapi";
import { notFound } from "../../errors/domain";
import { jsonBody } from "./validate";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { administeredOrganization, viewerOf } from "./organization-access";
import { deleteNamespace } from "../../identity/namespace-deletion";
import { organizationCollaborators, organizationMembers } from "../../identity/organization-members";
import { createOrganization, findOrganization, updateOrganization } from "../../identity/organizations";
import { organizationView } from "../../identity/organization-views";
import { namespaceWithCoreUsage } from "../../quota/quota-views";
import { emailSchema, usernameSchema } from "../../identity/users";

export const organizationRoutes = new Hono<AppEnv>();

const createBody = z.object({ name: usernameSchema, email: emailSchema.optional() });

documented("POST", "/organization", {
  operationId: "createOrganization",
  summary: "Creates an organization owned by the caller.",
  scope: "user:admin",
  body: createBody,
  status: 201,
});
/** Quay answers 201 with the JSON string "Created"; the creator owns the new organization. */
organizationRoutes.post("/organization", requireScope("user:admin"), async (c) => {
  const creator = callerWith(c.var.caller, "user:admin");
  const body = await jsonBody(c, createBody);
  await createOrganization(c.var.db, creator, { name: body.name, email: body.email ?? null }, requestEvents(c));
  return c.json("Created", 201);
});

documented("GET", "/organization/:orgname", {
  operationId: "getOrganization",
  summary: "One organization (teams for members, settings for admins).",
  scope: null,
});
/** Quay's `getOrganization` asks for no scope: anyone, anonymous included, sees the public part. */
organizationRoutes.get("/organization/:orgname", async (c) => {
  const org = await findOrganization(c.var.db, c.req.param("orgname"));
  if (!org) throw notFound();
  const config = readConfig(c.env);
  // Its usage from its core's database (a shard's shadow when the core is there).
  return c.json(
    await organizationView(c.var.db, await namespaceWithCoreUsage(c.env, org, config), viewerOf(c), config),
  );
});

/** Quay's UpdateOrg: every field optional; `tag_expiration_s` an integer ≥ 0, then one of the options. */
const updateBody = z.object({
  email: emailSchema.optional(),
  invoice_email: z.boolean().optional(),
  invoice_email_address: emailSchema.nullable().optional(),
  tag_expiration_s: z.number().int().min(0).optional(),
});

documented("PUT", "/organization/:orgname", {
  operationId: "changeOrganizationDetails",
  summary: "Changes the organization's email, invoicing and time machine settings.",
  scope: "org:admin",
  body: updateBody,
});
organizationRoutes.put("/organization/:orgname", async (c) => {
  const { caller, org } = await administeredOrganization(c);
  const body = await jsonBody(c, updateBody);
  const updated = await updateOrganization(
    c.var.db,
    org,
    {
      email: body.email,
      invoiceEmail: body.invoice_email,
      invoiceEmailAddress: body.invoice_email_address,
      tagExpirationS: body.tag_expiration_s,
    },
    readConfig(c.env).TAG_EXPIRATION_OPTIONS,
    requestEvents(c),
  );
  const config = readConfig(c.env);
  const withUsage = await namespaceWithCoreUsage(c.env, updated, config);
  return c.json(await organizationView(c.var.db, withUsage, { user: caller, scopes: ["org:admin"] }, config));
});

/**
 * Quay deletes an organization asynchronously: it is hidden at once (404 from then on) and its
 * repositories, robots, teams and applications are purged in the background.
 */
documented("DELETE", "/organization/:orgname", {
  operationId: "deleteAdminedOrganization",
  summary: "Deletes the organization and everything in it.",
  scope: "org:admin",
  status: 204,
});
organizationRoutes.delete("/organization/:orgname", async (c) => {
  const { org } = await administeredOrganization(c);
  await deleteNamespace(c.var.db, c.env, org, requestEvents(c));
  return c.body(null, 204);
});

documented("GET", "/organization/:orgname/members", {
  operationId: "getOrganizationMembers",
  summary: "The people in the organization's teams.",
  scope: "org:admin",
});
organizationRoutes.get("/organization/:orgname/members", async (c) => {
  const { org } = await administeredOrganization(c);
  return c.json(await organizationMembers(c.var.db, org));
});

documented("GET", "/organization/:orgname/collaborators", {
  operationId: "getOrganizationCollaborators",
  summary: "People with direct repository permissions and no team.",
  scope: "org:admin",
});
organizationRoutes.get("/organization/:orgname/collaborators", async (c) => {
  const { org } = await administeredOrganization(c);
  return c.json(await organizationCollaborators(c.var.db, org));
});
