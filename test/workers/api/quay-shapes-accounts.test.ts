/**
 * Quay's JSON, field for field (issue #14), for the accounts side: the signed-in user,
 * organizations, teams and their members, robots, repository permissions, default permissions,
 * application tokens, OAuth applications and the superuser's user list. Each case lists Quay's
 * keys and types beside the Quay file and function they come from (quay-shapes.test.ts has the
 * repositories side); the file prints the count of Quay's fields Wharf matches.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { makeUser, pushAs, tokenFor } from "../helpers/accounts";
import { api, fixtureCall, initializeAdmin } from "../helpers/api";
import {
  AVATAR,
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

reportQuayShapes("quay-shapes-accounts.test.ts");

let admin: string;
let olga: string;
let gus: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "olga");
  await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  gus = await tokenFor("gus");
  await fixtureCall(olga, "POST", "/organization/", { name: "corp", email: "corp@example.com" });
  await fixtureCall(olga, "PUT", "/organization/corp/team/devs", { role: "member", description: "d" });
  await fixtureCall(olga, "PUT", "/organization/corp/team/devs/members/gus");
  await fixtureCall(olga, "PUT", "/organization/corp/robots/bot", { description: "ci" });
  await fixtureCall(olga, "PUT", "/user/robots/mine", {});
  await pushAs("olga", "corp/app");
  await fixtureCall(olga, "PUT", "/repository/corp/app/permissions/user/gus", { role: "read" });
  await fixtureCall(olga, "PUT", "/repository/corp/app/permissions/team/devs", { role: "write" });
  await fixtureCall(olga, "PUT", "/repository/corp/app/permissions/user/corp+bot", { role: "read" });
});

// namespacequota.py get_quota_for_view, the `quota_report` user_view and org_view add with
// FEATURE_QUOTA_MANAGEMENT (on in wrangler.toml).
const QUOTA_REPORT: Record<string, FieldSpec> = {
  quota_bytes: "int",
  configured_quota: "int|null",
  running_backfill: "string",
  backfill_status: "string",
};

// user.py user_view, for the user themselves (UserAdminPermission), with FEATURE_QUOTA_MANAGEMENT's quotas.
const OWN_USER: Record<string, FieldSpec> = {
  anonymous: "bool",
  username: "string",
  avatar: "object",
  can_create_repo: "bool",
  is_me: "bool",
  verified: "bool",
  email: "string",
  logins: "array",
  invoice_email: "bool",
  invoice_email_address: "string|null",
  preferred_namespace: "bool",
  tag_expiration_s: "int",
  prompts: "array",
  company: "string|null",
  family_name: "string|null",
  given_name: "string|null",
  location: "string|null",
  is_free_account: "bool",
  has_password_set: "bool",
  quotas: "array",
  quota_report: "object",
  organizations: "array",
};

describe("the signed-in user (endpoints/api/user.py)", () => {
  it("user_view of a superuser adds super_user", async () => {
    const res = await api("GET", "/user/", { token: admin });
    expectQuayShape("user.py user_view (superuser)", res.json, { ...OWN_USER, super_user: (v) => v === true });
  });

  it("user_view of anyone else, or of a superuser's token without super:user, has no super_user key", async () => {
    const res = await api("GET", "/user/", { token: olga });
    const user = expectQuayShape("user.py user_view (user)", res.json, {
      ...OWN_USER,
      has_password_set: (v) => v === true,
    });
    // user.py org_view, the user's own organizations.
    expectQuayShape("user.py user_view.org_view", user.organizations[0], {
      name: "string",
      avatar: "object",
      can_create_repo: "bool",
      public: "bool",
      is_org_admin: "bool",
      preferred_namespace: "bool",
    });
    const scoped = await api("GET", "/user/", { token: await tokenFor("admin", ["user:read"]) });
    expectQuayShape("user.py user_view (superuser's token without super:user)", scoped.json, OWN_USER);
  });
});

describe("organizations, teams and members (endpoints/api/organization.py, team.py)", () => {
  const ORG_PUBLIC = {
    name: "string",
    email: "string",
    avatar: "object",
    is_admin: "bool",
    is_member: "bool",
  } as const;

  it("org_view for an admin: teams, ordered_teams and the admin's fields", async () => {
    const res = await api("GET", "/organization/corp", { token: olga });
    const org = expectQuayShape("organization.py org_view (admin)", res.json, {
      ...ORG_PUBLIC,
      teams: "object",
      ordered_teams: "array",
      invoice_email: "bool",
      invoice_email_address: "string|null",
      tag_expiration_s: "int",
      is_free_account: "bool",
      quotas: "array",
      quota_report: "object",
    });
    expectQuayShape("namespacequota.py get_quota_for_view", org.quota_report, QUOTA_REPORT);
    expectQuayShape("organization.py team_view", org.teams.devs, {
      name: "string",
      description: "string|null",
      role: "string",
      avatar: "object",
      can_view: "bool",
      repo_count: "int",
      member_count: "int",
      is_synced: "bool",
    });
    expectQuayShape("avatars.py get_data_for_team", org.teams.devs.avatar, AVATAR);
  });

  it("org_view for a member and for an outsider", async () => {
    const member = await api("GET", "/organization/corp", { token: gus });
    expectQuayShape("organization.py org_view (member)", member.json, {
      ...ORG_PUBLIC,
      teams: "object",
      ordered_teams: "array",
      quotas: "array",
      quota_report: "object",
    });
    const outsider = await api("GET", "/organization/corp", { token: await tokenFor("admin", ["user:read"]) });
    expectQuayShape("organization.py org_view (outsider)", outsider.json, ORG_PUBLIC);
  });

  it("team.py team_view (PUT), member_view and the members list", async () => {
    const put = await api("PUT", "/organization/corp/team/ops", { token: olga, body: { role: "creator" } });
    expectQuayShape("team.py team_view", put.json, {
      name: "string",
      description: "string|null",
      can_view: "bool",
      role: "string",
      avatar: "object",
      new_team: "bool",
    });
    const added = await api("PUT", "/organization/corp/team/ops/members/gus", { token: olga });
    const MEMBER = { name: "string", kind: "string", is_robot: "bool", avatar: "object", invited: "bool" } as const;
    expectQuayShape("team.py member_view (PUT)", added.json, MEMBER);
    const list = await api("GET", "/organization/corp/team/devs/members", { token: olga });
    const members = expectQuayShape("team.py TeamMemberList.get", list.json, {
      name: "string",
      members: "array",
      can_edit: "bool",
    });
    expectQuayShape("team.py member_view", members.members[0], MEMBER);
    const permissions = await api("GET", "/organization/corp/team/devs/permissions", { token: olga });
    const listed = expectQuayShape("team.py TeamPermissions.get", permissions.json, { permissions: "array" });
    const one = expectQuayShape("team.py permission_view", listed.permissions[0], {
      repository: "object",
      role: "string",
    });
    expectQuayShape("team.py permission_view.repository", one.repository, { name: "string", is_public: "bool" });
  });

  it("OrganizationMemberList.get and OrganizationCollaboratorList.get", async () => {
    const res = await api("GET", "/organization/corp/members", { token: olga });
    const list = expectQuayShape("organization.py OrganizationMemberList.get", res.json, { members: "array" });
    const gusEntry = list.members.find((m: { name: string }) => m.name === "gus");
    const member = expectQuayShape("organization.py OrganizationMemberList member", gusEntry, {
      name: "string",
      kind: "string",
      avatar: "object",
      teams: "array",
      repositories: "array",
    });
    expectQuayShape("organization.py OrganizationMemberList team", member.teams[0], {
      name: "string",
      avatar: "object",
    });
    const collaborators = await api("GET", "/organization/corp/collaborators", { token: olga });
    expectQuayShape("organization.py OrganizationCollaboratorList.get", collaborators.json, {
      collaborators: "array",
    });
  });
});

describe("robots (endpoints/api/robot.py, robot_models_interface.py)", () => {
  const ROBOT = {
    name: "string",
    created: "string|null",
    last_accessed: "string|null",
    description: "string",
  } as const;

  it("Robot.to_dict with its token and metadata (GET, PUT)", async () => {
    const res = await api("GET", "/organization/corp/robots/bot", { token: olga });
    expectQuayShape("robot_models_interface.py Robot.to_dict(include_metadata, include_token)", res.json, {
      ...ROBOT,
      token: "string",
      unstructured_metadata: "object|null",
    });
  });

  it("robots_list: Robot.to_dict with the token, RobotWithPermissions.to_dict with permissions=true", async () => {
    const plain = await api("GET", "/user/robots", { token: olga });
    const list = expectQuayShape("robot.py robots_list", plain.json, { robots: "array" });
    expectQuayShape("robot_models_interface.py Robot.to_dict(include_token)", list.robots[0], {
      ...ROBOT,
      token: "string",
    });
    const full = await api("GET", "/organization/corp/robots?permissions=true", { token: olga });
    expectQuayShape("robot_models_interface.py RobotWithPermissions.to_dict(include_token)", full.json.robots[0], {
      ...ROBOT,
      teams: "array",
      repositories: "array",
      token: "string",
    });
  });
});

describe("repository permissions and default permissions (permission.py, prototype.py)", () => {
  it("UserPermission.to_dict (is_org_member in an organization's repository) and TeamPermission.to_dict", async () => {
    const list = await api("GET", "/repository/corp/app/permissions/user/", { token: olga });
    const all = expectQuayShape("permission.py RepositoryUserPermissionList.get", list.json, {
      permissions: "object",
    });
    expectQuayShape("permission_models_interface.py UserPermission.to_dict", all.permissions.gus, QUAY_USER_PERMISSION);
    const one = await api("GET", "/repository/corp/app/permissions/user/gus", { token: olga });
    expectQuayShape("permission_models_interface.py UserPermission.to_dict (one)", one.json, QUAY_USER_PERMISSION);
    const team = await api("GET", "/repository/corp/app/permissions/team/devs", { token: olga });
    expectQuayShape("permission_models_interface.py TeamPermission.to_dict", team.json, QUAY_TEAM_PERMISSION);
    const teams = await api("GET", "/repository/corp/app/permissions/team/", { token: olga });
    expectQuayShape("permission.py RepositoryTeamPermissionList.get", teams.json, { permissions: "object" });
  });

  it("prototype_view with a user delegate and an activating user", async () => {
    const created = await api("POST", "/organization/corp/prototypes", {
      token: olga,
      body: { role: "read", delegate: { name: "gus", kind: "user" }, activating_user: { name: "olga" } },
    });
    const PROTO_USER = {
      name: "string",
      is_robot: "bool",
      kind: "string",
      is_org_member: "bool",
      avatar: "object",
    } as const;
    const proto = expectQuayShape("prototype.py prototype_view", created.json, QUAY_PROTOTYPE);
    expectQuayShape("prototype.py prototype_user_view (delegate)", proto.delegate, PROTO_USER);
    expectQuayShape("prototype.py prototype_user_view (activating)", proto.activating_user, PROTO_USER);
    const team = await api("POST", "/organization/corp/prototypes", {
      token: olga,
      body: { role: "write", delegate: { name: "devs", kind: "team" } },
    });
    expectQuayShape("prototype.py prototype_view (team delegate)", team.json.delegate, {
      name: "string",
      kind: "string",
      avatar: "object",
    });
    const list = await api("GET", "/organization/corp/prototypes", { token: olga });
    expectQuayShape("prototype.py PermissionPrototypeList.get", list.json, { prototypes: "array" });
  });
});

describe("tokens and applications (appspecifictokens.py, organization.py)", () => {
  const TOKEN = {
    uuid: "string",
    title: "string",
    last_accessed: "string|null",
    created: "string",
    expiration: "string|null",
  } as const;

  it("token_view, with token_code when created or read alone", async () => {
    const created = await api("POST", "/user/apptoken", { token: olga, body: { title: "ci" } });
    const wrapped = expectQuayShape("appspecifictokens.py AppTokens.post", created.json, { token: "object" });
    expectQuayShape("appspecifictokens.py token_view(include_code)", wrapped.token, { ...TOKEN, token_code: "string" });
    const list = await api("GET", "/user/apptoken", { token: olga });
    const tokens = expectQuayShape("appspecifictokens.py AppTokens.get", list.json, {
      tokens: "array",
      only_expiring: "bool|null",
    });
    expectQuayShape("appspecifictokens.py token_view", tokens.tokens[0], TOKEN);
    const one = await api("GET", `/user/apptoken/${wrapped.token.uuid}`, { token: olga });
    expectQuayShape("appspecifictokens.py AppToken.get", one.json, { token: "object" });
  });

  it("app_view for the organization's admins", async () => {
    const created = await api("POST", "/organization/corp/applications", {
      token: olga,
      body: { name: "dash", redirect_uri: "https://dash.example/cb", application_uri: "https://dash.example/" },
    });
    expectQuayShape("organization.py app_view", created.json, QUAY_APPLICATION);
    const list = await api("GET", "/organization/corp/applications", { token: olga });
    const apps = expectQuayShape("organization.py OrganizationApplications.get", list.json, { applications: "array" });
    expectQuayShape("organization.py app_view (listed)", apps.applications[0], QUAY_APPLICATION);
  });
});

describe("the superuser's users (endpoints/api/superuser.py)", () => {
  it("user_view of GET /superuser/users/ and POST's encrypted_password", async () => {
    const res = await api("GET", "/superuser/users/", { token: admin });
    const list = expectQuayShape("superuser.py SuperUserList.get", res.json, { users: "array" });
    // superuser_models_interface.py User.to_dict, with FEATURE_QUOTA_MANAGEMENT's quotas and quota_report.
    const listed = expectQuayShape(
      "superuser.py user_view",
      list.users[0],
      { ...QUAY_SUPERUSER_USER, quotas: "array", quota_report: "object" },
      QUAY_SUPERUSER_USER_OPTIONAL,
    );
    expectQuayShape("namespacequota.py get_quota_for_view", listed.quota_report, QUOTA_REPORT);
    const created = await api("POST", "/superuser/users/", {
      token: admin,
      body: { username: "newbie", email: "newbie@example.com" },
    });
    expect(created.status).toBe(200);
    expectQuayShape("superuser.py SuperUserList.post", created.json, {
      username: "string",
      email: "string|null",
      password: "string",
      encrypted_password: "string",
    });
  });
});
