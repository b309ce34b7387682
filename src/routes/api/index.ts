/** The /api/v1 sub-application: Quay's REST API, same paths, verbs, JSON and errors. */
import { Hono } from "hono";
import { authenticateApi } from "../../middleware/api-caller";
import { documented, openApiDocument } from "./openapi";
import type { AppEnv } from "../app-env";
import { applicationRoutes } from "./applications";
import { appTokenRoutes } from "./apptoken";
import { autopruneRoutes } from "./autoprune";
import { immutabilityPolicyRoutes } from "./immutability-policies";
import { manifestRoutes } from "./manifests";
import { organizationRoutes } from "./organization";
import { permissionRoutes } from "./permissions";
import { prototypeRoutes } from "./prototypes";
import { pullStatisticsRoutes } from "./pull-statistics";
import { repositoryRoutes } from "./repositories";
import { repositoryStateRoutes } from "./repository-state";
import { robotRoutes } from "./robots";
import { signinRoutes } from "./signin";
import { starredRoutes } from "./starred";
import { superuserRoutes } from "./superuser";
import { tagRoutes } from "./tags";
import { teamRoutes } from "./teams";
import { userRoutes } from "./user";

export const api = new Hono<AppEnv>();

api.use(authenticateApi());
api.route("/", userRoutes);
api.route("/", appTokenRoutes);
api.route("/", signinRoutes);
api.route("/", autopruneRoutes);
api.route("/", organizationRoutes);
api.route("/", teamRoutes);
api.route("/", applicationRoutes);
api.route("/", robotRoutes);
api.route("/", permissionRoutes);
api.route("/", superuserRoutes);
api.route("/", prototypeRoutes);
api.route("/", starredRoutes);
api.route("/", tagRoutes);
api.route("/", manifestRoutes);
api.route("/", repositoryStateRoutes);
api.route("/", immutabilityPolicyRoutes);
api.route("/", pullStatisticsRoutes);
// Last: `/repository/{repository}` matches any deeper path, so every `/repository/{repository}/…`
// route (permissions, tags…) must be registered before it.
api.route("/", repositoryRoutes);

/**
 * Quay's `GET /api/v1/discovery`, open to anyone as in Quay: the OpenAPI document of the routes
 * above, built once per isolate and origin from their registered schemas (src/routes/api/openapi.ts).
 */
const discoveryDocuments = new Map<string, string>();
documented("GET", "/discovery", { operationId: "discovery", summary: "This API's OpenAPI description.", scope: null });
api.get("/discovery", (c) => {
  const { origin } = c.var.publicOrigin;
  let document = discoveryDocuments.get(origin);
  if (!document) {
    document = JSON.stringify(openApiDocument(api.routes, origin));
    if (discoveryDocuments.size < 16) discoveryDocuments.set(origin, document);
  }
  return c.body(document, 200, { "Content-Type": "application/json" });
});
