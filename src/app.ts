/** The Worker's hono application: /v2, /v1 (docker search), /api/v1, /oauth, /oauth2, /connector/v1 and health; the UI's assets behind them. */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, apiErrorOf } from "./routes/api/errors";
import { readConfig } from "./config";
import { database } from "./db/client";
import { countD1Queries } from "./db/query-counter";
import type { AppEnv } from "./routes/app-env";
import { bodyEndedEarly, DomainError, invalid, isBodyEndedEarly } from "./errors/domain";
import { publicOrigin } from "./lib/public-url";
import { BodyEndedEarlyError } from "./lib/request-body";
import { authenticateApi } from "./middleware/api-caller";
import { refuseInvalidConfiguration } from "./middleware/config-gate";
import { refuseWritesWhileReadOnly } from "./middleware/read-only";
import { meter } from "./middleware/metering";
import { api } from "./routes/api";
import { aggregateLogsAlias } from "./routes/api/logs";
import { csrfTokenRoute } from "./routes/api/signin";
import { connectorNotFound, connectorRoutes } from "./routes/connector";
import { mailLinkRoutes } from "./routes/mail-links";
import { exportedLogsRoutes } from "./routes/exported-logs";
import { secscanRoutes } from "./routes/secscan";
import { filedropRoutes } from "./routes/filedrop";
import { healthRoutes } from "./routes/health";
import { metricsRoutes } from "./routes/metrics";
import { oauthRoutes } from "./routes/oauth";
import { oauth2Routes } from "./routes/oauth2";
import { oauth2LoginRoutes } from "./routes/oauth2-login";
import { publicConfigRoutes } from "./routes/public-config";
import { webRoutes } from "./routes/web";
import { webhookRoutes } from "./routes/webhooks";
import { plainError, surfaceOf } from "./routes/surfaces";
import { serveUi } from "./routes/ui-pages";
import { v1 } from "./routes/v1";
import { v2 } from "./routes/v2";
import { RegistryError, registryErrorOf } from "./routes/v2/errors";
import { R2BlobStore } from "./storage/r2-blob-store";
import { loggableError, loggableStack } from "./lib/loggable-error";

export function createApp(): Hono<AppEnv> {
  // Not strict: `/v2` and `/v2/` (and `uploads` with or without its slash) are the same endpoint.
  const app = new Hono<AppEnv>({ strict: false });

  // Around everything: every answer, errors included, is counted, and the counts leave after it
  // (src/middleware/metering.ts).
  app.use(meter());
  // Before all: a configuration that does not validate answers 503 naming the bad keys (never a 500).
  app.use(refuseInvalidConfiguration());

  // Then: every absolute URL the registry writes (token realm and audience, API error types)
  // comes from here, and a request whose host is no valid host[:port] is refused (RFC 9112 §3.2)
  // before anything could reflect it.
  app.use(async function originOf(c, next) {
    const { SERVER_HOSTNAME, PREFERRED_URL_SCHEME } = readConfig(c.env);
    const settings = { serverHostname: SERVER_HOSTNAME, preferredScheme: PREFERRED_URL_SCHEME };
    const origin = publicOrigin(c.req.url, c.req.header("Host"), settings);
    if (!origin) {
      switch (surfaceOf(c.req.path)) {
        case "registry":
          throw new RegistryError(
            "UNSUPPORTED",
            { reason: "invalid Host header" },
            { status: 400, message: "invalid Host header" },
          );
        case "api":
          throw invalid("Invalid Host header");
        case "plain":
          return plainError(400, "Invalid Host header");
        case null:
          return new Response("Invalid Host header", { status: 400 });
      }
    }
    c.set("publicOrigin", origin);
    return next();
  });

  app.use(async function services(c, next) {
    // Dev only (BENCH_COUNT_D1): the bench's count of D1 statements per request (src/db/query-counter.ts).
    if (readConfig(c.env).BENCH_COUNT_D1) c.env = countD1Queries(c.env);
    c.set("db", database(c.env.DB));
    // /v2 replaces both with the path namespace's sessions (src/middleware/db-session.ts).
    c.set("core", c.var.db);
    c.set("coreShard", 0);
    c.set("store", new R2BlobStore(c.env.BLOBS));
    await next();
  });

  // Quay's read-only mode: every write refused here, in one place (src/middleware/read-only.ts).
  app.use(refuseWritesWhileReadOnly());

  app.get("/health/live", (c) => c.json({ status: "ok" }));
  app.route("/", healthRoutes);
  app.route("/", metricsRoutes);

  // Quay's documented misspelling of `aggregatelogs`, answered as the right path (src/routes/api/logs.ts).
  app.get("/api/v1/*", async (c, next) => {
    const alias = aggregateLogsAlias(c.req.path);
    if (alias === null) return next();
    const url = new URL(c.req.url);
    url.pathname = alias;
    return app.fetch(new Request(url, c.req.raw), c.env, c.executionCtx);
  });

  app.route("/v1", v1);
  app.route("/v2", v2);
  app.route("/api/v1", api);
  app.get("/csrf_token", authenticateApi(), csrfTokenRoute);
  app.route("/", mailLinkRoutes);
  app.route("/", exportedLogsRoutes);
  app.route("/", secscanRoutes);
  app.route("/connector/v1", connectorRoutes);
  app.route("/", filedropRoutes);
  app.route("/oauth", oauthRoutes);
  app.route("/oauth2", oauth2Routes);
  app.route("/oauth2", oauth2LoginRoutes);
  app.route("/", publicConfigRoutes);
  app.route("/", webRoutes);
  app.route("/", webhookRoutes);

  // An unknown path under one of the Worker's surfaces is a 404 in that surface's JSON; only the
  // rest goes to the UI, whose single-page fallback answers 200 HTML (src/routes/surfaces.ts).
  app.notFound((c) => {
    switch (surfaceOf(c.req.path)) {
      case "registry":
        throw new RegistryError("UNSUPPORTED", { reason: "no such endpoint" }, { status: 404 });
      case "api":
        throw new ApiError("not_found");
      case "plain":
        // The connectors' surface answers its own error shape (docs/connector.md).
        return c.req.path.startsWith("/connector/") ? connectorNotFound() : plainError(404, "Not Found");
      case null:
        return serveUi(c);
    }
  });

  app.onError(function renderError(err, c) {
    // A request refused for its host has no origin: its error type is then a relative URL.
    const origin = c.var.publicOrigin?.origin ?? "";
    const surface = surfaceOf(c.req.path);
    // A client that stopped sending mid-body (issue #12) is an expected abort, not a server fault:
    // logged as such and answered 400, which a client that only half-closed still reads.
    if (err instanceof BodyEndedEarlyError) err = bodyEndedEarly();
    if (err instanceof DomainError && isBodyEndedEarly(err)) {
      console.log(JSON.stringify({ msg: err.message, expected: true, method: c.req.method, path: c.req.path }));
      err = surface === "api" ? apiErrorOf(err) : registryErrorOf(err);
    }
    if (err instanceof DomainError) {
      // Quay's error JSON on /api/v1 and /oauth, `{"error"}` on the plain surfaces (/oauth2, /v1…),
      // OCI's envelope on /v2 (and the UI's paths, which raise none). A refused login, for one, is
      // TOOMANYREQUESTS, too_many_requests or a plain 429, each with Retry-After (RFC 6585 §4).
      if (surface === "registry" || surface === null) err = registryErrorOf(err);
      else {
        const answer = apiErrorOf(err);
        c.set("errorCode", answer.errorType);
        return surface === "api"
          ? answer.toResponse(origin)
          : plainError(answer.status, answer.message, answer.headers);
      }
    }
    // The code the metrics count the answer by (src/middleware/metering.ts).
    if (err instanceof RegistryError) {
      c.set("errorCode", err.code);
      return err.toResponse(c.req.method);
    }
    if (err instanceof ApiError) {
      c.set("errorCode", err.errorType);
      return err.toResponse(origin);
    }
    if (err instanceof HTTPException) return err.getResponse();
    c.set("errorCode", "internal_error");
    console.error(
      JSON.stringify({
        msg: "unhandled error",
        method: c.req.method,
        path: c.req.path,
        err: loggableError(err),
        stack: loggableStack(err),
      }),
    );
    if (surface === "api") return new ApiError("internal_error").toResponse(origin);
    if (surface === "plain") return plainError(500, "Internal error");
    return new RegistryError("UNKNOWN", undefined, { message: "internal error" }).toResponse(c.req.method);
  });

  return app;
}
