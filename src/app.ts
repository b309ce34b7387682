/** The Worker's hono application: /v2 today, /api/v1 and the UI's API with later issues. */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, invalidRequest } from "./api/errors";
import { readConfig } from "./config";
import { database } from "./db/client";
import type { AppEnv } from "./env";
import { publicOrigin } from "./lib/public-url";
import { RegistryError } from "./oci/errors";
import { authenticateApi } from "./api/caller";
import { api } from "./routes/api";
import { csrfTokenRoute } from "./routes/api/signin";
import { oauthRoutes } from "./routes/oauth";
import { oauth2Routes } from "./routes/oauth2";
import { v2 } from "./routes/v2";
import { R2BlobStore } from "./storage/r2-blob-store";

// /oauth (Quay's web OAuth endpoints) answers errors in the API's JSON, as Quay's do.
const isApiPath = (path: string) =>
  path === "/api/v1" || path.startsWith("/api/v1/") || path === "/csrf_token" || path === "/oauth" || path.startsWith("/oauth/");

export function createApp(): Hono<AppEnv> {
  // Not strict: `/v2` and `/v2/` (and `uploads` with or without its slash) are the same endpoint.
  const app = new Hono<AppEnv>({ strict: false });

  // First: every absolute URL the registry writes (token realm and audience, API error types)
  // comes from here, and a request whose host is no valid host[:port] is refused (RFC 9112 §3.2)
  // before anything could reflect it.
  app.use(async function originOf(c, next) {
    const { SERVER_HOSTNAME, PREFERRED_URL_SCHEME } = readConfig(c.env);
    const settings = { serverHostname: SERVER_HOSTNAME, preferredScheme: PREFERRED_URL_SCHEME };
    const origin = publicOrigin(c.req.url, c.req.header("Host"), settings);
    if (!origin) {
      if (c.req.path === "/v2" || c.req.path.startsWith("/v2/")) {
        throw new RegistryError("UNSUPPORTED", { reason: "invalid Host header" }, { status: 400, message: "invalid Host header" });
      }
      if (isApiPath(c.req.path)) throw invalidRequest("Invalid Host header");
      throw new HTTPException(400, { message: "Invalid Host header" });
    }
    c.set("publicOrigin", origin);
    await next();
  });

  app.use(async function services(c, next) {
    c.set("db", database(c.env.DB));
    c.set("store", new R2BlobStore(c.env.BLOBS));
    await next();
  });

  app.get("/health/live", (c) => c.json({ status: "ok" }));

  app.route("/v2", v2);
  app.route("/api/v1", api);
  app.get("/csrf_token", authenticateApi(), csrfTokenRoute);
  app.route("/oauth", oauthRoutes);
  app.route("/oauth2", oauth2Routes);

  app.notFound((c) => {
    if (c.req.path === "/v2" || c.req.path.startsWith("/v2/")) {
      throw new RegistryError("UNSUPPORTED", { reason: "no such endpoint" }, { status: 404 });
    }
    if (isApiPath(c.req.path)) throw new ApiError("not_found");
    return c.env.ASSETS.fetch(c.req.raw);
  });

  app.onError(function renderError(err, c) {
    if (err instanceof RegistryError) return err.toResponse(c.req.method);
    // A request refused for its host has no origin: its error type is then a relative URL.
    const origin = c.var.publicOrigin?.origin ?? "";
    if (err instanceof ApiError) return err.toResponse(origin);
    if (err instanceof HTTPException) return err.getResponse();
    console.error(JSON.stringify({ msg: "unhandled error", method: c.req.method, path: c.req.path, err: String(err), stack: (err as Error).stack }));
    if (isApiPath(c.req.path)) return new ApiError("internal_error").toResponse(origin);
    return new RegistryError("UNKNOWN", undefined, { message: "internal error" }).toResponse(c.req.method);
  });

  return app;
}
