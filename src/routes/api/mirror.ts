/**
 * Repository mirroring's API (Quay `endpoints/api/mirror.py`, `mirrorhealth.py`; `@show_if
 * FEATURE_REPO_MIRROR`, 404 without it): `GET|POST|PUT /api/v1/repository/{repository}/mirror`
 * (`getRepoMirrorConfig`, `createRepoMirrorConfig`, `changeRepoMirrorConfig`), `POST
 * …/mirror/sync-now` and `…/sync-cancel` (`syncNow`, `syncCancel`), all repo:admin and the
 * admin role (403 otherwise, existing or not; 404 for a repository or mirror that does not exist),
 * and `GET /api/v1/repository/mirror/health` (`getRepositoryMirrorHealth`). Quay's answers: the
 * config's JSON (`ViewMirrorConfig`), 201 with no body for a create or change, 204 for sync-now and
 * cancel (404 when the status does not allow it), Quay's bare `{"detail"}` 409 for a second mirror.
 * The domain: src/mirror/configs.ts.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { readConfig } from "../../config";
import { notFound } from "../../errors/domain";
import { isSuperuser, findUser } from "../../identity/users";
import { grants } from "../../identity/scopes";
import { organizationRole } from "../../identity/organizations";
import { clock } from "../../lib/clock";
import { requireFreshLogin } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { findMirror, mirrorView, SKOPEO_TIMEOUT } from "../../mirror/config-view";
import { changeMirror, createMirror, mirrorRobot } from "../../mirror/configs";
import { changeSyncStatus } from "../../mirror/sync-status";
import { mirrorHealth } from "../../mirror/health";
import { queueJob } from "../../queues/jobs";
import type { Repository } from "../../db/schema";
import type { AppEnv } from "../app-env";
import { ApiError } from "./errors";
import { isTruthyArg, nullableText, registryProxy } from "./mirror-fields";
import { documented } from "./openapi";
import { changeableRepository } from "./repository-access";
import { jsonBody, parseOrInvalid } from "./validate";

export const mirrorRoutes = new Hono<AppEnv>();

const PATH = "/repository/:repository{.+}/mirror";

/** Quay's `common_properties`. */
const properties = {
  is_enabled: z.boolean(),
  external_reference: z.string().max(512),
  external_registry_username: nullableText,
  external_registry_password: nullableText,
  sync_start_date: z.string().max(64),
  sync_interval: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31),
  robot_username: z.string().max(512),
  root_rule: z.object({
    rule_kind: z.enum(["tag_glob_csv"]),
    rule_value: z.array(z.string().max(1024)).max(1000),
  }),
  external_registry_config: z.object({
    verify_tls: z.boolean().optional(),
    unsigned_images: z.boolean().optional(),
    proxy: registryProxy,
  }),
  skopeo_timeout_interval: z.number().int().min(SKOPEO_TIMEOUT.min).max(SKOPEO_TIMEOUT.max),
};

/** Quay's `CreateMirrorConfig` (robot_username is required too: Quay fails without it). */
const createBody = z.object({
  ...properties,
  is_enabled: properties.is_enabled.optional(),
  external_registry_username: properties.external_registry_username.optional(),
  external_registry_password: properties.external_registry_password.optional(),
  external_registry_config: properties.external_registry_config.optional(),
  skopeo_timeout_interval: properties.skopeo_timeout_interval.optional(),
});
/** Quay's `UpdateMirrorConfig`: every property optional. */
const updateBody = z.object(properties).partial();

function requireFeature(c: Context<AppEnv>): void {
  if (!readConfig(c.env).FEATURE_REPO_MIRROR) throw notFound();
}

async function adminRepository(c: Context<AppEnv>): Promise<Repository> {
  requireFeature(c);
  return changeableRepository(c, "repo:admin", "admin");
}

documented("GET", PATH, {
  operationId: "getRepoMirrorConfig",
  summary: "Return the mirror configuration of a repository.",
  scope: "repo:admin",
});
mirrorRoutes.get(PATH, async (c) => {
  const repository = await adminRepository(c);
  const row = await findMirror(c.var.db, repository.id);
  if (!row) throw notFound();
  return c.json(await mirrorView(c.env, row));
});

documented("POST", PATH, {
  operationId: "createRepoMirrorConfig",
  summary: "Create the mirror configuration of a repository (and put it in state MIRROR).",
  scope: "repo:admin",
  body: createBody,
  status: 201,
});
mirrorRoutes.post(PATH, async (c) => {
  const repository = await adminRepository(c);
  const body = await jsonBody(c, createBody);
  const ref = { id: repository.id, name: repository.name };
  const exists = () => c.json({ detail: `Mirror configuration already exits for repository ${repository.name}` }, 409);
  if (await findMirror(c.var.db, repository.id)) return exists();
  const robot = await mirrorRobot(c.var.db, ref, body.robot_username);
  const events = requestEvents(c);
  const created = await createMirror(c.var.db, c.env, ref, body, robot.id, events.origin, clock.now());
  if (!created.created) return exists();
  events.publish(created.events);
  return c.body(null, 201);
});

documented("PUT", PATH, {
  operationId: "changeRepoMirrorConfig",
  summary: "Change a repository's mirror configuration.",
  scope: "repo:admin",
  body: updateBody,
  status: 201,
});
mirrorRoutes.put(PATH, async (c) => {
  const repository = await adminRepository(c);
  const body = await jsonBody(c, updateBody);
  if (!(await findMirror(c.var.db, repository.id))) throw notFound();
  const events = requestEvents(c);
  const ref = { id: repository.id, name: repository.name };
  const changed = await changeMirror(c.var.db, c.env, ref, body, events.origin, clock.now());
  events.publish(changed.events);
  return c.body(null, 201);
});

for (const [path, to, operationId, summary] of [
  [`${PATH}/sync-now`, "SYNC_NOW", "syncNow", "Ask for the repository's mirror to sync now."],
  [`${PATH}/sync-cancel`, "CANCEL", "syncCancel", "Cancel the repository's running or queued mirror sync."],
] as const) {
  documented("POST", path, { operationId, summary, scope: "repo:admin", status: 204 });
  mirrorRoutes.post(path, async (c) => {
    const repository = await adminRepository(c);
    const events = requestEvents(c);
    const ref = { id: repository.id, name: repository.name };
    const result = await changeSyncStatus(c.var.db, ref, to, events.origin, clock.now());
    if (!result.changed) throw notFound();
    events.publish(result.events);
    // Quay's worker finds a SYNC_NOW on its next scan; Wharf queues the sync at once (the cron
    // tick would find it within a minute too; the claim makes a second job run nothing).
    if (to === "SYNC_NOW") await queueJob(c.env, { type: "mirror_sync", repositoryId: repository.id });
    return c.body(null, 204);
  });
}

const truthy = z.string().optional().transform(isTruthyArg);
const integer = (fallback: number) =>
  z
    .string()
    .regex(/^-?\d{1,9}$/, "must be an integer")
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)));
const healthQuery = z.object({
  namespace: z.string().max(255).optional(),
  detailed: truthy,
  limit: integer(100),
  offset: integer(0),
});

documented("GET", "/repository/mirror/health", {
  operationId: "getRepositoryMirrorHealth",
  summary: "Health of repository mirroring: 200 when healthy, 503 when not.",
  scope: null,
  query: healthQuery,
});
mirrorRoutes.get("/repository/mirror/health", requireFreshLogin(), async (c) => {
  requireFeature(c);
  const query = parseOrInvalid(healthQuery, c.req.query());
  const caller = c.var.caller;
  if (caller.kind === "anonymous") throw new ApiError("invalid_token", "Requires authentication");
  const user = caller.user;
  // Quay's allow_if_superuser: SuperUserPermission, which a token carries only with super:user.
  const superuser = isSuperuser(readConfig(c.env), user.username) && grants(caller.scopes, "super:user");
  const namespace = query.namespace ?? null;
  if (namespace === null) {
    if (!superuser) throw new ApiError("insufficient_scope");
  } else {
    const owner = await findUser(c.var.db, namespace);
    if (!owner || owner.kind === "robot") throw notFound();
    // Quay: a superuser, a member of the organization, or the user itself.
    const allowed =
      superuser ||
      (owner.kind === "organization"
        ? (await organizationRole(c.var.db, user.id, namespace)) !== null
        : owner.id === user.id);
    if (!allowed) throw new ApiError("insufficient_scope");
  }
  const health = await mirrorHealth(c.var.db, { ...query, namespace }, clock.now());
  c.header("Cache-Control", "no-cache, no-store, must-revalidate");
  return c.json(health, health.healthy ? 200 : 503);
});
