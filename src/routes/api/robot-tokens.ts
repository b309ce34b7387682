/**
 * Management-API tokens of robots (Quay's `endpoints/api/robot_application_tokens.py`), for the
 * signed-in user's robots (`/api/v1/user/robots/{short}/…`) and an organization's
 * (`/api/v1/organization/{orgname}/robots/{short}/…`, its admins): the scopes the caller may mint,
 * the robot's tokens (paged), a new token (its value shown once), and revoking one. Quay allows
 * these from a signed-in browser session only; its operations have no nicknames, so the
 * operationIds here are Wharf's.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { readConfig } from "../../config";
import type { User } from "../../db/schema";
import { notFound } from "../../errors/domain";
import { requireFreshLogin, sessionCaller } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import {
  checkNewToken,
  createRobotApiToken,
  deleteRobotApiToken,
  findRobotApiToken,
  listRobotApiTokens,
  MAX_TOKEN_NAME_LENGTH,
  mintableScopes,
  robotApiTokenView,
} from "../../identity/robot-tokens";
import { findRobot, type Robot, robotShortnameSchema } from "../../identity/robots";
import type { Scope } from "../../identity/scopes";
import { isSuperuser } from "../../identity/users";
import type { AppEnv } from "../app-env";
import { ApiError } from "./errors";
import { documented } from "./openapi";
import { administeredOrganization } from "./organization-access";
import { decodePageToken, encodePageToken } from "./page-token";
import { jsonBody, parseOrInvalid } from "./validate";

export const robotTokenRoutes = new Hono<AppEnv>();

/** Quay's NewRobotToken schema; other fields are ignored, as jsonschema does. */
const newTokenBody = z.object({
  name: z.string({ error: "'name' is a required property" }).min(1).max(MAX_TOKEN_NAME_LENGTH),
  scope: z.string({ error: "'scope' is a required property" }),
  expiration: z.number().min(1).optional(),
});
const listQuery = z.object({ next_page: z.string().optional() });

/** The signed-in creator and the namespace whose robots the request names. */
type Owner = (c: Context<AppEnv>) => Promise<{ creator: User; namespace: User }>;

/** Quay's `require_user_admin`: the session's own robots. */
const ownRobots: Owner = async (c) => {
  const user = sessionCaller(c.var.caller);
  return { creator: user, namespace: user };
};

/** Quay's AdministerOrganizationPermission: 403 to anyone else, whether or not the organization exists. */
const organizationRobots: Owner = async (c) => {
  sessionCaller(c.var.caller);
  const { caller, org } = await administeredOrganization(c);
  return { creator: caller, namespace: org };
};

/** The named robot of the namespace; Quay answers a missing one 404. */
async function robotOf(c: Context<AppEnv>, namespace: User): Promise<Robot> {
  const shortname = c.req.param("shortname")!;
  const robot = robotShortnameSchema.safeParse(shortname).success
    ? await findRobot(c.var.db, namespace, shortname)
    : undefined;
  if (!robot) throw notFound();
  return robot;
}

const mintableFor = (c: Context<AppEnv>, creator: User) =>
  mintableScopes(isSuperuser(readConfig(c.env), creator.username));

function mount(base: string, owner: Owner) {
  robotTokenRoutes.get(`${base}/:shortname/mintable-scopes`, requireFreshLogin(), async (c) => {
    const { creator, namespace } = await owner(c);
    await robotOf(c, namespace);
    return c.json({ scopes: mintableFor(c, creator) });
  });

  robotTokenRoutes.get(`${base}/:shortname/tokens`, requireFreshLogin(), async (c) => {
    const { namespace } = await owner(c);
    const robot = await robotOf(c, namespace);
    const { next_page } = parseOrInvalid(listQuery, c.req.query());
    // Bound to the robot: a position taken from another robot's listing is refused.
    const list = `robot-tokens:${robot.user.id}`;
    const before = await decodePageToken(c.env, list, next_page);
    const { tokens, next } = await listRobotApiTokens(c.var.db, robot, before);
    return c.json({
      tokens: tokens.map(({ token, createdBy }) => robotApiTokenView(token, createdBy)),
      ...(next === null ? {} : { next_page: await encodePageToken(c.env, list, next) }),
    });
  });

  robotTokenRoutes.post(`${base}/:shortname/tokens`, requireFreshLogin(), async (c) => {
    const { creator, namespace } = await owner(c);
    const robot = await robotOf(c, namespace);
    const body = await jsonBody(c, newTokenBody);
    const request = checkNewToken(body, mintableFor(c, creator));
    // Quay: `raise Unauthorized()` for a scope the creator may not mint.
    if (request.unmintable)
      throw new ApiError("insufficient_scope", `You may not mint the ${request.unmintable} scope`);
    const limit = readConfig(c.env).API_TOKEN_MAXIMUM_TOKEN_COUNT;
    const { token, value } = await createRobotApiToken(c.var.db, robot, creator, request, limit, requestEvents(c));
    return c.json(robotApiTokenView(token, creator.username, value));
  });

  robotTokenRoutes.delete(`${base}/:shortname/tokens/:token_uuid`, requireFreshLogin(), async (c) => {
    const { namespace } = await owner(c);
    const robot = await robotOf(c, namespace);
    const token = await findRobotApiToken(c.var.db, robot, c.req.param("token_uuid"));
    if (!token) throw notFound();
    await deleteRobotApiToken(c.var.db, robot, token, requestEvents(c));
    return c.body(null, 204);
  });
}

/** Wharf's operationIds (Quay gives these none): `listUserRobotTokens`, `createOrgRobotToken`, … */
function describe(base: string, kind: "User" | "Org", scope: Scope) {
  const op = (
    method: "GET" | "POST" | "DELETE",
    path: string,
    operationId: string,
    summary: string,
    extra: { body?: z.ZodType; query?: z.ZodObject; status?: 204 } = {},
  ) => documented(method, `${base}/:shortname${path}`, { operationId, summary, scope, ...extra });
  op(
    "GET",
    "/mintable-scopes",
    `list${kind}RobotMintableScopes`,
    "The scopes the signed-in user may put on a token of the robot (session only).",
  );
  op("GET", "/tokens", `list${kind}RobotTokens`, "The robot's Management-API tokens, newest first (session only).", {
    query: listQuery,
  });
  op(
    "POST",
    "/tokens",
    `create${kind}RobotToken`,
    "Creates an expiring Management-API token of the robot; its value is shown this once (session only).",
    { body: newTokenBody },
  );
  op(
    "DELETE",
    "/tokens/:token_uuid",
    `delete${kind}RobotToken`,
    "Revokes a Management-API token of the robot (session only).",
    {
      status: 204,
    },
  );
}

mount("/user/robots", ownRobots);
mount("/organization/:orgname/robots", organizationRobots);
describe("/user/robots", "User", "user:admin");
describe("/organization/:orgname/robots", "Org", "org:admin");
