/**
 * The two descriptions of this API: Quay's `GET /api/v1/discovery` (Swagger 2.0, `swagger.ts`) and
 * Wharf's `GET /api/v1/openapi.json` (OpenAPI 3.1, `openapi.ts`), both open to anyone as Quay's is,
 * both built once per isolate, origin and variant from the routes' own descriptions.
 */
import type { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { documented, openApiDocument } from "./openapi";
import { truthy } from "./repositories";
import { swaggerDocument } from "./swagger";
import { parseOrInvalid } from "./validate";

const discoveryQuery = z.object({
  internal: truthy.describe("Whether to include internal APIs."),
});

/** Registers both documents on `api`, whose route list (all registered before) they describe. */
export function mountDiscovery(api: Hono<AppEnv>): void {
  const documents = new Map<string, string>();
  const cached = (key: string, build: () => unknown) => {
    let document = documents.get(key);
    if (!document) {
      document = JSON.stringify(build());
      // Bounded: a handful of origins (SERVER_HOSTNAME, or the Host each request names).
      if (documents.size < 32) documents.set(key, document);
    }
    return document;
  };
  const json = { "Content-Type": "application/json" };

  documented("GET", "/discovery", {
    operationId: "discovery",
    summary: "List all of the API endpoints available in the swagger API format.",
    scope: null,
    query: discoveryQuery,
  });
  api.get("/discovery", (c) => {
    const internal = parseOrInvalid(discoveryQuery, c.req.query()).internal ?? false;
    const origin = c.var.publicOrigin;
    const document = cached(`swagger ${internal} ${origin.origin}`, () =>
      swaggerDocument(api.routes, origin, internal),
    );
    return c.body(document, 200, json);
  });

  documented("GET", "/openapi.json", {
    operationId: "getOpenApiDocument",
    summary: "This API's OpenAPI 3.1 description (Wharf's own; Quay's Swagger document is /api/v1/discovery).",
    scope: null,
  });
  api.get("/openapi.json", (c) => {
    const { origin } = c.var.publicOrigin;
    return c.body(
      cached(`openapi ${origin}`, () => openApiDocument(api.routes, origin)),
      200,
      json,
    );
  });
}
