import { beforeAll, describe, expect, it } from "vitest";
import { basic, grantedActions, pushAs, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";

let admin: string;
let owner: string;
let petePassword: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await api("POST", "/superuser/users", { token: admin, body: { username: "paula", email: "paula@example.com" } });
  petePassword = (
    await api("POST", "/superuser/users", { token: admin, body: { username: "pete", email: "pete@example.com" } })
  ).json.password;
  owner = await tokenFor("paula", ["org:admin", "repo:admin", "user:admin"]);
  await api("POST", "/organization/", { token: owner, body: { name: "shop" } });
  await api("POST", "/organization/", { token: owner, body: { name: "other" } });
  await api("PUT", "/organization/shop/team/web", { token: owner, body: { role: "member" } });
  await api("PUT", "/organization/shop/team/web/members/pete", { token: owner });
  await api("PUT", "/organization/other/team/strangers", { token: owner, body: { role: "member" } });
  await pushAs("paula", "shop/site");
  await pushAs("paula", "shop/nested/deep");
  await pushAs("paula", "paula/personal");
});

describe("repository team permissions", () => {
  it("grants, reads, lists and removes a team's role with Quay's JSON; members get the role at /v2/auth", async () => {
    expect(await grantedActions(basic("pete", petePassword), "shop/site")).toEqual([]);
    const put = await api("PUT", "/repository/shop/site/permissions/team/web", {
      token: owner,
      body: { role: "read" },
    });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({
      role: "read",
      name: "web",
      avatar: expect.objectContaining({ name: "web", kind: "team" }),
    });
    expect(await grantedActions(basic("pete", petePassword), "shop/site")).toEqual(["pull"]);

    expect((await api("GET", "/repository/shop/site/permissions/team/web", { token: owner })).json).toEqual(put.json);
    await api("PUT", "/repository/shop/site/permissions/team/web", { token: owner, body: { role: "write" } });
    const list = await api("GET", "/repository/shop/site/permissions/team/", { token: owner });
    expect(list.json).toEqual({
      permissions: { web: { role: "write", name: "web", avatar: expect.objectContaining({ kind: "team" }) } },
    });
    expect(await grantedActions(basic("pete", petePassword), "shop/site")).toEqual(["pull", "push", "delete"]);
    // The team permission does not show among the user permissions.
    expect(
      (await api("GET", "/repository/shop/site/permissions/user/", { token: owner })).json.permissions,
    ).not.toHaveProperty("web");
    expect((await api("GET", "/organization/shop", { token: owner })).json.teams.web.repo_count).toBe(1);

    expect((await api("DELETE", "/repository/shop/site/permissions/team/web", { token: owner })).status).toBe(204);
    expect(await grantedActions(basic("pete", petePassword), "shop/site")).toEqual([]);
    const gone = await api("GET", "/repository/shop/site/permissions/team/web", { token: owner });
    expectQuayError(gone, 400, "invalid_request", "Team does not have permission for repo.");
    expect(gone.json.message).toBe("Team does not have permission for repo.");
    expectQuayError(
      await api("DELETE", "/repository/shop/site/permissions/team/web", { token: owner }),
      400,
      "invalid_request",
      "Team does not have permission for repo.",
    );
    expect((await api("GET", "/repository/shop/site/permissions/team/", { token: owner })).json).toEqual({
      permissions: {},
    });
  });

  it("a member's strongest grant counts: a team's write over a personal read", async () => {
    await api("PUT", "/repository/shop/nested/deep/permissions/user/pete", { token: owner, body: { role: "read" } });
    expect(await grantedActions(basic("pete", petePassword), "shop/nested/deep")).toEqual(["pull"]);
    await api("PUT", "/repository/shop/nested/deep/permissions/team/web", { token: owner, body: { role: "write" } });
    expect(await grantedActions(basic("pete", petePassword), "shop/nested/deep")).toEqual(["pull", "push", "delete"]);
    expect((await api("GET", "/organization/shop/team/web/permissions", { token: owner })).json).toEqual({
      permissions: [{ repository: { name: "nested/deep", is_public: false }, role: "write" }],
    });
  });

  it("refuses a team of another organization, a user's repository, an unknown team and a bad role", async () => {
    expectQuayError(
      await api("PUT", "/repository/shop/site/permissions/team/strangers", { token: owner, body: { role: "read" } }),
      400,
      "invalid_request",
      "No team strangers in organization shop",
    );
    expectQuayError(
      await api("PUT", "/repository/paula/personal/permissions/team/web", { token: owner, body: { role: "read" } }),
      400,
      "invalid_request",
      "No team web in organization paula",
    );
    expectQuayError(
      await api("PUT", "/repository/shop/site/permissions/team/nobody", { token: owner, body: { role: "read" } }),
      400,
      "invalid_request",
      "No team nobody in organization shop",
    );
    expectQuayError(
      await api("GET", "/repository/shop/site/permissions/team/nobody", { token: owner }),
      400,
      "invalid_request",
      "Team does not have permission for repo.",
    );
    expectQuayError(
      await api("PUT", "/repository/shop/site/permissions/team/web", { token: owner, body: { role: "owner" } }),
      400,
      "invalid_request",
    );
  });

  it("answers only the repository's admins, with repo:admin", async () => {
    const pete = await tokenFor("pete", ["repo:admin"]);
    for (const [method, path] of [
      ["GET", "/repository/shop/site/permissions/team/"],
      ["GET", "/repository/shop/site/permissions/team/web"],
      ["PUT", "/repository/shop/site/permissions/team/web"],
      ["DELETE", "/repository/shop/site/permissions/team/web"],
    ] as const) {
      const body = method === "PUT" ? { role: "read" } : undefined;
      expectQuayError(await api(method, path, { body }), 401, "invalid_token");
      expectQuayError(await api(method, path, { token: pete, body }), 403, "insufficient_scope");
      expectQuayError(
        await api(method, path, { token: await tokenFor("paula", ["repo:write", "org:admin"]), body }),
        403,
        "insufficient_scope",
      );
      expectQuayError(
        await api(method, path.replace("/site/", "/missing/"), { token: pete, body }),
        403,
        "insufficient_scope",
      );
      expectQuayError(await api(method, path.replace("/site/", "/missing/"), { token: owner, body }), 404, "not_found");
    }
    // A team with admin on the repository makes its members its admins.
    await api("PUT", "/repository/shop/site/permissions/team/web", { token: owner, body: { role: "admin" } });
    expect((await api("GET", "/repository/shop/site/permissions/team/", { token: pete })).status).toBe(200);
  });
});
