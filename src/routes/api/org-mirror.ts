/**
 * Organization mirroring's API (Quay `endpoints/api/org_mirror.py`, `org_mirrorhealth.py`;
 * `@show_if FEATURE_ORG_MIRROR`, 404 without it), under `/api/v1/organization/{orgname}/mirror`:
 * GET, POST, PUT, DELETE (`getOrgMirrorConfig`, `createOrgMirrorConfig`, `updateOrgMirrorConfig`,
 * `deleteOrgMirrorConfig`), `POST …/sync-now`, `…/sync-cancel`, `…/verify` (`syncOrgMirrorNow`,
 * `cancelOrgMirrorSync`, `verifyOrgMirrorConnection`) and `GET …/repositories`
 * (`listOrgMirrorRepositories`): org:admin and the organization's admins (Quay's 403 otherwise,
 * whether the organization exists or not; 404 for no mirror); and `GET …/health`
 * (`getOrganizationMirrorHealth`) for its members. Quay's answers: 201, 200, 204 with no body;
 * 400 with Quay's messages (the URL refused by the outbound guard's rule is Quay's generic
 * "The provided registry URL is not allowed"). The domain: src/mirror/org-*.ts.
 */
import { and, eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { readConfig } from "../../config";
import { users } from "../../db/schema";
import { invalid, notFound } from "../../errors/domain";
import { findOrganization, organizationRole } from "../../identity/organizations";
import { isSuperuser } from "../../identity/users";
import { clock } from "../../lib/clock";
import { requireFreshLogin } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import {
  changeOrgMirror,
  createOrgMirror,
  findOrgMirror,
  type OrgMirrorRow,
  orgMirrorView,
  unsealedCredentials,
} from "../../mirror/org-configs";
import { discoveredPage, orgMirrorHealth } from "../../mirror/org-health";
import { changeOrgSyncStatus, deleteOrgMirror } from "../../mirror/org-status";
import { registryUrlProblem, testSourceConnection } from "../../mirror/org-sources";
import { queueJob } from "../../queues/jobs";
import type { AppEnv } from "../app-env";
import { ApiError } from "./errors";
import { isTruthyArg, nullableText, registryProxy } from "./mirror-fields";
import { documented } from "./openapi";
import { administeredOrganization } from "./organization-access";
import { jsonBody } from "./validate";

export const orgMirrorRoutes = new Hono<AppEnv>();

const PATH = "/organization/:orgname/mirror";

/** Quay's `CreateOrgMirrorConfig` properties (its bounds; Wharf's lengths besides). */
const properties = {
  is_enabled: z.boolean(),
  external_registry_type: z.enum(["harbor", "quay"]),
  external_registry_url: z.string().max(2048),
  external_namespace: z.string().min(1).max(255),
  robot_username: z.string().max(512),
  visibility: z.enum(["public", "private"]),
  sync_interval: z
    .number()
    .int()
    .min(60)
    .max(2 ** 31),
  sync_start_date: z.string().max(64),
  external_registry_username: nullableText,
  external_registry_password: nullableText,
  external_registry_config: z.object({
    verify_tls: z.boolean().optional(),
    proxy: registryProxy,
  }),
  repository_filters: z.array(z.string().max(1024)).max(1000),
  skopeo_timeout: z.number().int().min(30).max(3600),
};
const createBody = z.object({
  ...properties,
  is_enabled: properties.is_enabled.optional(),
  external_registry_username: properties.external_registry_username.optional(),
  external_registry_password: properties.external_registry_password.optional(),
  external_registry_config: properties.external_registry_config.optional(),
  repository_filters: properties.repository_filters.optional(),
  skopeo_timeout: properties.skopeo_timeout.optional(),
});
/** Quay's `UpdateOrgMirrorConfig`: every property optional. */
const updateBody = z.object(properties).partial();

function requireFeature(c: Context<AppEnv>): void {
  if (!readConfig(c.env).FEATURE_ORG_MIRROR) throw notFound();
}

/** The organization its admin names, and its mirror (404 when it has none). */
async function administeredMirror(c: Context<AppEnv>) {
  requireFeature(c);
  const { org } = await administeredOrganization(c);
  const row = await findOrgMirror(c.var.db, org.id);
  if (!row) throw notFound();
  return { org: { id: org.id, name: org.username }, row };
}

/** Quay's robot checks: a robot that exists, of this organization. */
async function organizationRobot(c: Context<AppEnv>, orgName: string, name: string) {
  const robot = await c.var.db
    .select({ id: users.id, name: users.username })
    .from(users)
    .where(and(eq(users.username, name), eq(users.kind, "robot")))
    .get();
  if (!robot) throw invalid(`Invalid robot account: ${name}`);
  if (name.slice(0, name.indexOf("+")) !== orgName) throw invalid("Robot account must belong to the organization");
  return robot;
}

function checkUrl(c: Context<AppEnv>, url: string): void {
  const problem = registryUrlProblem(c.env, url);
  if (problem) throw invalid(problem);
}

/** Quay normalizes an empty username or password to none. */
const orNull = (value: string | null | undefined) => (value === undefined ? undefined : value || null);

documented("GET", PATH, {
  operationId: "getOrgMirrorConfig",
  summary: "Return the organization's mirror configuration.",
  scope: "org:admin",
});
orgMirrorRoutes.get(PATH, async (c) => {
  const { row } = await administeredMirror(c);
  return c.json(await orgMirrorView(c.env, row));
});

documented("POST", PATH, {
  operationId: "createOrgMirrorConfig",
  summary: "Create the organization's mirror configuration (the organization must hold no repositories).",
  scope: "org:admin",
  body: createBody,
  status: 201,
});
orgMirrorRoutes.post(PATH, async (c) => {
  requireFeature(c);
  const { org } = await administeredOrganization(c);
  const body = await jsonBody(c, createBody);
  const robot = await organizationRobot(c, org.username, body.robot_username);
  checkUrl(c, body.external_registry_url);
  const events = requestEvents(c);
  const settings = {
    ...body,
    external_registry_username: orNull(body.external_registry_username),
    external_registry_password: orNull(body.external_registry_password),
  };
  const ref = { id: org.id, name: org.username };
  events.publish(await createOrgMirror(c.var.db, c.env, ref, settings, robot, events.origin, clock.now()));
  return c.body(null, 201);
});

documented("PUT", PATH, {
  operationId: "updateOrgMirrorConfig",
  summary: "Change the organization's mirror configuration.",
  scope: "org:admin",
  body: updateBody,
});
orgMirrorRoutes.put(PATH, async (c) => {
  const { org, row } = await administeredMirror(c);
  const body = await jsonBody(c, updateBody);
  if (body.external_registry_url !== undefined) checkUrl(c, body.external_registry_url);
  const robot =
    body.robot_username === undefined ? undefined : await organizationRobot(c, org.name, body.robot_username);
  const values = {
    ...body,
    external_registry_username: orNull(body.external_registry_username),
    external_registry_password: orNull(body.external_registry_password),
  };
  const events = requestEvents(c);
  const fields = Object.keys(body);
  events.publish(
    await changeOrgMirror(c.var.db, c.env, org, row, values, robot?.id, fields, events.origin, clock.now()),
  );
  return c.body(null, 200);
});

documented("DELETE", PATH, {
  operationId: "deleteOrgMirrorConfig",
  summary: "Delete the organization's mirror configuration (its repositories stay, their mirrors disabled).",
  scope: "org:admin",
  status: 204,
});
orgMirrorRoutes.delete(PATH, async (c) => {
  const { org, row } = await administeredMirror(c);
  const events = requestEvents(c);
  const result = await deleteOrgMirror(c.var.db, org, row, events.origin, clock.now());
  if (!result.deleted) throw notFound();
  events.publish(result.events);
  return c.body(null, 204);
});

for (const [path, to, operationId, summary] of [
  [`${PATH}/sync-now`, "SYNC_NOW", "syncOrgMirrorNow", "Discover and sync the organization's mirror now."],
  [`${PATH}/sync-cancel`, "CANCEL", "cancelOrgMirrorSync", "Cancel the organization mirror's discovery and syncs."],
] as const) {
  documented("POST", path, { operationId, summary, scope: "org:admin", status: 204 });
  orgMirrorRoutes.post(path, async (c) => {
    const { org, row } = await administeredMirror(c);
    const events = requestEvents(c);
    events.publish(await changeOrgSyncStatus(c.var.db, org, row, to, events.origin, clock.now()));
    // Quay's worker finds the status on its next scan; Wharf queues the run at once (a cancel is
    // carried to the repository mirrors by that run, as Quay's worker carries it).
    await queueJob(c.env, { type: "org_mirror_sync", orgMirrorId: row.config.id });
    return c.body(null, 204);
  });
}

async function sourceOf(c: Context<AppEnv>, row: OrgMirrorRow) {
  const { config } = row;
  const credentials = await unsealedCredentials(c.env, config);
  if (!credentials) return null;
  return { type: config.registryType, url: config.registryUrl, namespace: config.externalNamespace, ...credentials };
}

documented("POST", `${PATH}/verify`, {
  operationId: "verifyOrgMirrorConnection",
  summary: "Test the connection to the organization mirror's source registry.",
  scope: "org:admin",
});
orgMirrorRoutes.post(`${PATH}/verify`, async (c) => {
  const { row } = await administeredMirror(c);
  const source = await sourceOf(c, row);
  if (!source) return c.json({ success: false, message: "Failed to decrypt source registry credentials" });
  // Checked again at use, as Quay re-validates before connecting.
  if (registryUrlProblem(c.env, source.url))
    return c.json({ success: false, message: "The provided URL is not allowed" });
  return c.json(await testSourceConnection(c.env, source));
});

/** Quay's `request.args.get(name, default, type=int)`: a value that is no integer is the default. */
const intArg = (value: string | undefined, fallback: number) =>
  value !== undefined && /^-?\d{1,9}$/.test(value) ? Number(value) : fallback;

documented("GET", `${PATH}/repositories`, {
  operationId: "listOrgMirrorRepositories",
  summary: "List the repositories the organization mirror has discovered, a page at a time.",
  scope: "org:admin",
  query: z.object({ page: z.string().optional(), limit: z.string().optional() }),
});
orgMirrorRoutes.get(`${PATH}/repositories`, async (c) => {
  const { org, row } = await administeredMirror(c);
  const page = Math.max(1, intArg(c.req.query("page"), 1));
  let limit = Math.min(intArg(c.req.query("limit"), 100), 500);
  if (limit < 1) limit = 100;
  return c.json(await discoveredPage(c.var.db, org.name, row.config.id, page, limit));
});

const healthQuery = z.object({
  detailed: z.string().optional(),
  limit: z.string().optional(),
  offset: z.string().optional(),
});

documented("GET", `${PATH}/health`, {
  operationId: "getOrganizationMirrorHealth",
  summary: "Health of the organization's mirror: 200 when healthy, 503 when not.",
  scope: null,
  query: healthQuery,
});
orgMirrorRoutes.get(`${PATH}/health`, requireFreshLogin(), async (c) => {
  requireFeature(c);
  const caller = c.var.caller;
  if (caller.kind === "anonymous") throw new ApiError("invalid_token", "Requires authentication");
  const orgname = c.req.param("orgname");
  const superuser = isSuperuser(readConfig(c.env), caller.user.username);
  const org = await findOrganization(c.var.db, orgname);
  // Quay: a superuser, or a member of the organization. Quay answers 404 for a namespace that
  // does not exist; Wharf answers 403 as for one the caller is not a member of, so that no
  // refusal tells which organizations exist (as every organization route here).
  if (!superuser && (!org || (await organizationRole(c.var.db, caller.user.id, orgname)) === null))
    throw new ApiError("insufficient_scope");
  const row = org && (await findOrgMirror(c.var.db, org.id));
  if (!org || !row) throw notFound();
  const detailed = isTruthyArg(c.req.query("detailed"));
  const query = { detailed, limit: intArg(c.req.query("limit"), 100), offset: intArg(c.req.query("offset"), 0) };
  const health = await orgMirrorHealth(c.var.db, org.username, row.config, query, clock.now());
  c.header("Cache-Control", "no-cache, no-store, must-revalidate");
  return c.json(health, health.healthy ? 200 : 503);
});
