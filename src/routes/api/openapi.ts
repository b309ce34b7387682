/**
 * The descriptions of the /api/v1 routes, and their OpenAPI 3.1 document (`GET /api/v1/openapi.json`).
 * Each route file states, next to its handler, the operation's id (Quay's nickname), summary, scope
 * and the very zod schemas its handler validates with ({@link documented}); the documents are built
 * from those and the router's own route list, and a test fails when a route has no description.
 * Quay's own discovery document (Swagger 2.0, `GET /api/v1/discovery`) is built from the same
 * descriptions in `swagger.ts`. The OpenAPI document leaves the superuser endpoints out.
 */
import { z } from "zod";
import type { Scope } from "../../identity/scopes";
import { SCOPES } from "../../identity/scopes";

export interface OperationDoc {
  /** Quay's nickname for the operation (its Swagger operationId), e.g. `getRepo`. */
  operationId: string;
  summary: string;
  /** The OAuth scope the route checks; null when it needs none (anonymous or sign-in endpoints). */
  scope: Scope | null;
  /** The JSON body schema the handler validates. */
  body?: z.ZodType;
  /** The query-string schema the handler validates. */
  query?: z.ZodObject;
  /** Success status, when it is not 200. */
  status?: 201 | 202 | 204 | 302;
}

const operations = new Map<string, OperationDoc>();

/** hono path → OpenAPI path: `:name{regex}` and `:name` become `{name}`; no trailing slash. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}").replace(/\/+$/, "") || "/";
}

const key = (method: string, path: string) => `${method.toUpperCase()} ${openApiPath(path)}`;

/** Records the description of `method path` (the path as registered on the /api/v1 router). */
export function documented(method: "GET" | "POST" | "PUT" | "DELETE", path: string, doc: OperationDoc): void {
  operations.set(key(method, path), doc);
}

export interface RouteEntry {
  method: string;
  path: string;
}

/** The registered routes that have no description (the discovery test keeps this empty). */
export function undocumentedRoutes(routes: readonly RouteEntry[]): string[] {
  return endpoints(routes)
    .filter((r) => !operations.has(key(r.method, r.path)))
    .map((r) => key(r.method, r.path));
}

/** A described route: its method, its path as registered, and its description. */
export interface DescribedRoute {
  method: string;
  path: string;
  doc: OperationDoc;
}

/** The routes of `routes` that have a description, once each (the Swagger document's input). */
export function describedRoutes(routes: readonly RouteEntry[]): DescribedRoute[] {
  return endpoints(routes).flatMap((route) => {
    const doc = operations.get(key(route.method, route.path));
    return doc ? [{ method: route.method, path: route.path, doc }] : [];
  });
}

/** Handlers only: middleware is registered as method ALL. */
function endpoints(routes: readonly RouteEntry[]): RouteEntry[] {
  const seen = new Set<string>();
  return routes.filter((r) => {
    if (r.method === "ALL") return false;
    const k = key(r.method, r.path);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function schemaOf(schema: z.ZodType): unknown {
  // `io: "input"`: what a client sends, before transforms (lower-casing an email and the like).
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-2020-12" });
}

/** The OpenAPI document for `routes`, served from `origin`. */
export function openApiDocument(routes: readonly RouteEntry[], origin: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of endpoints(routes)) {
    const path = openApiPath(route.path);
    if (path.startsWith("/superuser")) continue;
    const doc = operations.get(key(route.method, route.path));
    if (!doc) continue;
    const parameters: unknown[] = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    for (const [name, field] of Object.entries(doc.query?.shape ?? {})) {
      parameters.push({
        name,
        in: "query",
        required: !(field as z.ZodType).safeParse(undefined).success,
        schema: schemaOf(field as z.ZodType),
      });
    }
    const status = String(doc.status ?? 200);
    const pathItem = paths[`/api/v1${path}`] ?? {};
    paths[`/api/v1${path}`] = pathItem;
    pathItem[route.method.toLowerCase()] = {
      operationId: doc.operationId,
      summary: doc.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(doc.body
        ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(doc.body) } } } }
        : {}),
      responses: {
        [status]: { description: status === "204" ? "No content" : status === "302" ? "Redirect" : "Success" },
        default: {
          description: "Quay's error JSON",
          content: { "application/json": { schema: { $ref: "#/components/schemas/ApiError" } } },
        },
      },
      ...(doc.scope ? { security: [{ oauth2_implicit: [doc.scope] }, { bearer: [doc.scope] }] } : {}),
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Wharf API", version: "v1", description: "Quay's /api/v1, as Wharf serves it." },
    servers: [{ url: origin }],
    paths,
    components: {
      securitySchemes: {
        oauth2_implicit: {
          type: "oauth2",
          flows: { implicit: { authorizationUrl: `${origin}/oauth/authorizeapp`, scopes: SCOPES } },
        },
        bearer: { type: "http", scheme: "bearer" },
      },
      schemas: {
        ApiError: {
          type: "object",
          required: ["status", "error_message", "title", "error_type", "detail", "type"],
          properties: {
            status: { type: "integer" },
            error_message: { type: "string" },
            title: { type: "string" },
            error_type: { type: "string" },
            detail: { type: "string" },
            type: { type: "string" },
          },
        },
      },
    },
  };
}
