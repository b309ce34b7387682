import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { basic, grantedActions, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { pushBlob, request } from "../helpers/registry";

let admin: string;
let owner: string;
let guest: string;
let guestPassword: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await api("POST", "/superuser/users", { token: admin, body: { username: "olga", email: "olga@example.com" } });
  guestPassword = (
    await api("POST", "/superuser/users", { token: admin, body: { username: "gus", email: "gus@example.com" } })
  ).json.password;
  owner = await tokenFor("olga", ["repo:admin", "user:admin"]);
  guest = await tokenFor("gus", ["repo:admin"]);
  await pushBlob("olga/tools", "tool bytes");
  await pushBlob("olga/nested/deep", "deep bytes");
});

describe("repository user permissions", () => {
  it("grants, reads, lists and removes a user's role; the role decides what /v2/auth grants", async () => {
    expect(await grantedActions(basic("gus", guestPassword), "olga/tools")).toEqual([]);
    const put = await api("PUT", "/repository/olga/tools/permissions/user/gus", {
      token: owner,
      body: { role: "read" },
    });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({
      role: "read",
      name: "gus",
      is_robot: false,
      avatar: expect.objectContaining({ name: "gus", kind: "user" }),
    });
    expect(await grantedActions(basic("gus", guestPassword), "olga/tools")).toEqual(["pull"]);

    expect((await api("GET", "/repository/olga/tools/permissions/user/gus", { token: owner })).json).toMatchObject({
      role: "read",
      name: "gus",
    });
    await api("PUT", "/repository/olga/tools/permissions/user/gus", { token: owner, body: { role: "write" } });
    const list = await api("GET", "/repository/olga/tools/permissions/user/", { token: owner });
    expect(list.json).toEqual({ permissions: { gus: expect.objectContaining({ role: "write", name: "gus" }) } });
    expect(await grantedActions(basic("gus", guestPassword), "olga/tools")).toEqual(["pull", "push", "delete"]);

    // The catalog shows what the grant makes visible.
    const catalogToken = decodeJwt(
      (
        (await (
          await request("GET", "/v2/auth?scope=registry:catalog:*", {
            token: null,
            headers: { Authorization: basic("gus", guestPassword) },
          })
        ).json()) as { token: string }
      ).token,
    );
    expect(catalogToken.sub).toBe("gus");

    expect((await api("DELETE", "/repository/olga/tools/permissions/user/gus", { token: owner })).status).toBe(204);
    expect(await grantedActions(basic("gus", guestPassword), "olga/tools")).toEqual([]);
    const gone = await api("GET", "/repository/olga/tools/permissions/user/gus", { token: owner });
    expectQuayError(gone, 400, "invalid_request", "User does not have permission for repo.");
    expect(gone.json.message).toBe("User does not have permission for repo.");
    expectQuayError(
      await api("DELETE", "/repository/olga/tools/permissions/user/gus", { token: owner }),
      400,
      "invalid_request",
    );
  });

  it("works on nested repository names", async () => {
    const put = await api("PUT", "/repository/olga/nested/deep/permissions/user/gus", {
      token: owner,
      body: { role: "read" },
    });
    expect(put.status).toBe(200);
    expect(await grantedActions(basic("gus", guestPassword), "olga/nested/deep")).toEqual(["pull"]);
  });

  it("lets an admin-role holder administer, and nobody else, whether or not the repository exists", async () => {
    expectQuayError(
      await api("GET", "/repository/olga/tools/permissions/user/", { token: guest }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("GET", "/repository/olga/missing/permissions/user/", { token: guest }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("GET", "/repository/olga/missing/permissions/user/", { token: owner }), 404, "not_found");
    await api("PUT", "/repository/olga/tools/permissions/user/gus", { token: owner, body: { role: "admin" } });
    expect((await api("GET", "/repository/olga/tools/permissions/user/", { token: guest })).status).toBe(200);
    expectQuayError(
      await api("GET", "/repository/olga/tools/permissions/user/", { token: await tokenFor("olga", ["repo:write"]) }),
      403,
      "insufficient_scope",
    );
  });

  it("refuses an unknown user, an organization, and a role Quay does not have", async () => {
    expectQuayError(
      await api("PUT", "/repository/olga/tools/permissions/user/nobody", { token: owner, body: { role: "read" } }),
      400,
      "invalid_request",
      "Invalid username: nobody",
    );
    expectQuayError(
      await api("PUT", "/repository/olga/tools/permissions/user/gus", { token: owner, body: { role: "owner" } }),
      400,
      "invalid_request",
    );
    await api("POST", "/organization", { token: owner, body: { name: "olgacorp" } });
    expectQuayError(
      await api("PUT", "/repository/olga/tools/permissions/user/olgacorp", { token: owner, body: { role: "read" } }),
      400,
      "invalid_request",
    );
  });
});
