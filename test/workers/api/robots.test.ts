import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { findUser } from "../../../src/identity/users";
import { basic, db, grantedActionsOrStatus, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { BASE, pushBlob } from "../helpers/registry";

let admin: string;
let rita: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await api("POST", "/superuser/users", { token: admin, body: { username: "rita", email: "rita@example.com" } });
  rita = await tokenFor("rita", ["user:admin", "org:admin", "repo:admin", "user:read"]);
});

describe("user robots", () => {
  it("creates one with Quay's JSON and a 64-character token, readable again", async () => {
    const res = await api("PUT", "/user/robots/builder", {
      token: rita,
      body: { description: "CI", unstructured_metadata: { team: "ci" } },
    });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({
      name: "rita+builder",
      created: expect.stringMatching(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} -0000$/),
      last_accessed: null,
      description: "CI",
      unstructured_metadata: { team: "ci" },
      token: expect.stringMatching(/^[A-Z0-9]{64}$/),
    });
    const again = await api("GET", "/user/robots/builder", { token: rita });
    expect(again.json.token).toBe(res.json.token);
    // An empty body is fine (Quay's `curl -X PUT` example sends none), and so is Quay's `robot-name`.
    const bare = await api("PUT", "/user/robots/second", { token: rita });
    expect(bare.status).toBe(201);
    expect(bare.json).toMatchObject({ name: "rita+second", description: "", unstructured_metadata: null });
  });

  it("refuses a duplicate, a bad shortname and a token without user:admin", async () => {
    expectQuayError(
      await api("PUT", "/user/robots/builder", { token: rita }),
      400,
      "invalid_request",
      "Existing robot with name: rita+builder",
    );
    expectQuayError(
      await api("PUT", "/user/robots/Bad-Name", { token: rita }),
      400,
      "invalid_request",
      /The name for the robot is invalid/,
    );
    expectQuayError(
      await api("PUT", "/user/robots/a..b", { token: rita }),
      400,
      "invalid_request",
      /The name for the robot is invalid/,
    );
    expectQuayError(await api("PUT", "/user/robots/x", { token: rita }), 400, "invalid_request");
    expectQuayError(
      await api("PUT", "/user/robots/other", { token: rita, body: { bogus: 1 } }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("PUT", "/user/robots/other", { token: await tokenFor("rita", ["user:read"]) }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("GET", "/user/robots"), 401, "invalid_token");
  });

  it("lists with tokens by default, without on token=false, limited, and with permissions on request", async () => {
    const all = await api("GET", "/user/robots", { token: rita });
    expect(all.json.robots.map((r: { name: string }) => r.name)).toEqual(["rita+builder", "rita+second"]);
    expect(all.json.robots[0].token).toMatch(/^[A-Z0-9]{64}$/);
    const bare = await api("GET", "/user/robots?token=false&limit=1", { token: rita });
    expect(bare.json.robots).toHaveLength(1);
    expect(bare.json.robots[0]).not.toHaveProperty("token");
    const withPermissions = await api("GET", "/user/robots?permissions=true", { token: rita });
    expect(withPermissions.json.robots[0]).toMatchObject({ teams: [], repositories: [] });
    expectQuayError(await api("GET", "/user/robots?limit=abc", { token: rita }), 400, "invalid_request");
  });

  it("answers a missing robot as Quay does", async () => {
    const res = await api("GET", "/user/robots/ghost", { token: rita });
    expectQuayError(res, 400, "invalid_request", "Could not find robot with specified username");
    expect(res.json.message).toBe("Could not find robot with specified username");
  });

  it("logs in at /v2/auth with its token, gets only what it was granted, and regenerating ends the old token", async () => {
    const { json: robot } = await api("GET", "/user/robots/builder", { token: rita });
    await pushBlob("rita/app", "rita's bytes");
    await pushBlob("rita/secret", "other bytes");
    expect(await grantedActionsOrStatus(basic("rita+builder", robot.token), "rita/app")).toEqual([]);
    const granted = await api("PUT", "/repository/rita/app/permissions/user/rita+builder", {
      token: rita,
      body: { role: "write" },
    });
    expect(granted.json).toMatchObject({
      role: "write",
      name: "rita+builder",
      is_robot: true,
      avatar: { kind: "robot" },
    });
    expect(await grantedActionsOrStatus(basic("rita+builder", robot.token), "rita/app")).toEqual([
      "pull",
      "push",
      "delete",
    ]);
    expect(await grantedActionsOrStatus(basic("rita+builder", robot.token), "rita/secret")).toEqual([]);
    expect(await grantedActionsOrStatus(basic("rita+builder", "X".repeat(64)), "rita/app")).toBe(401);
    expect((await api("GET", "/user/robots/builder", { token: rita })).json.last_accessed).not.toBeNull();

    const perms = await api("GET", "/user/robots/builder/permissions", { token: rita });
    expect(perms.json).toEqual({ permissions: [{ repository: { name: "app", is_public: false }, role: "write" }] });
    const listed = await api("GET", "/user/robots?permissions=true", { token: rita });
    expect(listed.json.robots[0].repositories).toEqual(["app"]);

    const fresh = await api("POST", "/user/robots/builder/regenerate", { token: rita });
    expect(fresh.status).toBe(200);
    expect(fresh.json.token).not.toBe(robot.token);
    expect(await grantedActionsOrStatus(basic("rita+builder", robot.token), "rita/app")).toBe(401);
    expect(await grantedActionsOrStatus(basic("rita+builder", fresh.json.token), "rita/app")).toEqual([
      "pull",
      "push",
      "delete",
    ]);
  });

  it("deletes one; its token stops working", async () => {
    const made = await api("PUT", "/user/robots/doomed", { token: rita });
    expect(await grantedActionsOrStatus(basic("rita+doomed", made.json.token), "rita/app")).toEqual([]);
    expect((await api("DELETE", "/user/robots/doomed", { token: rita })).status).toBe(204);
    expect((await api("GET", "/user/robots/doomed", { token: rita })).status).toBe(400);
    expect(await grantedActionsOrStatus(basic("rita+doomed", made.json.token), "rita/app")).toBe(401);
  });
});

describe("organization robots", () => {
  beforeAll(async () => {
    expect((await api("POST", "/organization", { token: rita, body: { name: "fleet" } })).status).toBe(201);
  });

  it("are managed by the organization's admins only", async () => {
    const made = await api("PUT", "/organization/fleet/robots/deployer", {
      token: rita,
      body: { description: "deploys" },
    });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ name: "fleet+deployer", description: "deploys" });
    expect((await api("GET", "/organization/fleet/robots", { token: rita })).json.robots).toHaveLength(1);
    expect((await api("GET", "/organization/fleet/robots/deployer", { token: rita })).json.token).toBe(made.json.token);
    // The superuser is not a member: Quay's org robot endpoints answer 403, existing or not.
    expectQuayError(await api("GET", "/organization/fleet/robots", { token: admin }), 403, "insufficient_scope");
    expectQuayError(await api("PUT", "/organization/fleet/robots/mine", { token: admin }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/organization/nowhere/robots", { token: rita }), 403, "insufficient_scope");
    expectQuayError(
      await api("GET", "/organization/fleet/robots", { token: await tokenFor("rita", ["user:admin"]) }),
      403,
      "insufficient_scope",
    );
  });

  it("can be granted a role on the organization's repositories only", async () => {
    await pushBlob("fleet/site", "site bytes");
    const { json: robot } = await api("GET", "/organization/fleet/robots/deployer", { token: rita });
    expect(
      (
        await api("PUT", "/repository/fleet/site/permissions/user/fleet+deployer", {
          token: rita,
          body: { role: "read" },
        })
      ).json,
    ).toMatchObject({
      role: "read",
      is_org_member: true,
    });
    expect(await grantedActionsOrStatus(basic("fleet+deployer", robot.token), "fleet/site")).toEqual(["pull"]);
    expectQuayError(
      await api("PUT", "/repository/rita/app/permissions/user/fleet+deployer", { token: rita, body: { role: "read" } }),
      400,
      "invalid_request",
      "Cannot add robot fleet+deployer under namespace rita",
    );
  });

  it("are refused, created or logging in, under ROBOTS_DISALLOW", async () => {
    const { json: robot } = await api("GET", "/organization/fleet/robots/deployer", { token: rita });
    const app = createApp();
    const disallowed = { ...env, ROBOTS_DISALLOW: "true" };
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const create = await app.fetch(
      new Request(`${BASE}/api/v1/organization/fleet/robots/another`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${rita}` },
      }),
      disallowed,
      ctx,
    );
    expect(create.status).toBe(400);
    expect(((await create.json()) as { error_message: string }).error_message).toBe(
      "Cannot create robot account. Robot accounts have been disabled. Please contact your administrator.",
    );
    const login = await app.fetch(
      new Request(`${BASE}/v2/auth?scope=repository:fleet/site:pull`, {
        headers: { Authorization: basic("fleet+deployer", robot.token) },
      }),
      disallowed,
      ctx,
    );
    expect(login.status).toBe(401);
    expect(JSON.stringify(await login.json())).toContain(
      "Robot accounts have been disabled. Please contact your administrator.",
    );
  });
});

describe("the namespace's user", () => {
  it("disabled, disables their robots; deleted, deletes them", async () => {
    await api("POST", "/superuser/users", { token: admin, body: { username: "temp", email: "temp@example.com" } });
    const temp = await tokenFor("temp", ["user:admin"]);
    const robot = await api("PUT", "/user/robots/bot", { token: temp });
    expect(await grantedActionsOrStatus(basic("temp+bot", robot.json.token), "temp/x")).toEqual([]);
    // A disabled namespace's robots cannot log in either.
    await api("PUT", "/superuser/users/temp", { token: admin, body: { enabled: false } });
    expect(await grantedActionsOrStatus(basic("temp+bot", robot.json.token), "temp/x")).toBe(401);
    await api("PUT", "/superuser/users/temp", { token: admin, body: { enabled: true } });
    expect(await grantedActionsOrStatus(basic("temp+bot", robot.json.token), "temp/x")).toEqual([]);
    expect((await api("DELETE", "/superuser/users/temp", { token: admin })).status).toBe(204);
    expect(await grantedActionsOrStatus(basic("temp+bot", robot.json.token), "temp/x")).toBe(401);
    expect(await findUser(db(), "temp+bot")).toBeUndefined();
  });
});
