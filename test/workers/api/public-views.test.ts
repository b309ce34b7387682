/**
 * What anyone may look up by name: `GET /api/v1/users/{username}` (Quay `endpoints/api/user.py`
 * `getUserInformation`) and `GET /api/v1/app/{client_id}` (Quay `endpoints/api/organization.py`
 * `getApplicationInformation`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { makeUser, tokenFor } from "../helpers/accounts";
import { api, avatarMatching, expectQuayError, initializeAdmin } from "../helpers/api";

let admin: string;
let uma: string;
let clientId: string;

const ORG = "pvorg";

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["uma", "vic"]) await makeUser(admin, name);
  uma = await tokenFor("uma");
  await api("POST", "/organization/", { token: uma, body: { name: ORG, email: "ops@pvorg.example" } });
  await api("PUT", `/organization/${ORG}/robots/bot`, { token: uma });
  const app = await api("POST", `/organization/${ORG}/applications`, {
    token: uma,
    body: {
      name: "Deployer",
      description: "Deploys things",
      application_uri: "https://deployer.example",
      redirect_uri: "https://deployer.example/cb",
      avatar_email: "deployer@example.com",
    },
  });
  clientId = app.json.client_id;
});

describe("GET /users/{username}", () => {
  // Quay endpoints/api/user.py user_view: anonymous, username, avatar for anyone.
  const publicView = { anonymous: false, username: "uma", avatar: avatarMatching("uma", "user") };

  it("shows anyone, anonymous included, only the public part", async () => {
    const anonymous = await api("GET", "/users/uma");
    expect(anonymous.status).toBe(200);
    expect(anonymous.json).toEqual(publicView);
    expect((await api("GET", "/users/uma", { token: await tokenFor("vic") })).json).toEqual(publicView);
  });

  it("adds the user's organizations for themselves with user:read, without the admin-only fields", async () => {
    const res = await api("GET", "/users/uma", { token: await tokenFor("uma", ["user:read"]) });
    // Quay user_view.org_view(o, user_admin=False): name, avatar, can_create_repo, public.
    expect(res.json).toEqual({
      ...publicView,
      organizations: [{ name: ORG, avatar: avatarMatching(ORG, "org"), can_create_repo: false, public: false }],
    });
  });

  it("shows the user themselves, with user:admin, their whole own view", async () => {
    const res = await api("GET", "/users/uma", { token: uma });
    expect(res.json).toMatchObject({ ...publicView, is_me: true, email: "uma@example.com", can_create_repo: true });
    expect(res.json.organizations).toEqual([expect.objectContaining({ name: ORG, is_org_admin: true })]);
  });

  it("tells a superuser (super:user) whether the user is themselves", async () => {
    expect((await api("GET", "/users/uma", { token: admin })).json).toEqual({ ...publicView, super_user: false });
    const own = await api("GET", "/users/admin", { token: await tokenFor("admin", ["super:user"]) });
    expect(own.json).toMatchObject({ username: "admin", super_user: true });
    expect(own.json).not.toHaveProperty("email");
  });

  it("answers 404 for a robot, an organization and an unknown name, and 401 for a token that is none", async () => {
    for (const name of [`${ORG}+bot`, ORG, "nobody"])
      expectQuayError(await api("GET", `/users/${name}`), 404, "not_found");
    expectQuayError(await api("GET", "/users/uma", { token: "not-a-token" }), 401, "invalid_token");
  });
});

describe("GET /app/{client_id}", () => {
  it("shows anyone the application's public part and its organization from outside, never its secret", async () => {
    const res = await api("GET", `/app/${clientId}`);
    expect(res.status).toBe(200);
    // Quay endpoints/api/organization.py ApplicationInformation: name, description, uri, avatar
    // (kind app), organization (org_view(org, []): name, email, avatar, is_admin, is_member, teams,
    // ordered_teams).
    expect(res.json).toEqual({
      name: "Deployer",
      description: "Deploys things",
      uri: "https://deployer.example",
      avatar: avatarMatching("Deployer", "app"),
      organization: {
        name: ORG,
        email: "",
        avatar: avatarMatching(ORG, "user"),
        is_admin: false,
        is_member: false,
        teams: {},
        ordered_teams: [],
      },
    });
    expect(JSON.stringify(res.json)).not.toContain("deployer.example/cb");
  });

  it("shows the organization's admin the organization's settings, still without teams", async () => {
    const res = await api("GET", `/app/${clientId}`, { token: uma });
    expect(res.json.organization).toMatchObject({
      name: ORG,
      email: "ops@pvorg.example",
      is_admin: true,
      is_member: true,
      teams: {},
      ordered_teams: [],
    });
    expect(res.json).not.toHaveProperty("client_secret");
  });

  it("answers 404 for an unknown client id and 401 for a token that is none", async () => {
    expectQuayError(await api("GET", "/app/NOSUCHCLIENT"), 404, "not_found");
    expectQuayError(await api("GET", `/app/${clientId}`, { token: "not-a-token" }), 401, "invalid_token");
  });
});
