/**
 * The organization, team, default-permission, application and account log kinds of the README's
 * table, each produced by its action through its real route and found in the logs of the
 * namespace it happened in (the superuser's listing for a namespace being deleted), with its
 * performer and client address.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api, fixtureCall, initializeAdmin } from "../helpers/api";
import { makeUser, tokenFor } from "../helpers/accounts";
import { loggedEntry } from "../helpers/action-logs";

const IP = "198.51.100.46";
const fromIp = { "CF-Connecting-IP": IP };
const ORG = "/organization/acme";
const LOGS = `${ORG}/logs`;
let admin: string;
let olga: string;
let olgaPassword: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  olgaPassword = await makeUser(admin, "olga");
  await makeUser(admin, "vera");
  olga = await tokenFor("olga");
  await fixtureCall(olga, "POST", "/organization/", { name: "acme", email: "acme@example.com" });
  await fixtureCall(olga, "PUT", `${ORG}/team/devs`, { role: "member", description: "" });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Performs `action`, delivers what it sent, and answers the one entry of `kind` in `path` as `reader`. */
async function logged(kind: string, action: () => Promise<{ status: number }>, path = LOGS, reader = olga) {
  const entry = await loggedEntry(reader, path, kind, action);
  expect(entry.ip, kind).toBe(IP);
  return entry;
}

const as = (token: string) => (method: string, path: string, body?: unknown) =>
  api(method, path, { token, headers: fromIp, body });
const olgaCall = (method: string, path: string, body?: unknown) => as(olga)(method, path, body);

describe("organizations and teams", () => {
  it("org_change_email and org_change_tag_expiration", async () => {
    const email = await logged("org_change_email", () => olgaCall("PUT", ORG, { email: "ops@example.com" }));
    expect(email.metadata).toEqual({ username: "olga", email: "ops@example.com" });
    const expiry = await logged("org_change_tag_expiration", () => olgaCall("PUT", ORG, { tag_expiration_s: 86400 }));
    expect(expiry.metadata).toEqual({ username: "olga", tag_expiration_s: 86400 });
  });

  it("org_change_invoicing", async () => {
    const entry = await logged("org_change_invoicing", () => olgaCall("PUT", ORG, { invoice_email: true }));
    expect(entry.metadata).toEqual({ username: "olga", invoice_email: true, invoice_email_address: null });
  });

  it("create_robot_federation and delete_robot_federation", async () => {
    const robot = `${ORG}/robots/fed`;
    await fixtureCall(olga, "PUT", robot, {});
    const federation = [{ issuer: "https://issuer.example", subject: "ci" }];
    const set = await logged("create_robot_federation", () => olgaCall("POST", `${robot}/federation`, federation));
    expect(set.metadata).toEqual({ username: "olga", robot: "acme+fed", federation });
    const cleared = await logged("delete_robot_federation", () => olgaCall("DELETE", `${robot}/federation`));
    expect(cleared.metadata).toEqual({ username: "olga", robot: "acme+fed" });
  });

  it("org_change_name by a superuser, in the new name", async () => {
    await fixtureCall(olga, "POST", "/organization/", { name: "oldname", email: "oldname@example.com" });
    const entry = await logged(
      "org_change_name",
      () => as(admin)("PUT", "/superuser/organizations/oldname", { name: "newname" }),
      "/organization/newname/logs",
    );
    expect(entry.metadata).toEqual({ username: "admin", old_name: "oldname", new_name: "newname" });
  });

  it("take_ownership, in the superuser's namespace as Quay logs it", async () => {
    await fixtureCall(olga, "POST", "/organization/", { name: "taken", email: "taken@example.com" });
    const entry = await logged(
      "take_ownership",
      () => as(admin)("POST", "/superuser/takeownership/taken"),
      "/user/logs",
      admin,
    );
    expect(entry.metadata).toMatchObject({ username: "admin", namespace: "taken", was_user: false });
  });

  it("org_set_team_description, org_set_team_role, org_delete_team", async () => {
    await fixtureCall(olga, "PUT", `${ORG}/team/qa`, { role: "member", description: "" });
    const described = await logged("org_set_team_description", () =>
      olgaCall("PUT", `${ORG}/team/qa`, { role: "member", description: "Tests" }),
    );
    expect(described.metadata).toEqual({ team: "qa", description: "Tests" });
    const role = await logged("org_set_team_role", () =>
      olgaCall("PUT", `${ORG}/team/qa`, { role: "creator", description: "Tests" }),
    );
    expect(role.metadata).toEqual({ team: "qa", role: "creator" });
    const deleted = await logged("org_delete_team", () => olgaCall("DELETE", `${ORG}/team/qa`));
    expect(deleted.metadata).toEqual({ team: "qa" });
  });

  it("org_invite_team_member and org_delete_team_member_invite", async () => {
    const invite = `${ORG}/team/devs/invite/someone@example.com`;
    const invited = await logged("org_invite_team_member", () => olgaCall("PUT", invite));
    expect(invited.metadata).toEqual({ email: "someone@example.com", team: "devs" });
    const cancelled = await logged("org_delete_team_member_invite", () => olgaCall("DELETE", invite));
    expect(cancelled.metadata).toMatchObject({ team: "devs", email: "someone@example.com" });
  });

  it("create_, modify_, delete_prototype_permission", async () => {
    const base = `${ORG}/prototypes`;
    let id = "";
    const created = await logged("create_prototype_permission", async () => {
      const res = await olgaCall("POST", base, { role: "read", delegate: { name: "devs", kind: "team" } });
      id = res.json.id;
      return res;
    });
    expect(created.metadata).toMatchObject({ prototype: id, role: "read", delegate: "devs" });
    const modified = await logged("modify_prototype_permission", () =>
      olgaCall("PUT", `${base}/${id}`, { role: "write" }),
    );
    expect(modified.metadata).toMatchObject({ prototype: id, role: "write" });
    const deleted = await logged("delete_prototype_permission", () => olgaCall("DELETE", `${base}/${id}`));
    expect(deleted.metadata).toMatchObject({ prototype: id });
  });

  it("create_, update_, delete_namespace_autoprune_policy", async () => {
    const base = `${ORG}/autoprunepolicy/`;
    let uuid = "";
    const created = await logged("create_namespace_autoprune_policy", async () => {
      const res = await olgaCall("POST", base, { method: "number_of_tags", value: 10 });
      uuid = res.json.uuid;
      return res;
    });
    expect(created.metadata).toMatchObject({ policy: { uuid, method: "number_of_tags", value: 10 } });
    const updated = await logged("update_namespace_autoprune_policy", () =>
      olgaCall("PUT", `${base}${uuid}`, { method: "number_of_tags", value: 20 }),
    );
    expect(updated.metadata).toMatchObject({ policy: { uuid, value: 20 } });
    const deleted = await logged("delete_namespace_autoprune_policy", () => olgaCall("DELETE", `${base}${uuid}`));
    expect(deleted.metadata).toMatchObject({ policy: { uuid } });
  });

  it("create_application, update_application, reset_application_client_secret, delete_application", async () => {
    const apps = `${ORG}/applications`;
    let clientId = "";
    const created = await logged("create_application", async () => {
      const res = await olgaCall("POST", apps, { name: "ci", redirect_uri: "https://ci.example/cb" });
      clientId = res.json.client_id;
      return res;
    });
    expect(created.metadata).toEqual({ username: "olga", application: "ci" });
    const path = `${apps}/${clientId}`;
    const update = { name: "ci-2", redirect_uri: "https://ci.example/cb", application_uri: "" };
    expect((await logged("update_application", () => olgaCall("PUT", path, update))).metadata).toEqual({
      username: "olga",
      application: "ci-2",
    });
    const reset = await logged("reset_application_client_secret", () => olgaCall("POST", `${path}/resetclientsecret`));
    expect(reset.metadata).toEqual({ username: "olga", application: "ci-2" });
    const deleted = await logged("delete_application", () => olgaCall("DELETE", path));
    expect(deleted.metadata).toEqual({ username: "olga", application: "ci-2" });
  });

  it("org_delete, in the superuser's listing (the organization is going)", async () => {
    await fixtureCall(olga, "POST", "/organization/", { name: "doomed", email: "doomed@example.com" });
    const entry = await logged(
      "org_delete",
      () => olgaCall("DELETE", "/organization/doomed"),
      "/superuser/logs",
      admin,
    );
    expect(entry).toMatchObject({ metadata: { username: "olga" }, namespace: { kind: "org", name: "doomed" } });
  });
});

describe("users", () => {
  it("user_create, user_change_email, user_change_password, user_disable, user_enable, user_delete by a superuser", async () => {
    const su = as(admin);
    const inKate = "/superuser/logs";
    const create = { username: "kate", email: "kate@example.com" };
    const created = await logged("user_create", () => su("POST", "/superuser/users", create), inKate, admin);
    expect(created).toMatchObject({
      metadata: { email: "kate@example.com", username: "kate" },
      performer: { name: "admin" },
      namespace: { kind: "user", name: "kate" },
    });
    const put = (body: unknown) => () => su("PUT", "/superuser/users/kate", body);
    const email = await logged("user_change_email", put({ email: "kate@corp.example" }), inKate, admin);
    expect(email.metadata).toEqual({ username: "admin", email: "kate@corp.example" });
    await logged("user_change_password", put({ password: "new-password-1" }), inKate, admin);
    await logged("user_disable", put({ enabled: false }), inKate, admin);
    await logged("user_enable", put({ enabled: true }), inKate, admin);
    const deleted = await logged("user_delete", () => su("DELETE", "/superuser/users/kate"), inKate, admin);
    expect(deleted.metadata).toEqual({ username: "admin" });
  });

  it("user_change_tag_expiration and user_generate_client_key, in the user's own logs", async () => {
    const expiry = await logged(
      "user_change_tag_expiration",
      () => olgaCall("PUT", "/user", { tag_expiration_s: 604800 }),
      "/user/logs",
    );
    expect(expiry.metadata).toEqual({ username: "olga", tag_expiration_s: 604800 });
    const key = await logged(
      "user_generate_client_key",
      () => olgaCall("POST", "/user/clientkey", { password: olgaPassword }),
      "/user/logs",
    );
    expect(key.metadata).toEqual({ username: "olga" });
  });
});
