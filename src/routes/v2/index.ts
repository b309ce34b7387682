/** The /v2 sub-application: the OCI Distribution API. */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { authenticateRegistry, requireToken } from "../../middleware/access";
import { drainUnreadBody } from "../../middleware/drain-body";
import { chargeRegistryRequester } from "../../middleware/fair-use";
import { chooseDbSession } from "../../middleware/db-session";
import { authRoutes } from "./auth";
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
v2.use(drainUnreadBody());
v2.route("/", authRoutes);
v2.use(authenticateRegistry());
// After the token is read: its grants and bookmark choose the D1 session (primary or a replica).
v2.use(chooseDbSession());
v2.use(chargeRegistryRequester());

// distribution-spec end-1: 200 means the registry implements the API; with token auth, 401 and
// the challenge until the client holds a token (how `podman login` finds the token endpoint).
v2.get("/", requireToken(), (c) => c.json({}));

v2.route("/", listingRoutes);
v2.route("/", uploadRoutes);
v2.route("/", blobRoutes);
v2.route("/", manifestRoutes);
