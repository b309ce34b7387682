/**
 * Quay's search endpoints (`endpoints/api/search.py`): `GET /api/v1/entities/{prefix}` (people,
 * robots, teams and organizations for permission pickers), `GET /api/v1/find/repositories` and
 * `GET /api/v1/find/all`. None needs a scope but find/all (repo:read, as Quay); anonymous callers
 * search what is public. What a result may show is decided below the routes
 * (src/identity/entity-search.ts, src/registry/find.ts).
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { grants } from "../../identity/scopes";
import { documented } from "./openapi";
import { parseOrInvalid } from "./validate";
import type { AppEnv } from "../app-env";
import { viewerOf } from "./organization-access";
import { truthy } from "./repositories";
import { reader } from "./repository-access";
import { matchingEntities } from "../../identity/entity-search";
import { findAll, findRepositories, type Searcher } from "../../registry/find";

export const searchRoutes = new Hono<AppEnv>();

/** Quay's EntitySearch parameters: `namespace` (default ""), `includeTeams`, `includeOrgs` (truthy_bool). */
const entitiesQuery = z.object({
  namespace: z.string().max(255).optional(),
  includeTeams: truthy,
  includeOrgs: truthy,
});

documented("GET", "/entities/:prefix", {
  operationId: "getMatchingEntities",
  summary: "People, robots, teams and organizations whose names start with the prefix.",
  scope: null,
  query: entitiesQuery,
});
searchRoutes.get("/entities/:prefix", async (c) => {
  const query = parseOrInvalid(entitiesQuery, c.req.query());
  return c.json(
    await matchingEntities(c.var.db, viewerOf(c), {
      prefix: c.req.param("prefix"),
      namespace: query.namespace ?? "",
      includeTeams: query.includeTeams ?? false,
      includeOrgs: query.includeOrgs ?? false,
    }),
  );
});

/**
 * Who searches repositories: Quay's search reads the caller's name, whatever the token; Wharf
 * shows a token's user their private repositories only when it holds repo:read, else (and for
 * anonymous callers) only public ones.
 */
function searcherOf(c: Context<AppEnv>): Searcher {
  const caller = c.var.caller;
  if (caller.kind === "anonymous" || !grants(caller.scopes, "repo:read")) return undefined;
  return { user: caller.user, scopes: caller.scopes };
}

/** Quay's `page` is an integer (a malformed one is 400), clamped to 1…10. */
const repositoriesQuery = z.object({
  query: z.string().max(255).optional(),
  page: z
    .string()
    .regex(/^-?\d{1,9}$/, "page must be an integer")
    .transform(Number)
    .optional(),
});

documented("GET", "/find/repositories", {
  operationId: "conductRepoSearch",
  summary: "Pages of the repositories matching the query that the caller can see.",
  scope: null,
  query: repositoriesQuery,
});
searchRoutes.get("/find/repositories", async (c) => {
  const query = parseOrInvalid(repositoriesQuery, c.req.query());
  return c.json(await findRepositories(c.env, c.var.db, searcherOf(c), query.query ?? "", query.page ?? 1));
});

const allQuery = z.object({ query: z.string().max(255).optional() });

documented("GET", "/find/all", {
  operationId: "conductSearch",
  summary: "Repositories, namespaces, teams and robots matching the query, best first.",
  scope: "repo:read",
  query: allQuery,
});
/** Quay's `require_scope(READ_REPO)`: a token needs repo:read; anonymous callers search what is public. */
searchRoutes.get("/find/all", async (c) => {
  reader(c);
  const query = parseOrInvalid(allQuery, c.req.query());
  return c.json(await findAll(c.env, c.var.db, searcherOf(c), query.query ?? ""));
});
