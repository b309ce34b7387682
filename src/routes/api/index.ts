/** The /api/v1 sub-application: Quay's REST API, same paths, verbs, JSON and errors. */
import { Hono } from "hono";
import { authenticateApi } from "../../api/caller";
import type { AppEnv } from "../../env";
import { applicationRoutes } from "./applications";
import { appTokenRoutes } from "./apptoken";
import { organizationRoutes } from "./organization";
import { permissionRoutes } from "./permissions";
import { robotRoutes } from "./robots";
import { signinRoutes } from "./signin";
import { superuserRoutes } from "./superuser";
import { userRoutes } from "./user";

export const api = new Hono<AppEnv>();

api.use(authenticateApi());
api.route("/", userRoutes);
api.route("/", appTokenRoutes);
api.route("/", signinRoutes);
api.route("/", organizationRoutes);
api.route("/", applicationRoutes);
api.route("/", robotRoutes);
api.route("/", permissionRoutes);
api.route("/", superuserRoutes);
