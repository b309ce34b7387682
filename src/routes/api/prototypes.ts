/**
 * An organization's default permissions (Quay `endpoints/api/prototype.py`):
 * `GET|POST /api/v1/organization/{orgname}/prototypes` list and create,
 * `PUT|DELETE …/prototypes/{prototypeid}` change the role and delete. Only the organization's
 * admins, with an org:admin token; anyone else gets 403 whether or not the organization exists
 * (Quay's `AdministerOrganizationPermission` comes first). As in Quay, creating answers 200.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { notFound } from "../../errors/domain";
import { requestEvents } from "../../middleware/event-scope";
import { documented } from "./openapi";
import { jsonBody } from "./validate";
import type { User } from "../../db/schema";
import type { AppEnv } from "../app-env";
import { administeredOrganization } from "./organization-access";
import {
  createPrototype,
  deletePrototype,
  findPrototype,
  listPrototypes,
  prototypeViews,
  resolvePrototypeInput,
  setPrototypeRole,
  type Prototype,
} from "../../identity/prototypes";
import { ROLES } from "../../identity/repository-permissions";

export const prototypeRoutes = new Hono<AppEnv>();

const BASE = "/organization/:orgname/prototypes";

async function prototypeOf(c: Context<AppEnv>, org: User): Promise<Prototype> {
  const found = await findPrototype(c.var.db, org, c.req.param("prototypeid")!);
  if (!found) throw notFound();
  return found;
}

async function view(c: Context<AppEnv>, org: User, prototype: Prototype) {
  return (await prototypeViews(c.var.db, org, [prototype]))[0]!;
}

documented("GET", BASE, {
  operationId: "getOrganizationPrototypePermissions",
  summary: "List the existing prototypes for this organization.",
  scope: "org:admin",
});
prototypeRoutes.get(BASE, async (c) => {
  const org = (await administeredOrganization(c)).org;
  return c.json({ prototypes: await prototypeViews(c.var.db, org, await listPrototypes(c.var.db, org)) });
});

/** Quay's `NewPrototype`: role and delegate required, activating_user optional (null: anyone). */
const createBody = z.object({
  role: z.enum(ROLES),
  delegate: z.object({ name: z.string().min(1).max(255), kind: z.enum(["user", "team"]) }),
  activating_user: z
    .object({ name: z.string().min(1).max(255) })
    .nullable()
    .optional(),
});

documented("POST", BASE, {
  operationId: "createOrganizationPrototypePermission",
  summary: "Create a new permission prototype.",
  scope: "org:admin",
  body: createBody,
});
prototypeRoutes.post(BASE, async (c) => {
  const org = (await administeredOrganization(c)).org;
  const body = await jsonBody(c, createBody);
  const input = await resolvePrototypeInput(c.var.db, org, {
    role: body.role,
    delegate: body.delegate,
    activatingUser: body.activating_user?.name ?? null,
  });
  return c.json(await view(c, org, await createPrototype(c.var.db, org, input, requestEvents(c))));
});

const updateBody = z.object({ role: z.enum(ROLES) });

documented("PUT", `${BASE}/:prototypeid`, {
  operationId: "updateOrganizationPrototypePermission",
  summary: "Update the role of an existing permission prototype.",
  scope: "org:admin",
  body: updateBody,
});
prototypeRoutes.put(`${BASE}/:prototypeid`, async (c) => {
  const org = (await administeredOrganization(c)).org;
  const found = await prototypeOf(c, org);
  const { role } = await jsonBody(c, updateBody);
  return c.json(await view(c, org, await setPrototypeRole(c.var.db, org, found, role, requestEvents(c))));
});

documented("DELETE", `${BASE}/:prototypeid`, {
  operationId: "deleteOrganizationPrototypePermission",
  summary: "Delete an existing permission prototype.",
  scope: "org:admin",
  status: 204,
});
prototypeRoutes.delete(`${BASE}/:prototypeid`, async (c) => {
  const org = (await administeredOrganization(c)).org;
  await deletePrototype(c.var.db, org, await prototypeOf(c, org), requestEvents(c));
  return c.body(null, 204);
});
