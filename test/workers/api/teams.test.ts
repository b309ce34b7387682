import { beforeAll, describe, expect, it } from "vitest";
import { basic, grantedActions, pushBlobWith, tokenFor, v2Token } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { registryToken } from "../helpers/registry";

const passwords: Record<string, string> = {};
/** The Basic credentials of one of this file's users. */
const login = (user: string) => basic(user, passwords[user]!);

let admin: string;
/** olive owns `corp`; tom, cara and mia are people she adds; zed is an outsider. */
let olive: string;
let tom: string;
let zed: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["olive", "tom", "cara", "mia", "zed"]) {
    passwords[name] = (
      await api("POST", "/superuser/users", { token: admin, body: { username: name, email: `${name}@example.com` } })
    ).json.password;
  }
  olive = await tokenFor("olive", ["org:admin", "user:admin", "repo:admin"]);
  tom = await tokenFor("tom", ["org:admin", "user:admin"]);
  zed = await tokenFor("zed", ["org:admin", "user:admin"]);
  expect((await api("POST", "/organization/", { token: olive, body: { name: "corp" } })).status).toBe(201);
  expect((await api("POST", "/organization/", { token: zed, body: { name: "zedcorp" } })).status).toBe(201);
  await api("PUT", "/organization/corp/robots/ci", { token: olive });
  await api("PUT", "/organization/zedcorp/robots/bot", { token: zed });
  const owner = await registryToken([{ type: "repository", name: "corp/app", actions: ["pull", "push"] }], "olive");
  expect((await pushBlobWith(owner, "corp/app", "corp app bytes")).status).toBe(201);
});

describe("creating and changing teams", () => {
  it("creates a team with Quay's JSON, then updates it (new_team false)", async () => {
    const created = await api("PUT", "/organization/corp/team/example_team", {
      token: olive,
      body: { role: "creator" },
    });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({
      name: "example_team",
      description: "",
      can_view: true,
      role: "creator",
      avatar: {
        name: "example_team",
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        color: expect.stringMatching(/^#[0-9a-f]{6}$/),
        kind: "team",
      },
      new_team: true,
    });
    const updated = await api("PUT", "/organization/corp/team/example_team", {
      token: olive,
      body: { role: "member", description: "Builds things" },
    });
    expect(updated.json).toMatchObject({
      name: "example_team",
      role: "member",
      description: "Builds things",
      new_team: false,
    });
    const view = await api("GET", "/organization/corp", { token: olive });
    expect(view.json.teams.example_team).toMatchObject({
      role: "member",
      description: "Builds things",
      member_count: 0,
      repo_count: 0,
    });
    expect(view.json.ordered_teams).toEqual(["owners", "example_team"]);
  });

  it("refuses names outside Quay's team grammar and roles Quay does not have", async () => {
    for (const bad of ["Upper", "x", "-lead", "trail_", "a..b", "has%20space", "a".repeat(256)]) {
      const res = await api("PUT", `/organization/corp/team/${bad}`, { token: olive, body: { role: "member" } });
      expectQuayError(res, 400, "invalid_request", /^Invalid team name /);
      expect(res.json.message).toBe(res.json.error_message);
    }
    expectQuayError(
      await api("PUT", "/organization/corp/team/devs", { token: olive, body: { role: "owner" } }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("PUT", "/organization/corp/team/devs", { token: olive, body: {} }),
      400,
      "invalid_request",
    );
  });

  it("keeps the owners team admin and undeletable", async () => {
    const demote = await api("PUT", "/organization/corp/team/owners", { token: olive, body: { role: "member" } });
    expectQuayError(demote, 400, "invalid_request", /Cannot change the role of team 'owners'/);
    expectQuayError(
      await api("DELETE", "/organization/corp/team/owners", { token: olive }),
      400,
      "invalid_request",
      /Cannot delete team 'owners'/,
    );
    // Its description may change.
    expect(
      (
        await api("PUT", "/organization/corp/team/owners", {
          token: olive,
          body: { role: "admin", description: "The bosses" },
        })
      ).json,
    ).toMatchObject({ role: "admin", new_team: false });
  });

  it("refuses, as Quay, to take away the caller's only admin team", async () => {
    const mia = await tokenFor("mia", ["org:admin"]);
    await api("PUT", "/organization/corp/team/ops", { token: olive, body: { role: "admin" } });
    await api("PUT", "/organization/corp/team/ops/members/mia", { token: olive });
    expectQuayError(
      await api("PUT", "/organization/corp/team/ops", { token: mia, body: { role: "member" } }),
      400,
      "invalid_request",
      "Cannot remove admin from team 'ops' because calling user would no longer have admin on org 'corp'",
    );
    expectQuayError(
      await api("DELETE", "/organization/corp/team/ops", { token: mia }),
      400,
      "invalid_request",
      "Deleting team 'ops' would remove admin ability for user 'mia' in organization 'corp'",
    );
    expectQuayError(
      await api("DELETE", "/organization/corp/team/ops/members/mia", { token: mia }),
      400,
      "invalid_request",
      "User cannot remove themselves from their only admin team.",
    );
    // Another admin (olive, in owners) may.
    expect(
      (await api("PUT", "/organization/corp/team/ops", { token: olive, body: { role: "member" } })).json.role,
    ).toBe("member");
    expectQuayError(
      await api("GET", "/organization/corp/team/ops/permissions", { token: mia }),
      403,
      "insufficient_scope",
    );
    expect((await api("DELETE", "/organization/corp/team/ops", { token: olive })).status).toBe(204);
  });

  it("deletes a team with its memberships and permissions", async () => {
    await api("PUT", "/organization/corp/team/temp", { token: olive, body: { role: "member" } });
    await api("PUT", "/organization/corp/team/temp/members/tom", { token: olive });
    await api("PUT", "/repository/corp/app/permissions/team/temp", { token: olive, body: { role: "write" } });
    expect(await grantedActions(login("tom"), "corp/app")).toEqual(["pull", "push", "delete"]);
    expect((await api("DELETE", "/organization/corp/team/temp", { token: olive })).status).toBe(204);
    expect(await grantedActions(login("tom"), "corp/app")).toEqual([]);
    expectQuayError(await api("DELETE", "/organization/corp/team/temp", { token: olive }), 404, "not_found");
    // A new team of the same name starts empty.
    await api("PUT", "/organization/corp/team/temp", { token: olive, body: { role: "member" } });
    expect((await api("GET", "/organization/corp/team/temp/members", { token: olive })).json.members).toEqual([]);
    expect((await api("GET", "/organization/corp/team/temp/permissions", { token: olive })).json).toEqual({
      permissions: [],
    });
    await api("DELETE", "/organization/corp/team/temp", { token: olive });
  });

  it("answers only the organization's admins, with an org:admin token", async () => {
    const paths: Array<[string, string, unknown?]> = [
      ["PUT", "/organization/corp/team/devs", { role: "member" }],
      ["DELETE", "/organization/corp/team/example_team"],
      ["PUT", "/organization/corp/team/example_team/members/tom"],
      ["DELETE", "/organization/corp/team/owners/members/olive"],
      ["PUT", "/organization/corp/team/example_team/invite/x@example.com"],
      ["DELETE", "/organization/corp/team/example_team/invite/x@example.com"],
      ["GET", "/organization/corp/team/example_team/permissions"],
      ["GET", "/organization/corp/team/example_team/members"],
    ];
    const noScope = await tokenFor("olive", ["user:admin", "repo:admin"]);
    for (const [method, path, body] of paths) {
      expectQuayError(await api(method, path, { body }), 401, "invalid_token");
      expectQuayError(await api(method, path, { token: noScope, body }), 403, "insufficient_scope");
      expectQuayError(await api(method, path, { token: zed, body }), 403, "insufficient_scope");
      // An unknown organization is the same 403: nobody administers it.
      expectQuayError(
        await api(method, path.replace("/corp/", "/nocorp/"), { token: olive, body }),
        403,
        "insufficient_scope",
      );
    }
    expect((await api("GET", "/organization/corp/team/example_team/members", { token: olive })).status).toBe(200);
  });

  it("answers 404 for an unknown team, to admins only", async () => {
    for (const [method, path] of [
      ["DELETE", "/organization/corp/team/ghosts"],
      ["GET", "/organization/corp/team/ghosts/members"],
      ["PUT", "/organization/corp/team/ghosts/members/tom"],
      ["DELETE", "/organization/corp/team/ghosts/members/tom"],
      ["PUT", "/organization/corp/team/ghosts/invite/x@example.com"],
      ["GET", "/organization/corp/team/ghosts/permissions"],
    ] as const) {
      expectQuayError(await api(method, path, { token: olive }), 404, "not_found");
    }
  });
});

describe("team members", () => {
  it("adds people and the organization's robots directly, with Quay's member JSON", async () => {
    await api("PUT", "/organization/corp/team/devs", { token: olive, body: { role: "member" } });
    const added = await api("PUT", "/organization/corp/team/devs/members/tom", { token: olive });
    expect(added.status).toBe(200);
    expect(added.json).toEqual({
      name: "tom",
      kind: "user",
      is_robot: false,
      avatar: expect.objectContaining({ name: "tom", kind: "user" }),
      invited: false,
    });
    const robot = await api("PUT", "/organization/corp/team/devs/members/corp+ci", { token: olive });
    expect(robot.json).toEqual({
      name: "corp+ci",
      kind: "user",
      is_robot: true,
      avatar: expect.objectContaining({ name: "corp+ci", kind: "robot" }),
      invited: false,
    });
    const list = await api("GET", "/organization/corp/team/devs/members", { token: olive });
    expect(list.json).toEqual({ name: "devs", members: [robot.json, added.json], can_edit: true });
    expect((await api("GET", "/organization/corp", { token: olive })).json.teams.devs.member_count).toBe(2);
  });

  it("refuses another namespace's robot, unknown users, organizations and a second add", async () => {
    const foreign = await api("PUT", "/organization/corp/team/devs/members/zedcorp+bot", { token: olive });
    expectQuayError(
      foreign,
      400,
      "invalid_request",
      "Cannot add the specified robot to this team, as it is not a member of the organization",
    );
    expect(foreign.json.message).toBe(foreign.json.error_message);
    expectQuayError(
      await api("PUT", "/organization/corp/team/devs/members/nobody", { token: olive }),
      400,
      "invalid_request",
      "Unknown user",
    );
    expectQuayError(
      await api("PUT", "/organization/corp/team/devs/members/zedcorp", { token: olive }),
      400,
      "invalid_request",
      "Unknown user",
    );
    expectQuayError(
      await api("PUT", "/organization/corp/team/devs/members/tom", { token: olive }),
      400,
      "invalid_request",
      "User tom is already a member of team devs",
    );
  });

  it("lets the team's own members list it (can_edit false), and no other member of the organization", async () => {
    const own = await api("GET", "/organization/corp/team/devs/members?includePending=true", { token: tom });
    expect(own.status).toBe(200);
    expect(own.json.can_edit).toBe(false);
    expect(own.json.members.map((m: { name: string }) => m.name)).toEqual(["corp+ci", "tom"]);
    await api("PUT", "/organization/corp/team/example_team/members/cara", { token: olive });
    const cara = await tokenFor("cara", ["org:admin"]);
    expectQuayError(
      await api("GET", "/organization/corp/team/devs/members", { token: cara }),
      403,
      "insufficient_scope",
    );
    // A member who is not an admin learns nothing about teams that do not exist either.
    expectQuayError(
      await api("GET", "/organization/corp/team/ghosts/members", { token: cara }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("GET", "/organization/corp/team/devs/members?includePending=maybe", { token: olive }),
      400,
      "invalid_request",
    );
  });

  it("removes a member (204), then says they do not belong", async () => {
    expect((await api("DELETE", "/organization/corp/team/devs/members/corp+ci", { token: olive })).status).toBe(204);
    expectQuayError(
      await api("DELETE", "/organization/corp/team/devs/members/corp+ci", { token: olive }),
      400,
      "invalid_request",
      "User corp+ci does not belong to team devs",
    );
    expectQuayError(
      await api("DELETE", "/organization/corp/team/devs/members/nobody", { token: olive }),
      404,
      "not_found",
    );
  });

  it("never lets the owners team lose its last person, robots not counting", async () => {
    await api("PUT", "/organization/corp/team/owners/members/corp+ci", { token: olive });
    // olive is also an admin through another team, so Quay's own-admin rule does not apply here.
    await api("PUT", "/organization/corp/team/admins2", { token: olive, body: { role: "admin" } });
    await api("PUT", "/organization/corp/team/admins2/members/olive", { token: olive });
    const last = await api("DELETE", "/organization/corp/team/owners/members/olive", { token: olive });
    expectQuayError(
      last,
      400,
      "invalid_request",
      "Cannot remove olive from team 'owners': organization 'corp' must keep an admin",
    );
    expect(last.json.message).toBe(last.json.error_message);
    // With another person in owners, olive may leave it; the robot may always go.
    await api("PUT", "/organization/corp/team/owners/members/mia", { token: olive });
    expect((await api("DELETE", "/organization/corp/team/owners/members/olive", { token: olive })).status).toBe(204);
    expect((await api("DELETE", "/organization/corp/team/owners/members/corp+ci", { token: olive })).status).toBe(204);
    expectQuayError(
      await api("DELETE", "/organization/corp/team/owners/members/mia", { token: olive }),
      400,
      "invalid_request",
      /must keep an admin/,
    );
    await api("PUT", "/organization/corp/team/owners/members/olive", { token: olive });
    await api("DELETE", "/organization/corp/team/owners/members/mia", { token: olive });
    await api("DELETE", "/organization/corp/team/admins2", { token: olive });
  });
});

describe("what teams give their members through the registry", () => {
  it("gives a member-role team's members the team's repository role, and nothing to create", async () => {
    expect(await grantedActions(login("tom"), "corp/app")).toEqual([]);
    await api("PUT", "/repository/corp/app/permissions/team/devs", { token: olive, body: { role: "read" } });
    expect(await grantedActions(login("tom"), "corp/app")).toEqual(["pull"]);
    await api("PUT", "/repository/corp/app/permissions/team/devs", { token: olive, body: { role: "write" } });
    expect(await grantedActions(login("tom"), "corp/app")).toEqual(["pull", "push", "delete"]);
    expect(await grantedActions(login("tom"), "corp/brand-new")).toEqual([]);
    await api("DELETE", "/organization/corp/team/devs/members/tom", { token: olive });
    expect(await grantedActions(login("tom"), "corp/app")).toEqual([]);
    expect((await api("GET", "/organization/corp/team/devs/permissions", { token: olive })).json).toEqual({
      permissions: [{ repository: { name: "app", is_public: false }, role: "write" }],
    });
  });

  it("lets a creator-role team's member push a new repository into the organization, and a member-role one not", async () => {
    await api("PUT", "/organization/corp/team/builders", { token: olive, body: { role: "creator" } });
    await api("PUT", "/organization/corp/team/builders/members/cara", { token: olive });
    await api("PUT", "/organization/corp/team/devs/members/tom", { token: olive });
    expect(await grantedActions(login("tom"), "corp/fresh")).toEqual([]);
    const { token, actions: granted } = await v2Token(login("cara"), "repository:corp/fresh:pull,push,delete");
    expect(granted).toEqual(["pull", "push", "delete"]);
    expect((await pushBlobWith(token, "corp/fresh", "cara's first layer")).status).toBe(201);
    // Demoted to member, cara may no longer create.
    await api("PUT", "/organization/corp/team/builders", { token: olive, body: { role: "member" } });
    expect(await grantedActions(login("cara"), "corp/another")).toEqual([]);
  });

  it("gives an admin-role team's members every action on every repository of the organization", async () => {
    expect(await grantedActions(login("mia"), "corp/app")).toEqual([]);
    await api("PUT", "/organization/corp/team/admins3", { token: olive, body: { role: "admin" } });
    await api("PUT", "/organization/corp/team/admins3/members/mia", { token: olive });
    expect(await grantedActions(login("mia"), "corp/app")).toEqual(["pull", "push", "delete"]);
    const mia = await tokenFor("mia", ["org:admin"]);
    expect((await api("PUT", "/organization/corp/team/devs/members/zed", { token: mia })).status).toBe(200);
  });
});
