import { describe, expect, it } from "vitest";
import { api as apiRouter } from "../../../src/routes/api";
import { undocumentedRoutes } from "../../../src/routes/api/openapi";
import { isInternalRoute } from "../../../src/routes/api/swagger";
import { api } from "../helpers/api";

describe("GET /api/v1/openapi.json", () => {
  it("describes every /api/v1 route: no route is left without its description", () => {
    expect(undocumentedRoutes(apiRouter.routes)).toEqual([]);
  });

  it("answers anyone with an OpenAPI document built from the routes' own zod schemas", async () => {
    const res = await api("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe("3.1.0");
    const put = res.json.paths["/api/v1/user/robots/{shortname}"].put;
    expect(put).toMatchObject({
      operationId: "createUserRobot",
      security: [{ oauth2_implicit: ["user:admin"] }, { bearer: ["user:admin"] }],
    });
    expect(put.parameters).toEqual([{ name: "shortname", in: "path", required: true, schema: { type: "string" } }]);
    expect(put.requestBody.content["application/json"].schema.properties).toHaveProperty("description");
    expect(put.responses).toHaveProperty("201");
    const list = res.json.paths["/api/v1/user/robots"].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(["token", "permissions", "limit"]);
    expect(res.json.paths["/api/v1/superuser/users"]).toBeUndefined();
    expect(res.json.components.securitySchemes.oauth2_implicit.flows.implicit.scopes).toHaveProperty("repo:read");
  });
});

// Quay's endpoints/api/discovery.py: swagger 2.0, host, basePath "/", schemes, info, paths keyed by
// the full path with x-name/x-path/x-tag, operations with operationId (the nickname), description,
// tags, parameters {name, in, required, description, type | schema}, security [{oauth2_implicit:
// [scope]}], responses 400/401/403/404 (ApiError) plus 200/201/204 by verb, definitions, tags,
// securityDefinitions.oauth2_implicit {type, flow: "implicit", authorizationUrl, scopes}.
describe("GET /api/v1/discovery (Quay's Swagger 2.0 document)", () => {
  it("answers anyone with Quay's document shape", async () => {
    const res = await api("GET", "/discovery");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/application\/json/);
    expect(res.json).toMatchObject({
      swagger: "2.0",
      host: "registry.test",
      basePath: "/",
      schemes: ["http"],
      info: { version: "v1" },
      securityDefinitions: {
        oauth2_implicit: {
          type: "oauth2",
          flow: "implicit",
          authorizationUrl: "http://registry.test/oauth/authorize",
          scopes: { "repo:read": "View all visible repositories", "super:user": "Super User Access" },
        },
      },
      definitions: { ApiError: { required: ["status", "type", "title"] } },
    });
    expect(res.json.tags).toContainEqual({ name: "repository", description: "List, create and manage repositories." });
  });

  it("describes an operation with its path parameters, scope, Quay's x- fields and responses", async () => {
    const { json } = await api("GET", "/discovery");
    const item = json.paths["/api/v1/repository/{repository}"];
    expect(item).toMatchObject({ "x-path": "/api/v1/repository/{repository}", "x-tag": "repository" });
    const repositoryParameter = {
      name: "repository",
      in: "path",
      required: true,
      description: "The full path of the repository. e.g. namespace/name",
      type: "string",
    };
    expect(item.parameters).toEqual([repositoryParameter]);
    const get = item.get;
    expect(get).toMatchObject({
      operationId: "getRepo",
      tags: ["repository"],
      security: [{ oauth2_implicit: ["repo:read"] }],
    });
    expect(get.description).toEqual(expect.any(String));
    expect(get.parameters[0]).toEqual(repositoryParameter);
    expect(Object.keys(get.responses).sort()).toEqual(["200", "400", "401", "403", "404"]);
    expect(get.responses["404"]).toEqual({ description: "Not found", schema: { $ref: "#/definitions/ApiError" } });
    expect(Object.keys(item.delete.responses)).toContain("204");
  });

  it("types the query parameters as Quay does (boolean, integer, string; required; enum)", async () => {
    const { json } = await api("GET", "/discovery");
    const list = json.paths["/api/v1/repository"].get;
    expect(list.operationId).toBe("listRepos");
    const byName = Object.fromEntries(list.parameters.map((p: { name: string }) => [p.name, p]));
    expect(byName.public).toMatchObject({ in: "query", type: "boolean", required: false });
    expect(byName.namespace).toMatchObject({ in: "query", type: "string", required: false });
    const robots = json.paths["/api/v1/user/robots"].get;
    expect(robots.parameters.find((p: { name: string }) => p.name === "limit")).toMatchObject({ type: "integer" });
    const discovery = json.paths["/api/v1/discovery"].get;
    expect(discovery.parameters).toEqual([
      {
        name: "internal",
        in: "query",
        required: false,
        description: "Whether to include internal APIs.",
        type: "boolean",
      },
    ]);
  });

  it("gives a request body as a body parameter referencing its definition", async () => {
    const { json } = await api("GET", "/discovery");
    const create = json.paths["/api/v1/repository"].post;
    expect(create.operationId).toBe("createRepo");
    const body = create.parameters.find((p: { in: string }) => p.in === "body");
    expect(body).toEqual({
      name: "body",
      in: "body",
      required: true,
      description: "Request body contents.",
      schema: { $ref: "#/definitions/CreateRepo" },
    });
    expect(json.definitions.CreateRepo).toMatchObject({ type: "object" });
    expect(json.definitions.CreateRepo.required).toEqual(expect.arrayContaining(["repository", "visibility"]));
    expect(create.responses).toHaveProperty("201");
    expect(create.security).toEqual([{ oauth2_implicit: ["repo:create"] }]);
  });

  it("adds the internal and superuser operations only with internal=true, marked x-internal", async () => {
    const plain = (await api("GET", "/discovery")).json;
    expect(plain.paths["/api/v1/superuser/users"]).toBeUndefined();
    expect(plain.paths["/api/v1/signin"]).toBeUndefined();
    expect(JSON.stringify(plain)).not.toContain('"x-internal"');

    const full = await api("GET", "/discovery?internal=true");
    expect(full.status).toBe(200);
    expect(full.json.paths["/api/v1/superuser/users"].get).toMatchObject({
      operationId: "listAllUsers",
      "x-internal": true,
      security: [{ oauth2_implicit: ["super:user"] }],
    });
    expect(full.json.paths["/api/v1/signin"].post).toMatchObject({ operationId: "signinUser", "x-internal": true });
    // Quay's truthy_bool: anything else is a refusal, not a silent false.
    expect((await api("GET", "/discovery?internal=maybe")).status).toBe(400);
    expect((await api("GET", "/discovery?internal=0")).json.paths["/api/v1/superuser/users"]).toBeUndefined();
  });

  it("counts as superuser every route under /superuser or needing super:user, wherever it lives", () => {
    const route = (method: string, path: string, operationId: string, scope: "super:user" | "repo:read" | null) => ({
      method,
      path,
      doc: { operationId, summary: "", scope },
    });
    expect(isInternalRoute(route("POST", "/messages", "createGlobalMessage", "super:user"))).toBe(true);
    expect(isInternalRoute(route("GET", "/messages", "getGlobalMessages", null))).toBe(false);
    expect(isInternalRoute(route("POST", "/superusers/users/:username/sendrecovery", "x", null))).toBe(true);
    expect(isInternalRoute(route("POST", "/signin", "signinUser", null))).toBe(true);
    expect(isInternalRoute(route("GET", "/repository/:repository{.+}", "getRepo", "repo:read"))).toBe(false);
  });

  it("names each operationId once", async () => {
    const { json } = await api("GET", "/discovery?internal=true");
    const ids = Object.values(json.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((item) =>
      Object.values(item).flatMap((op) =>
        op && typeof op === "object" && "operationId" in op ? [op.operationId] : [],
      ),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });
});
