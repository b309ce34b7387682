import { describe, expect, it } from "vitest";
import { undocumentedRoutes } from "../../../src/routes/api/openapi";
import { api as apiRouter } from "../../../src/routes/api";
import { api } from "../helpers/api";

describe("GET /api/v1/discovery", () => {
  it("describes every /api/v1 route: no route is left without its description", () => {
    expect(undocumentedRoutes(apiRouter.routes)).toEqual([]);
  });

  it("answers anyone with an OpenAPI document built from the routes' own zod schemas", async () => {
    const res = await api("GET", "/discovery");
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
