/**
 * Stars (Quay `endpoints/api/user.py`): `GET|POST /api/v1/user/starred` list (100 a page, with
 * `next_page`) and add (201 `{"namespace","repository"}`), `DELETE /api/v1/user/starred/{repository}`
 * removes (204). As in Quay they need user:admin, and starring also repo:read. Only repositories the
 * user can see are starred or listed: any other answers 404, like a missing one.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { callerWith } from "../../middleware/api-caller";
import { notFound } from "../../errors/domain";
import { documented } from "./openapi";
import { decodePageToken, encodePageToken } from "./page-token";
import { jsonBody, parseOrInvalid } from "./validate";
import type { Repository, User } from "../../db/schema";
import type { AppEnv } from "../app-env";
import { repositoryAccess } from "../../identity/permissions";
import { findRepository } from "../../registry/repositories";
import { canonicalRepositoryName, nameRules } from "../../registry/repository-name";
import { listStarred, starRepository, unstarRepository } from "../../registry/stars";
import { repositoryParam, subjectOf } from "./repository-access";

export const starredRoutes = new Hono<AppEnv>();

/** The repository if `user` may pull it, else undefined. */
async function visibleRepository(c: Context<AppEnv>, user: User, name: string): Promise<Repository | undefined> {
  const [actions, repository] = await Promise.all([
    repositoryAccess(c.var.db, subjectOf(user)).actions(name),
    findRepository(c.var.db, name),
  ]);
  return repository && actions.includes("pull") ? repository : undefined;
}

const listQuery = z.object({ next_page: z.string().optional() });

documented("GET", "/user/starred", {
  operationId: "listStarredRepos",
  summary: "List all starred repositories.",
  scope: "user:admin",
  query: listQuery,
});
starredRoutes.get("/user/starred", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const { next_page } = parseOrInvalid(listQuery, c.req.query());
  const after = await decodePageToken(c.env, "starred", next_page);
  const { items, next } = await listStarred(c.var.db, user, after);
  const nextPage = next === undefined ? {} : { next_page: await encodePageToken(c.env, "starred", next) };
  return c.json({ repositories: items, ...nextPage });
});

const starBody = z.object({ namespace: z.string().min(1).max(255), repository: z.string().min(1).max(255) });

/**
 * The one parsed name the pair forms. The namespace is one component: a slash in it would move
 * where the namespace ends (`a/b` + `c` is not namespace `a/b`), so such a pair names nothing.
 */
function starredName(c: Context<AppEnv>, body: z.infer<typeof starBody>): string {
  const name = body.namespace.includes("/")
    ? null
    : canonicalRepositoryName(`${body.namespace}/${body.repository}`, nameRules(c.env));
  if (name === null) throw notFound();
  return name;
}

documented("POST", "/user/starred", {
  operationId: "createStar",
  summary: "Star a repository.",
  scope: "user:admin",
  body: starBody,
  status: 201,
});
starredRoutes.post("/user/starred", async (c) => {
  callerWith(c.var.caller, "repo:read");
  const user = callerWith(c.var.caller, "user:admin");
  const body = await jsonBody(c, starBody);
  const repository = await visibleRepository(c, user, starredName(c, body));
  if (!repository) throw notFound();
  await starRepository(c.var.db, user, repository);
  return c.json({ namespace: body.namespace, repository: body.repository }, 201);
});

documented("DELETE", "/user/starred/:repository{.+}", {
  operationId: "deleteStar",
  summary: "Removes a star from a repository.",
  scope: "user:admin",
  status: 204,
});
starredRoutes.delete("/user/starred/:repository{.+}", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const name = repositoryParam(c);
  const repository = await findRepository(c.var.db, name);
  if (!repository) throw notFound();
  // A star the user holds may go even if they lost access since; otherwise 404 unless they can
  // see it, so the answer reveals nothing they could not see.
  if (!(await unstarRepository(c.var.db, user, repository)) && !(await visibleRepository(c, user, name)))
    throw notFound();
  return c.body(null, 204);
});
