/**
 * Build triggers (Quay `endpoints/api/trigger.py`) under `/api/v1/repository/{repository}/trigger/`:
 * list, get, update (`{"enabled"}`), delete, activate (`{"config", "pull_robot"}`), start (a run by
 * hand) and the trigger's recent builds; the setup wizard's internal helpers are in
 * ./trigger-helpers.ts. Quay makes a trigger in its web flows (`/customtrigger/setup/{repository}`,
 * GitHub's OAuth callback); Wharf makes one with its own `POST …/trigger/` `{"service"}`
 * (`createBuildTrigger`): GitHub cannot be reached by OAuth from the edge, and a custom git trigger
 * needs nothing from outside. Rules: ./trigger-access.ts.
 */
import { Hono } from "hono";
import { z } from "zod";
import { ADMIN_VIEWER, buildView } from "../../builds/build-view";
import { listTriggerBuilds } from "../../builds/builds";
import { manualMetadata, queueTriggerBuild, runParametersSchema, TriggerDisabled } from "../../builds/trigger-builds";
import { checkedConfig, triggerConfigSchema } from "../../builds/trigger-rules";
import { triggerView } from "../../builds/trigger-views";
import {
  activateTrigger,
  createTrigger,
  deleteTrigger,
  listTriggers,
  requireTrigger,
  toggleTrigger,
  triggerPullRobot,
} from "../../builds/triggers";
import { grants } from "../../identity/scopes";
import { invalid } from "../../errors/domain";
import { requestEvents } from "../../middleware/event-scope";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { pathTrigger, requireConnectedUser, triggerRepository } from "./trigger-access";
import { jsonBody, parseOrInvalid } from "./validate";

export const triggerRoutes = new Hono<AppEnv>();

const LIST = "/repository/:repository{.+}/trigger";
const ONE = `${LIST}/:trigger_uuid`;

const createBody = z.object({ service: z.enum(["custom-git", "github"]) });
const updateBody = z.object({ enabled: z.boolean() });
const activateBody = z.object({
  config: z.record(z.string(), z.unknown()),
  pull_robot: z.string().max(255).optional(),
});
const buildsQuery = z.object({
  limit: z
    .string()
    .regex(/^\d{1,4}$/, "must be an integer")
    .optional()
    .transform((v) => Math.min(v === undefined ? 5 : Number(v), 100)),
});

documented("GET", LIST, {
  operationId: "listBuildTriggers",
  summary: "List the triggers for the specified repository.",
  scope: "repo:admin",
});
triggerRoutes.get(LIST, async (c) => {
  const { repository } = await triggerRepository(c, false);
  const rows = await listTriggers(c.var.db, repository.id);
  const origin = c.var.publicOrigin;
  return c.json({ triggers: await Promise.all(rows.map((row) => triggerView(c.env, row, origin))) });
});

documented("POST", LIST, {
  operationId: "createBuildTrigger",
  summary:
    "Create an inactive build trigger (Wharf's own): custom git with a generated SSH deploy key and webhook secret, or GitHub with a webhook HMAC secret.",
  scope: "repo:admin",
  body: createBody,
  status: 201,
});
triggerRoutes.post(LIST, async (c) => {
  const { repository, user } = await triggerRepository(c, true);
  const body = await jsonBody(c, createBody);
  const trigger = await createTrigger(c.var.db, c.env, repository, body.service, user.id);
  return c.json(await triggerView(c.env, { trigger, pullRobot: null }, c.var.publicOrigin), 201);
});

documented("GET", ONE, {
  operationId: "getBuildTrigger",
  summary: "Get information for the specified build trigger.",
  scope: "repo:admin",
});
triggerRoutes.get(ONE, async (c) => {
  const { row } = await pathTrigger(c, false);
  return c.json(await triggerView(c.env, row, c.var.publicOrigin));
});

documented("PUT", ONE, {
  operationId: "updateBuildTrigger",
  summary: "Updates the specified build trigger.",
  scope: "repo:admin",
  body: updateBody,
});
triggerRoutes.put(ONE, async (c) => {
  const { repository, row } = await pathTrigger(c, true);
  const body = await jsonBody(c, updateBody);
  if (!row.trigger.isActive) throw invalid("Cannot update an unactivated trigger");
  const trigger = await toggleTrigger(c.var.db, repository, row.trigger, body.enabled, requestEvents(c));
  // Quay answers its plain `trigger_view(trigger)` here, not the admin's.
  return c.json(await triggerView(c.env, { ...row, trigger }, c.var.publicOrigin, false));
});

documented("DELETE", ONE, {
  operationId: "deleteBuildTrigger",
  summary: "Delete the specified build trigger.",
  scope: "repo:admin",
  status: 204,
});
triggerRoutes.delete(ONE, async (c) => {
  const { repository, row } = await pathTrigger(c, true);
  await deleteTrigger(c.var.db, repository, row.trigger, requestEvents(c));
  return c.body(null, 204);
});

documented("POST", `${ONE}/activate`, {
  operationId: "activateBuildTrigger",
  summary: "Activate the specified build trigger.",
  scope: "repo:admin",
  body: activateBody,
});
triggerRoutes.post(`${ONE}/activate`, async (c) => {
  const scope = await pathTrigger(c, true);
  const { repository, row, user } = scope;
  const body = await jsonBody(c, activateBody);
  if (row.trigger.isActive) throw invalid("Trigger config is not sufficient for activation.");
  requireConnectedUser(scope);
  const config = checkedConfig(row.trigger.service, parseOrInvalid(triggerConfigSchema, body.config));
  const caller = c.var.caller;
  const orgAdminScope = caller.kind !== "anonymous" && grants(caller.scopes, "org:admin");
  const pullRobot = body.pull_robot
    ? await triggerPullRobot(c.var.db, user, orgAdminScope, repository, body.pull_robot)
    : null;
  if (!(await activateTrigger(c.var.db, repository, row.trigger, config, pullRobot, requestEvents(c))))
    throw invalid("Trigger config is not sufficient for activation.");
  const activated = await requireTrigger(c.var.db, repository.id, row.trigger.uuid);
  return c.json(await triggerView(c.env, activated, c.var.publicOrigin));
});

documented("POST", `${ONE}/start`, {
  operationId: "manuallyStartBuildTrigger",
  summary: "Manually start a build from the specified trigger.",
  scope: "repo:admin",
  body: runParametersSchema,
  status: 201,
});
triggerRoutes.post(`${ONE}/start`, async (c) => {
  const { repository, row, user } = await pathTrigger(c, true);
  const params = await jsonBody(c, runParametersSchema);
  if (!row.trigger.enabled) throw invalid("Trigger is not enabled.");
  if (!row.trigger.isActive) throw invalid("Trigger is not active.");
  const metadata = await manualMetadata(c.var.db, row, params);
  let build: Awaited<ReturnType<typeof queueTriggerBuild>>;
  try {
    build = await queueTriggerBuild(c.var.db, requestEvents(c), repository, row, metadata, {
      id: user.id,
      name: user.username,
    });
  } catch (err) {
    if (err instanceof TriggerDisabled) throw invalid("Build trigger is disabled");
    throw err;
  }
  c.header("Location", `/api/v1/repository/${repository.name}/build/${build.uuid}`);
  // Quay answers `build_status_view`, the build API's view; the caller is the repository's admin.
  // A trigger's build has no uploaded file, so no download link to sign.
  const record = {
    build,
    repository: { id: repository.id, name: repository.name, namespace: repository.namespace },
    trigger: row.trigger,
    pullRobot: build.pullRobotId === null ? null : row.pullRobot,
  };
  return c.json(buildView(record, ADMIN_VIEWER), 201);
});

documented("GET", `${ONE}/builds`, {
  operationId: "listTriggerRecentBuilds",
  summary: "List the builds started by the specified trigger.",
  scope: "repo:admin",
  query: buildsQuery,
});
triggerRoutes.get(`${ONE}/builds`, async (c) => {
  const { row } = await pathTrigger(c, false);
  const { limit } = parseOrInvalid(buildsQuery, c.req.query());
  const builds = await listTriggerBuilds(c.var.db, row.trigger.id, limit);
  return c.json({ builds: builds.map((record) => buildView(record, ADMIN_VIEWER)) });
});
