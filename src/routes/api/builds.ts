/**
 * Builds (Quay `endpoints/api/build.py`): `GET|POST /api/v1/repository/{repository}/build/`
 * (`getRepoBuilds` with `limit` and `since`, `requestRepoBuild`), `GET …/build/{uuid}`
 * (`getRepoBuild`), `DELETE …/build/{uuid}` (`cancelRepoBuild`), `…/status`
 * (`getRepoBuildStatus`), `…/logs` (`getRepoBuildLogs`); the superuser's `GET
 * /api/v1/superuser/{uuid}/build|status|logs` (superuser.py); `POST /api/v1/filedrop/`
 * (`getFiledropUrl`). Access as Quay: reads repo:read and the pull right (404 otherwise, as for a
 * missing repository); logs the write role (Quay's FEATURE_READER_BUILD_LOGS off); a request repo:write and the write role; a cancel repo:admin and the admin role (403
 * otherwise). Requests and cancels need a NORMAL repository (503) and FEATURE_BUILD_SUPPORT (404).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { buildView, type BuildViewer } from "../../builds/build-view";
import { readLog } from "../../builds/build-log";
import { type BuildRecord, findBuild, findRepositoryBuild, listBuilds } from "../../builds/builds";
import { createFiledrop, filedropDownloadUrl } from "../../builds/filedrop";
import { requestBuild } from "../../builds/request";
import { cancelBuild } from "../../builds/transitions";
import { readConfig } from "../../config";
import { eq } from "drizzle-orm";
import { type Repository, repositories, type User } from "../../db/schema";
import { invalid, notFound } from "../../errors/domain";
import { repositoryAccess } from "../../identity/permissions";
import { grants } from "../../identity/scopes";
import { isSuperuser } from "../../identity/users";
import { callerWith, requireSuperuser } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { findRepository } from "../../registry/repositories";
import { requireNormalState } from "../../registry/repository-state";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { changeableRepository, reader, repositoryParam, subjectOf } from "./repository-access";
import { jsonBody, parseOrInvalid } from "./validate";

export const buildRoutes = new Hono<AppEnv>();

const BUILDS = "/repository/:repository{.+}/build";
const BUILD = "/repository/:repository{.+}/build/:build_uuid";

/** Quay's `allow_if_superuser`: a SUPER_USERS name whose token holds super:user. */
function callerIsSuperuser(c: Context<AppEnv>, user: User | undefined): boolean {
  const caller = c.var.caller;
  return (
    user !== undefined &&
    caller.kind !== "anonymous" &&
    grants(caller.scopes, "super:user") &&
    isSuperuser(readConfig(c.env), user.username)
  );
}

/** The caller's rights on `name`, for the build view. */
async function viewerOf(c: Context<AppEnv>, user: User | undefined, name: string): Promise<BuildViewer> {
  const access = repositoryAccess(c.var.db, subjectOf(user));
  const [actions, role] = await Promise.all([access.actions(name), access.role(name)]);
  return {
    canRead: actions.includes("pull"),
    canWrite: role === "write" || role === "admin",
    canAdmin: role === "admin",
  };
}

/**
 * The path's repository for a reader, with the caller's rights; else 404, as for a missing one.
 * Superusers read other namespaces' builds through `/superuser/{uuid}/…` (Quay's
 * `allow_for_superuser` on these needs FEATURE_SUPERUSERS_FULL_ACCESS, which Wharf does not have).
 */
async function readable(c: Context<AppEnv>): Promise<{ repository: Repository; viewer: BuildViewer }> {
  const user = reader(c);
  const name = repositoryParam(c);
  const [viewer, repository] = await Promise.all([viewerOf(c, user, name), findRepository(c.var.db, name)]);
  if (!repository || !viewer.canRead) throw notFound();
  return { repository, viewer };
}

/** The build's view for `viewer`, with its uploaded file's download link for writers. */
async function viewOf(c: Context<AppEnv>, record: BuildRecord, viewer: BuildViewer) {
  const key = record.build.resourceKey;
  const fileUrl = key && viewer.canWrite ? await filedropDownloadUrl(c.env, key, c.var.publicOrigin.origin) : undefined;
  return buildView(record, viewer, fileUrl);
}

function requireBuildSupport(c: Context<AppEnv>) {
  if (!readConfig(c.env).FEATURE_BUILD_SUPPORT) throw notFound();
}

const uuidParam = z.string().max(64);

async function buildOf(c: Context<AppEnv>, repository: Repository): Promise<BuildRecord> {
  const uuid = parseOrInvalid(uuidParam, c.req.param("build_uuid"));
  const record = await findRepositoryBuild(c.var.db, repository.id, uuid);
  if (!record) throw notFound();
  return record;
}

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(5),
  since: z.coerce.number().int().min(0).max(1e11).optional(),
});

documented("GET", BUILDS, {
  operationId: "getRepoBuilds",
  summary: "Get the list of repository builds.",
  scope: "repo:read",
  query: listQuery,
});
buildRoutes.get(BUILDS, async (c) => {
  const { repository, viewer } = await readable(c);
  const query = parseOrInvalid(listQuery, c.req.query());
  const rows = await listBuilds(
    c.var.db,
    repository.id,
    query.limit,
    query.since === undefined ? null : query.since * 1000,
  );
  return c.json({ builds: await Promise.all(rows.map((row) => viewOf(c, row, viewer))) });
});

const path = z.string().max(1024);
const requestBody = z.object({
  file_id: z.string().max(64).optional(),
  archive_url: z.string().max(2048).optional(),
  subdirectory: path.optional(),
  dockerfile_path: path.optional(),
  context: path.optional(),
  pull_robot: z.string().max(512).optional(),
  docker_tags: z.array(z.string().max(256)).min(1).max(100).optional(),
});

documented("POST", BUILDS, {
  operationId: "requestRepoBuild",
  summary: "Request that a repository be built and pushed from the specified input.",
  scope: "repo:write",
  body: requestBody,
  status: 201,
});
buildRoutes.post(BUILDS, async (c) => {
  const repository = await changeableRepository(c, "repo:write", "write");
  requireBuildSupport(c);
  const body = await jsonBody(c, requestBody);
  await requireNormalState(c.var.db, repository);
  const user = callerWith(c.var.caller, "repo:write");
  const access = repositoryAccess(c.var.db, subjectOf(user));
  const caller = c.var.caller;
  const requester = {
    id: user.id,
    scopes: caller.kind === "anonymous" ? [] : caller.scopes,
    username: user.username,
    superuser: callerIsSuperuser(c, user),
    mayWrite: async (repositoryId: number) => {
      const other = await c.var.db.select().from(repositories).where(eq(repositories.id, repositoryId)).get();
      const role = other ? await access.role(other.name) : null;
      return role === "write" || role === "admin";
    },
  };
  const events = requestEvents(c);
  const ref = { id: repository.id, name: repository.name };
  const build = await requestBuild(c.var.db, events, ref, requester, body, readConfig(c.env).ALLOW_PRIVATE_OUTBOUND);
  const record = await findBuild(c.var.db, build.uuid);
  if (!record) throw notFound();
  c.header("Location", `${c.var.publicOrigin.origin}/api/v1/repository/${repository.name}/build/${build.uuid}/status`);
  return c.json(await viewOf(c, record, await viewerOf(c, user, repository.name)), 201);
});

for (const [suffix, operationId, summary] of [
  ["", "getRepoBuild", "Returns information about a build."],
  ["/status", "getRepoBuildStatus", "Return the status for the builds specified by the build uuids."],
] as const) {
  documented("GET", `${BUILD}${suffix}`, { operationId, summary, scope: "repo:read" });
  buildRoutes.get(`${BUILD}${suffix}`, async (c) => {
    const { repository, viewer } = await readable(c);
    return c.json(await viewOf(c, await buildOf(c, repository), viewer));
  });
}

const logsQuery = z.object({ start: z.coerce.number().int().min(0).max(1_000_000).default(0) });

documented("GET", `${BUILD}/logs`, {
  operationId: "getRepoBuildLogs",
  summary: "Return the build logs for the build specified by the build uuid.",
  scope: "repo:read",
  query: logsQuery,
});
buildRoutes.get(`${BUILD}/logs`, async (c) => {
  // Quay without FEATURE_READER_BUILD_LOGS: writers only (403 otherwise, whether or not the
  // repository exists, so the refusal tells nothing).
  const repository = await changeableRepository(c, "repo:read", "write");
  const query = parseOrInvalid(logsQuery, c.req.query());
  const record = await buildOf(c, repository);
  return c.json(await readLog(c.var.db, record.build.id, query.start));
});

documented("DELETE", BUILD, {
  operationId: "cancelRepoBuild",
  summary: "Cancels a repository build.",
  scope: "repo:admin",
  status: 201,
});
buildRoutes.delete(BUILD, async (c) => {
  const repository = await changeableRepository(c, "repo:admin", "admin");
  requireBuildSupport(c);
  await requireNormalState(c.var.db, repository);
  const record = await buildOf(c, repository);
  if (!(await cancelBuild(c.var.db, requestEvents(c), record)))
    throw invalid("Build is currently running or has finished");
  return c.json("Okay", 201);
});

/** The superuser's build views (superuser.py `SuperUserRepositoryBuild*`): any build by uuid. */
async function anyBuild(c: Context<AppEnv>): Promise<BuildRecord> {
  const uuid = parseOrInvalid(uuidParam, c.req.param("build_uuid"));
  const record = await findBuild(c.var.db, uuid);
  if (!record) throw notFound();
  return record;
}

const SUPERUSER_VIEWER: BuildViewer = { canRead: true, canWrite: true, canAdmin: true };

for (const [suffix, operationId] of [
  ["build", "getRepoBuildSuperUser"],
  ["status", "getRepoBuildStatusSuperUser"],
] as const) {
  buildRoutes.get(`/superuser/:build_uuid/${suffix}`, requireSuperuser(), async (c) =>
    c.json(await viewOf(c, await anyBuild(c), SUPERUSER_VIEWER)),
  );
  documented("GET", `/superuser/:build_uuid/${suffix}`, {
    operationId,
    summary: "Return the status of any build (superuser).",
    scope: "super:user",
  });
}

buildRoutes.get("/superuser/:build_uuid/logs", requireSuperuser(), async (c) => {
  const record = await anyBuild(c);
  const query = parseOrInvalid(logsQuery, c.req.query());
  return c.json(await readLog(c.var.db, record.build.id, query.start));
});
documented("GET", "/superuser/:build_uuid/logs", {
  operationId: "getRepoBuildLogsSuperUser",
  summary: "Return the build logs of any build (superuser).",
  scope: "super:user",
});

/**
 * A media type (RFC 9110 §8.3.1: `type/subtype`, parameters): it is served back as the download's
 * and the connector's Content-Type, where a CR, LF or NUL would break the response or add a header.
 */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \t]*;[ \t]*${TOKEN}=(?:${TOKEN}|"[ !#-\\[\\]-~]*"))*$`);
const filedropBody = z.object({
  mimeType: z.string().min(1).max(255).regex(MEDIA_TYPE, "mimeType must be a media type, such as text/plain"),
});

documented("POST", "/filedrop", {
  operationId: "getFiledropUrl",
  summary: "Request a URL to which a file may be uploaded.",
  scope: "repo:write",
  body: filedropBody,
});
buildRoutes.post("/filedrop", async (c) => {
  const user = callerWith(c.var.caller, "repo:write");
  requireBuildSupport(c);
  const body = await jsonBody(c, filedropBody);
  return c.json(await createFiledrop(c.var.db, c.env, user.id, body.mimeType, c.var.publicOrigin.origin));
});
