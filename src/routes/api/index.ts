/** The /api/v1 sub-application: Quay's REST API, same paths, verbs, JSON and errors. */
import { Hono } from "hono";
import { authenticateApi } from "../../middleware/api-caller";
import type { AppEnv } from "../app-env";
import { accountRoutes } from "./account";
import { applicationRoutes } from "./applications";
import { organizationApplicationTokenRoutes } from "./organization-application-tokens";
import { appTokenRoutes } from "./apptoken";
import { authorizationRoutes } from "./authorizations";
import { autopruneRoutes } from "./autoprune";
import { mountDiscovery } from "./discovery";
import { globalMessageRoutes } from "./global-messages";
import { immutabilityPolicyRoutes } from "./immutability-policies";
import { logRoutes } from "./logs";
import { manifestRoutes } from "./manifests";
import { memberRoutes } from "./members";
import { organizationRoutes } from "./organization";
import { permissionRoutes } from "./permissions";
import { prototypeRoutes } from "./prototypes";
import { publicViewRoutes } from "./public-views";
import { registryInfoRoutes } from "./registry-info";
import { repositoryRoutes } from "./repositories";
import { robotTokenRoutes } from "./robot-tokens";
import { pullStatisticsRoutes } from "./pull-statistics";
import { repositoryStateRoutes } from "./repository-state";
import { robotRoutes } from "./robots";
import { searchRoutes } from "./search";
import { signinRoutes } from "./signin";
import { starredRoutes } from "./starred";
import { superuserRoutes } from "./superuser";
import { superuserAppTokenRoutes } from "./superuser-apptokens";
import { superuserRegistrySizeRoutes } from "./superuser-registry-size";
import { superuserOrganizationRoutes } from "./superuser-organizations";
import { tagRoutes } from "./tags";
import { teamRoutes } from "./teams";
import { transitivePermissionRoutes } from "./transitive-permissions";
import { userRoutes } from "./user";

export const api = new Hono<AppEnv>();

api.use(authenticateApi());
api.route("/", userRoutes);
api.route("/", accountRoutes);
api.route("/", authorizationRoutes);
api.route("/", appTokenRoutes);
api.route("/", signinRoutes);
api.route("/", autopruneRoutes);
api.route("/", organizationRoutes);
api.route("/", teamRoutes);
api.route("/", applicationRoutes);
api.route("/", organizationApplicationTokenRoutes);
api.route("/", robotRoutes);
api.route("/", robotTokenRoutes);
api.route("/", permissionRoutes);
api.route("/", superuserRoutes);
api.route("/", superuserOrganizationRoutes);
api.route("/", superuserAppTokenRoutes);
api.route("/", superuserRegistrySizeRoutes);
api.route("/", globalMessageRoutes);
api.route("/", prototypeRoutes);
api.route("/", starredRoutes);
api.route("/", registryInfoRoutes);
api.route("/", tagRoutes);
api.route("/", manifestRoutes);
api.route("/", memberRoutes);
api.route("/", transitivePermissionRoutes);
api.route("/", publicViewRoutes);
api.route("/", searchRoutes);
api.route("/", repositoryStateRoutes);
api.route("/", immutabilityPolicyRoutes);
api.route("/", pullStatisticsRoutes);
api.route("/", logRoutes);
// Last: `/repository/{repository}` matches any deeper path, so every `/repository/{repository}/…`
// route (permissions, tags…) must be registered before it.
api.route("/", repositoryRoutes);

// Last: the discovery documents describe every route registered above.
mountDiscovery(api);
