/**
 * Robot accounts of the signed-in user (`/api/v1/user/robots`, scope user:admin) and of an
 * organization (`/api/v1/organization/{orgname}/robots`, scope org:admin), as Quay's
 * `endpoints/api/robot.py`: PUT creates (201), GET lists or reads one, POST …/regenerate replaces
 * the token, DELETE removes (204). Organization robots are managed by the organization's admins;
 * its other members may list them, without tokens.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { callerWith } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { ApiError } from "./errors";
import { jsonBody, parseOrInvalid } from "./validate";
import { readConfig } from "../../config";
import type { User } from "../../db/schema";
import { documented } from "./openapi";
import type { AppEnv } from "../app-env";
import { organizationStanding } from "./organization-access";
import { robotPermissionsView } from "../../identity/repository-permissions";
import { clearFederation, federationSchema, listFederation, setFederation } from "../../identity/robot-federation";
import type { Scope } from "../../identity/scopes";
import {
  createRobot,
  deleteRobot,
  findRobot,
  listRobots,
  regenerateRobotToken,
  robotNotFound,
  robotShortnameSchema,
  robotView,
  ROBOTS_DISABLED_MESSAGE,
  type Robot,
} from "../../identity/robots";

export const robotRoutes = new Hono<AppEnv>();

/** Whose robots a request manages, and whether the caller administers them. */
interface RobotOwner {
  namespace: User;
  isAdmin: boolean;
}

type Resolve = (c: Context<AppEnv>) => Promise<RobotOwner>;

const asUser: Resolve = async (c) => ({ namespace: callerWith(c.var.caller, "user:admin"), isAdmin: true });

/** Quay: organization robots need org:admin; listing them needs membership, the rest admin. */
const asOrganization: Resolve = async (c) => {
  const { org, isAdmin } = await organizationStanding(c);
  return { namespace: org, isAdmin };
};

const adminOnly = (owner: RobotOwner) => {
  if (!owner.isAdmin) throw new ApiError("insufficient_scope");
  return owner.namespace;
};

const truthy = z
  .enum(["true", "false", "True", "False", "1", "0"])
  .transform((v) => v === "true" || v === "True" || v === "1")
  .optional();
const listQuery = z.object({
  token: truthy,
  permissions: truthy,
  limit: z.coerce.number().int().positive().max(1000).optional(),
});

const createBody = z
  .object({
    description: z.string().max(255).optional(),
    unstructured_metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .strict();

async function robotFrom(c: Context<AppEnv>, namespace: User): Promise<Robot> {
  const shortname = c.req.param("shortname")!;
  const robot = robotShortnameSchema.safeParse(shortname).success
    ? await findRobot(c.var.db, namespace, shortname)
    : undefined;
  if (!robot) throw robotNotFound();
  return robot;
}

/** The list's `permissions=true` fields: team objects and repository names. */
async function permissionsSummary(c: Context<AppEnv>, robot: Robot) {
  const { teams, repositories } = await robotPermissionsView(c.var.db, robot);
  return { teams, repositories: repositories.map((r) => r.name) };
}

/** Quay's operation ids: `getUserRobots`, `getOrgRobots`, … */
function describe(base: string, kind: "User" | "Org", scope: Scope) {
  const op = (
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    operationId: string,
    summary: string,
    extra: { body?: z.ZodType; query?: z.ZodObject; status?: 201 | 204 } = {},
  ) => documented(method, `${base}${path}`, { operationId, summary, scope, ...extra });
  op("GET", "", `get${kind}Robots`, "Lists the robot accounts.", { query: listQuery });
  op("GET", "/:shortname", `get${kind}Robot`, "One robot account, with its token.");
  op("PUT", "/:shortname", `create${kind}Robot`, "Creates a robot account.", { body: createBody, status: 201 });
  op("POST", "/:shortname/regenerate", `regenerate${kind}RobotToken`, "Gives a robot account a new token.");
  op("GET", "/:shortname/permissions", `get${kind}RobotPermissions`, "The robot's repository permissions.");
  op(
    "GET",
    "/:shortname/federation",
    `get${kind}RobotFederation`,
    "The external identities that may act as the robot.",
  );
  op(
    "POST",
    "/:shortname/federation",
    `create${kind}RobotFederation`,
    "Sets the external identities that may act as the robot.",
    { body: federationSchema },
  );
  op("DELETE", "/:shortname/federation", `delete${kind}RobotFederation`, "Removes the robot's federation.", {
    status: 204,
  });
  op("DELETE", "/:shortname", `delete${kind}Robot`, "Deletes a robot account.", { status: 204 });
}

function mount(base: string, resolve: Resolve) {
  robotRoutes.get(base, async (c) => {
    const owner = await resolve(c);
    const query = parseOrInvalid(listQuery, c.req.query());
    // Tokens and permissions only for admins (Quay: `AdministerOrganizationPermission(...).can()`).
    const includeToken = owner.isAdmin && (query.token ?? true);
    const includePermissions = owner.isAdmin && (query.permissions ?? false);
    const robots = await listRobots(c.var.db, owner.namespace, query.limit);
    const views = await Promise.all(
      robots.map(async (robot) => ({
        ...(await robotView(c.env, robot, { includeToken, includeMetadata: false })),
        ...(includePermissions ? await permissionsSummary(c, robot) : {}),
      })),
    );
    return c.json({ robots: views });
  });

  robotRoutes.get(`${base}/:shortname`, async (c) => {
    const namespace = adminOnly(await resolve(c));
    return c.json(await robotView(c.env, await robotFrom(c, namespace), { includeToken: true, includeMetadata: true }));
  });

  robotRoutes.put(`${base}/:shortname`, async (c) => {
    const namespace = adminOnly(await resolve(c));
    if (readConfig(c.env).ROBOTS_DISALLOW)
      throw new ApiError("invalid_request", `Cannot create robot account. ${ROBOTS_DISABLED_MESSAGE}`);
    const shortname = parseOrInvalid(robotShortnameSchema, c.req.param("shortname"));
    const body = await jsonBody(c, createBody);
    const robot = await createRobot(
      c.var.db,
      c.env,
      namespace,
      shortname,
      { description: body.description, unstructuredMetadata: body.unstructured_metadata ?? null },
      requestEvents(c),
    );
    return c.json(await robotView(c.env, robot, { includeToken: true, includeMetadata: true }), 201);
  });

  robotRoutes.post(`${base}/:shortname/regenerate`, async (c) => {
    const namespace = adminOnly(await resolve(c));
    const robot = await regenerateRobotToken(c.var.db, c.env, await robotFrom(c, namespace), requestEvents(c));
    return c.json(await robotView(c.env, robot, { includeToken: true, includeMetadata: false }));
  });

  robotRoutes.get(`${base}/:shortname/permissions`, async (c) => {
    const namespace = adminOnly(await resolve(c));
    const { repositories } = await robotPermissionsView(c.var.db, await robotFrom(c, namespace));
    return c.json({
      permissions: repositories.map((r) => ({ repository: { name: r.name, is_public: r.is_public }, role: r.role })),
    });
  });

  // Keyless robots: the external identities that may act as the robot (src/identity/robot-federation.ts).
  robotRoutes.get(`${base}/:shortname/federation`, async (c) => {
    const namespace = adminOnly(await resolve(c));
    return c.json(await listFederation(c.var.db, await robotFrom(c, namespace)));
  });

  robotRoutes.post(`${base}/:shortname/federation`, async (c) => {
    const namespace = adminOnly(await resolve(c));
    const robot = await robotFrom(c, namespace);
    const entries = await jsonBody(c, federationSchema);
    return c.json(await setFederation(c.var.db, robot, entries, requestEvents(c)));
  });

  robotRoutes.delete(`${base}/:shortname/federation`, async (c) => {
    const namespace = adminOnly(await resolve(c));
    await clearFederation(c.var.db, await robotFrom(c, namespace), requestEvents(c));
    return c.body(null, 204);
  });

  robotRoutes.delete(`${base}/:shortname`, async (c) => {
    const namespace = adminOnly(await resolve(c));
    await deleteRobot(c.var.db, await robotFrom(c, namespace), requestEvents(c));
    return c.body(null, 204);
  });
}

mount("/user/robots", asUser);
mount("/organization/:orgname/robots", asOrganization);
describe("/user/robots", "User", "user:admin");
describe("/organization/:orgname/robots", "Org", "org:admin");
