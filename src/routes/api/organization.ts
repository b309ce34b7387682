/** /api/v1/organization: creating one and reading it (Quay `endpoints/api/organization.py`). */
import { Hono } from "hono";
import { z } from "zod";
import { callerWith, requireScope } from "../../api/caller";
import { notFound } from "../../api/errors";
import { jsonBody } from "../../api/validate";
import { readConfig } from "../../config";
import type { AppEnv } from "../../env";
import { createOrganization, findOrganization, organizationView } from "../../identity/organizations";
import { emailSchema, usernameSchema } from "../../identity/users";

export const organizationRoutes = new Hono<AppEnv>();

const createBody = z.object({ name: usernameSchema, email: emailSchema.optional() });

/** Quay answers 201 with the JSON string "Created"; the creator owns the new organization. */
organizationRoutes.post("/organization", requireScope("user:admin"), async (c) => {
  const creator = callerWith(c.var.caller, "user:admin");
  const body = await jsonBody(c, createBody);
  await createOrganization(c.var.db, creator, { name: body.name, email: body.email ?? null });
  return c.json("Created", 201);
});

organizationRoutes.get("/organization/:orgname", requireScope("user:read"), async (c) => {
  const viewer = callerWith(c.var.caller, "user:read");
  const org = await findOrganization(c.var.db, c.req.param("orgname"));
  if (!org) throw notFound();
  return c.json(await organizationView(c.var.db, readConfig(c.env), org, viewer));
});
