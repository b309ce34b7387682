/**
 * Quay's JSON, field for field (issue #14), for what writes answer and the remaining reads: a
 * repository's creation and changes, sign-in, tag restores, robot tokens, permissions and
 * federations, auto-prune policies, invitations, changes to organizations, permissions, default
 * permissions and applications, and the superuser's view of one user. Each case lists Quay's keys
 * and types beside the Quay file and function they come from; the file prints its count.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { makeUser, pushAs, pushImageWith, tokenFor } from "../helpers/accounts";
import { api, fixtureCall, initializeAdmin } from "../helpers/api";
import {
  expectQuayShape,
  type FieldSpec,
  QUAY_APPLICATION,
  QUAY_PROTOTYPE,
  QUAY_SUPERUSER_USER,
  QUAY_SUPERUSER_USER_OPTIONAL,
  QUAY_TEAM_PERMISSION,
  QUAY_USER_PERMISSION,
  reportQuayShapes,
} from "../helpers/quay-shape";
import { registryToken, request } from "../helpers/registry";

reportQuayShapes("quay-shapes-writes.test.ts");

let admin: string;
let olga: string;
const SUCCESS = { success: (v: unknown) => v === true };

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "olga");
  await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  await fixtureCall(olga, "POST", "/organization/", { name: "works", email: "works@example.com" });
  await fixtureCall(olga, "PUT", "/organization/works/team/devs", { role: "member" });
  await fixtureCall(olga, "PUT", "/organization/works/robots/bot", {});
  await pushAs("olga", "works/app");
  await fixtureCall(olga, "PUT", "/repository/works/app/permissions/user/works+bot", { role: "read" });
});

describe("repositories and tags (repository.py, tag.py)", () => {
  it("RepositoryList.post, RepositoryResource.put, RepositoryVisibility.post", async () => {
    const created = await api("POST", "/repository", {
      token: olga,
      body: { repository: "made", visibility: "private", description: "" },
    });
    expect(created.status).toBe(201);
    expectQuayShape("repository.py RepositoryList.post", created.json, {
      namespace: "string",
      name: "string",
      kind: "string",
    });
    const described = await api("PUT", "/repository/olga/made", { token: olga, body: { description: "d" } });
    expectQuayShape("repository.py RepositoryResource.put", described.json, SUCCESS);
    const visible = await api("POST", "/repository/olga/made/changevisibility", {
      token: olga,
      body: { visibility: "public" },
    });
    expectQuayShape("repository.py RepositoryVisibility.post", visible.json, SUCCESS);
  });

  it('RepositoryTag.put answers "Updated", RestoreTag.post {}', async () => {
    const token = await registryToken([{ type: "repository", name: "olga/made", actions: ["pull", "push"] }], "olga");
    const pushed = await pushImageWith(token, "olga/made", "v1");
    const digest = pushed.headers.get("Docker-Content-Digest")!;
    const moved = await api("PUT", "/repository/olga/made/tag/v2", { token: olga, body: { manifest_digest: digest } });
    expect([moved.status, moved.json]).toEqual([201, "Updated"]);
    const restored = await api("POST", "/repository/olga/made/tag/v3/restore", {
      token: olga,
      body: { manifest_digest: digest },
    });
    expectQuayShape("tag.py RestoreTag.post", restored.json, {});
  });
});

describe("sign-in (signin.py)", () => {
  it("Signin.post answers {success}", async () => {
    const password = await makeUser(admin, "sam");
    const res = await request("POST", "/api/v1/signin", {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "sam", password }),
    });
    expectQuayShape("user.py Signin.post", await res.json(), SUCCESS);
  });
});

describe("robots (robot.py)", () => {
  it("regenerate: Robot.to_dict(include_token), without unstructured_metadata", async () => {
    const res = await api("POST", "/organization/works/robots/bot/regenerate", { token: olga });
    expectQuayShape("robot.py RegenerateOrgRobot.post", res.json, {
      name: "string",
      created: "string|null",
      last_accessed: "string|null",
      description: "string",
      token: "string",
    });
  });

  it("permissions: Permission.to_dict; federation: the list of {issuer, subject}", async () => {
    const res = await api("GET", "/organization/works/robots/bot/permissions", { token: olga });
    const list = expectQuayShape("robot.py OrgRobotPermissions.get", res.json, { permissions: "array" });
    const one = expectQuayShape("robot_models_interface.py Permission.to_dict", list.permissions[0], {
      repository: "object",
      role: "string",
    });
    expectQuayShape("robot_models_interface.py Permission.to_dict.repository", one.repository, {
      name: "string",
      is_public: "bool",
    });
    const set = await api("POST", "/organization/works/robots/bot/federation", {
      token: olga,
      body: [{ issuer: "https://issuer.example", subject: "ci" }],
    });
    expect(Array.isArray(set.json)).toBe(true);
    expectQuayShape("robot.py OrgRobotFederation.post", set.json[0], { issuer: "string", subject: "string" });
    const got = await api("GET", "/organization/works/robots/bot/federation", { token: olga });
    expectQuayShape("robot.py OrgRobotFederation.get", got.json[0], { issuer: "string", subject: "string" });
  });
});

describe("auto-prune policies (policy.py)", () => {
  it("NamespaceAutoPrunePolicy.get_view, the list and the creation's {uuid}", async () => {
    const path = "/organization/works/autoprunepolicy/";
    const created = await api("POST", path, { token: olga, body: { method: "number_of_tags", value: 5 } });
    expect(created.status).toBe(201);
    expectQuayShape("policy.py OrgAutoPrunePolicies.post", created.json, { uuid: "string" });
    const list = expectQuayShape("policy.py OrgAutoPrunePolicies.get", (await api("GET", path, { token: olga })).json, {
      policies: "array",
    });
    const VIEW: Record<string, FieldSpec> = {
      uuid: "string",
      method: "string",
      value: "int|string",
      tagPattern: "string|null",
      tagPatternMatches: "bool|null",
    };
    expectQuayShape("autoprune.py NamespaceAutoPrunePolicy.get_view", list.policies[0], VIEW);
    const one = await api("GET", `${path}${created.json.uuid}`, { token: olga });
    expectQuayShape("policy.py OrgAutoPrunePolicy.get", one.json, VIEW);
  });
});

describe("changes to organizations, teams, permissions and applications", () => {
  it("Organization.put answers org_view; InviteTeamMember.put invite_view", async () => {
    const res = await api("PUT", "/organization/works", { token: olga, body: { email: "works2@example.com" } });
    expectQuayShape("organization.py Organization.put org_view", res.json, {
      name: "string",
      email: "string",
      avatar: "object",
      is_admin: "bool",
      is_member: "bool",
      teams: "object",
      ordered_teams: "array",
      invoice_email: "bool",
      invoice_email_address: "string|null",
      tag_expiration_s: "int",
      is_free_account: "bool",
      // With FEATURE_QUOTA_MANAGEMENT (namespacequota.py quota_view, get_quota_for_view).
      quotas: "array",
      quota_report: "object",
    });
    const invite = await api("PUT", "/organization/works/team/devs/invite/new@example.com", { token: olga });
    expectQuayShape("team.py invite_view", invite.json, {
      email: "string",
      kind: (v) => v === "invite",
      avatar: "object",
      invited: (v) => v === true,
    });
  });

  it("permission PUTs answer UserPermission.to_dict and TeamPermission.to_dict", async () => {
    const user = await api("PUT", "/repository/works/app/permissions/user/gus", {
      token: olga,
      body: { role: "write" },
    });
    expectQuayShape("permission_models_interface.py UserPermission.to_dict (PUT)", user.json, QUAY_USER_PERMISSION);
    const team = await api("PUT", "/repository/works/app/permissions/team/devs", {
      token: olga,
      body: { role: "read" },
    });
    expectQuayShape("permission_models_interface.py TeamPermission.to_dict (PUT)", team.json, QUAY_TEAM_PERMISSION);
  });

  it("PermissionPrototype.put answers prototype_view", async () => {
    const created = await api("POST", "/organization/works/prototypes", {
      token: olga,
      body: { role: "read", delegate: { name: "devs", kind: "team" } },
    });
    const changed = await api("PUT", `/organization/works/prototypes/${created.json.id}`, {
      token: olga,
      body: { role: "write" },
    });
    expectQuayShape("prototype.py prototype_view (PUT)", changed.json, QUAY_PROTOTYPE);
  });

  it("an application's GET, PUT and client secret reset answer app_view", async () => {
    const created = await api("POST", "/organization/works/applications", { token: olga, body: { name: "tool" } });
    const path = `/organization/works/applications/${created.json.client_id}`;
    expectQuayShape(
      "organization.py OrganizationApplicationResource.get",
      (await api("GET", path, { token: olga })).json,
      QUAY_APPLICATION,
    );
    const changed = await api("PUT", path, {
      token: olga,
      body: { name: "tool", redirect_uri: "https://tool.example/cb", application_uri: "https://tool.example/" },
    });
    expectQuayShape("organization.py OrganizationApplicationResource.put", changed.json, QUAY_APPLICATION);
    const reset = await api("POST", `${path}/resetclientsecret`, { token: olga });
    expectQuayShape("organization.py OrganizationApplicationResetClientSecret.post", reset.json, QUAY_APPLICATION);
  });
});

describe("the superuser's view of one user (superuser.py)", () => {
  it("SuperUserManagement.get and .put answer user_view", async () => {
    const got = await api("GET", "/superuser/users/gus", { token: admin });
    expectQuayShape("superuser.py user_view (GET)", got.json, QUAY_SUPERUSER_USER, QUAY_SUPERUSER_USER_OPTIONAL);
    const put = await api("PUT", "/superuser/users/gus", { token: admin, body: { enabled: true } });
    expectQuayShape("superuser.py user_view (PUT)", put.json, QUAY_SUPERUSER_USER, QUAY_SUPERUSER_USER_OPTIONAL);
  });
});
