/**
 * Repositories (Quay `endpoints/api/repository.py`): `POST|GET /api/v1/repository` create and list,
 * `GET|PUT|DELETE /api/v1/repository/{repository}` read, describe and delete one,
 * `POST …/{repository}/changevisibility`. `{repository}` is `namespace/name`, nested names
 * included. As in Quay, reads need repo:read and the pull right (anonymous callers see public
 * repositories), changes repo:write or repo:admin and the write or admin role. Wharf answers 404
 * to anyone who may not read a repository, so private names do not leak (Quay: 403), and 403 to a
 * change without the role, whether or not the repository exists.
 *
 * Registered after every other `/repository/{repository}/…` route (permissions, tags, manifests…):
 * `{repository}` matches any path, so those must win.
 */
import { Hono } from "hono";
import { z } from "zod";
import { callerWith } from "../../middleware/api-caller";
import { ApiError } from "./errors";
import { invalid, notFound } from "../../errors/domain";
import { documented } from "./openapi";
import { decodePageToken, encodePageToken } from "./page-token";
import { jsonBody, parseOrInvalid } from "./validate";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { derivedUuid } from "../../identity/secrets";
import { requestEvents, requestOrigin } from "../../middleware/event-scope";
import { repositoryAccess } from "../../identity/permissions";
import {
  createRepository,
  findRepository,
  newNameProblem,
  setDescription,
  setVisibility,
} from "../../registry/repositories";
import { coreDbFor } from "../../db/core-fan-out";
import { deleteRepository } from "../../registry/repository-deletion";
import { listRepositories, repositoryView } from "../../registry/repository-views";
import { changeableRepository, reader, repositoryParam, subjectOf } from "./repository-access";

export const repositoryRoutes = new Hono<AppEnv>();

const REPOSITORY = "/repository/:repository{.+}";

/** Quay's `truthy_bool` query parameters. */
export const truthy = z
  .enum(["true", "false", "True", "False", "1", "0"])
  .transform((v) => v === "true" || v === "True" || v === "1")
  .optional();

/** Quay's `NewRepo` schema: repository, visibility and description required. */
const createBody = z.object({
  // Length is part of the name rule below (Quay: "Invalid repository name").
  repository: z.string().max(1024),
  visibility: z.enum(["public", "private"]),
  description: z.string(),
  namespace: z.string().min(1).max(255).optional(),
  repo_kind: z.enum(["image", "application"]).nullable().optional(),
});

documented("POST", "/repository", {
  operationId: "createRepo",
  summary: "Create a new repository.",
  scope: "repo:create",
  body: createBody,
  status: 201,
});
repositoryRoutes.post("/repository", async (c) => {
  const user = callerWith(c.var.caller, "repo:create");
  const body = await jsonBody(c, createBody);
  const namespace = body.namespace ?? user.username;
  // Quay's order: the right to create, then the name's existence, then its form.
  if (!(await repositoryAccess(c.var.db, subjectOf(user)).canCreate(namespace)))
    throw new ApiError("insufficient_scope");
  const name = `${namespace}/${body.repository}`;
  if (await findRepository(c.var.db, name)) throw invalid("Repository already exists");
  const problem = newNameProblem(namespace, body.repository);
  if (problem) throw invalid(problem);
  const kind = body.repo_kind ?? "image";
  const outcome = await createRepository(
    c.var.db,
    { name, visibility: body.visibility, description: body.description, kind, creator: user },
    requestEvents(c),
  );
  if (!outcome.ok)
    throw outcome.reason === "exists" ? invalid("Repository already exists") : new ApiError("insufficient_scope");
  return c.json({ namespace, name: body.repository, kind }, 201);
});

const listQuery = z.object({
  namespace: z.string().max(255).optional(),
  starred: truthy,
  public: truthy,
  last_modified: truthy,
  popularity: truthy,
  repo_kind: z.enum(["image", "application"]).optional(),
  next_page: z.string().optional(),
});

documented("GET", "/repository", {
  operationId: "listRepos",
  summary: "The repositories visible to the caller.",
  scope: "repo:read",
  query: listQuery,
});
repositoryRoutes.get("/repository", async (c) => {
  const viewer = reader(c);
  const query = parseOrInvalid(listQuery, c.req.query());
  // Quay refuses to list every visible repository unasked (its DB-load guard).
  if (!query.namespace && !query.starred && !query.public)
    throw invalid("namespace, starred or public are required for this API call");
  if (query.starred && !viewer) throw invalid("starred requires a signed-in user");
  const after = await decodePageToken(c.env, "repositories", query.next_page);
  const { items, next } = await listRepositories(c.env, c.var.db, viewer, {
    namespace: query.namespace || undefined,
    starred: query.starred ?? false,
    lastModified: query.last_modified ?? false,
    popularity: query.popularity ?? false,
    kind: query.repo_kind ?? "image",
    after,
    quotas: readConfig(c.env),
  });
  const nextPage = next === undefined ? {} : { next_page: await encodePageToken(c.env, "repositories", next) };
  return c.json({ repositories: items, ...nextPage });
});

const visibilityBody = z.object({ visibility: z.enum(["public", "private"]) });

// Before the generic routes: `{repository}` would also match `…/changevisibility`.
documented("POST", `${REPOSITORY}/changevisibility`, {
  operationId: "changeRepoVisibility",
  summary: "Change the visibility of a repository.",
  scope: "repo:admin",
  body: visibilityBody,
});
repositoryRoutes.post(`${REPOSITORY}/changevisibility`, async (c) => {
  const repository = await changeableRepository(c, "repo:admin", "admin");
  const { visibility } = await jsonBody(c, visibilityBody);
  await setVisibility(c.var.db, repository, visibility, requestEvents(c));
  return c.json({ success: true });
});

const viewQuery = z.object({ includeTags: truthy, includeStats: truthy });

documented("GET", REPOSITORY, {
  operationId: "getRepo",
  summary: "Fetch the specified repository.",
  scope: "repo:read",
  query: viewQuery,
});
repositoryRoutes.get(REPOSITORY, async (c) => {
  const viewer = reader(c);
  const query = parseOrInvalid(viewQuery, c.req.query());
  const name = repositoryParam(c);
  const access = repositoryAccess(c.var.db, subjectOf(viewer));
  const [actions, role, repository] = await Promise.all([
    access.actions(name),
    access.role(name),
    findRepository(c.var.db, name),
  ]);
  if (!repository || !actions.includes("pull")) throw notFound();
  return c.json(
    await repositoryView(c.var.db, await coreDbFor(c.env, c.var.db, repository.namespace), repository, viewer, {
      includeTags: query.includeTags ?? true,
      includeStats: query.includeStats ?? false,
      canWrite: role === "write" || role === "admin",
      canAdmin: role === "admin",
      statusToken: await derivedUuid(c.env, `repository-status:${repository.id}`),
    }),
  );
});

const updateBody = z.object({ description: z.string() });

/** Quay's `updateRepo`: the description only, for writers. */
documented("PUT", REPOSITORY, {
  operationId: "updateRepo",
  summary: "Update the description in the specified repository.",
  scope: "repo:write",
  body: updateBody,
});
repositoryRoutes.put(REPOSITORY, async (c) => {
  const repository = await changeableRepository(c, "repo:write", "write");
  const { description } = await jsonBody(c, updateBody);
  await setDescription(c.var.db, repository, description, requestEvents(c));
  return c.json({ success: true });
});

documented("DELETE", REPOSITORY, {
  operationId: "deleteRepository",
  summary: "Delete a repository.",
  scope: "repo:admin",
  status: 204,
});
repositoryRoutes.delete(REPOSITORY, async (c) => {
  const repository = await changeableRepository(c, "repo:admin", "admin");
  if (!(await deleteRepository(c.env, repository, requestOrigin(c)))) throw notFound();
  return c.body(null, 204);
});
