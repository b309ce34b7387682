/** The /v2 sub-application: the OCI Distribution API. */
import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { identify, openAccess } from "../../middleware/access";
import { blobRoutes } from "./blobs";
import { listingRoutes } from "./listings";
import { manifestRoutes } from "./manifests";
import { uploadRoutes } from "./uploads";

export const v2 = new Hono<AppEnv>();

v2.use(async function apiVersion(c, next) {
  await next();
  // Docker Registry HTTP API V2: every answer names the API version.
  try {
    c.res.headers.set("Docker-Distribution-API-Version", "registry/2.0");
  } catch {
    // Responses from bindings (R2 bodies, assets) can have immutable headers: copy only those.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set("Docker-Distribution-API-Version", "registry/2.0");
  }
});
v2.use(identify(openAccess));

// distribution-spec end-1: 200 means the registry implements the API.
v2.get("/", (c) => c.json({}));

v2.route("/", listingRoutes);
v2.route("/", uploadRoutes);
v2.route("/", blobRoutes);
v2.route("/", manifestRoutes);
