/**
 * Each identity and account log kind the issue names (robots, teams, organizations, logins,
 * application tokens), produced by its action through its real route and found in the logs of the
 * namespace it happened in, with Quay's metadata, performer and client address.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api, fixtureCall, initializeAdmin } from "../helpers/api";
import { basic, invitationCode, makeUser, tokenFor } from "../helpers/accounts";
import { loggedEntry, recordLogs } from "../helpers/action-logs";
import { request } from "../helpers/registry";
import { proxyApi } from "../helpers/proxy-cache";

const IP = "198.51.100.45";
const fromIp = { "CF-Connecting-IP": IP };
const ORG = "/organization/acme";
let admin: string;
let olga: string;
let olgaPassword: string;

const byOlga = { kind: "user", name: "olga", is_robot: false };

beforeAll(async () => {
  admin = await initializeAdmin();
  olgaPassword = await makeUser(admin, "olga");
  await makeUser(admin, "gus");
  olga = await tokenFor("olga");
});

afterEach(() => {
  vi.restoreAllMocks();
});

const call = (method: string, path: string, body?: unknown) =>
  api(method, path, { token: olga, headers: fromIp, body });

const logged = (kind: string, path: string, action: () => Promise<{ status: number }>, reader = olga) =>
  loggedEntry(reader, path, kind, action);

describe("organizations, teams and robots", () => {
  it("org_create, in the organization's logs", async () => {
    const entry = await logged("org_create", `${ORG}/logs`, () =>
      call("POST", "/organization/", { name: "acme", email: "acme@example.com" }),
    );
    expect(entry).toMatchObject({ ip: IP, performer: byOlga });
    expect(entry.metadata).toEqual({ email: "acme@example.com", namespace: "acme" });
  });

  it("org_create_team, org_add_team_member, org_remove_team_member", async () => {
    const team = await logged("org_create_team", `${ORG}/logs`, () =>
      call("PUT", `${ORG}/team/devs`, { role: "member", description: "" }),
    );
    expect(team).toMatchObject({ ip: IP, performer: byOlga, metadata: { team: "devs" } });
    const added = await logged("org_add_team_member", `${ORG}/logs`, () => call("PUT", `${ORG}/team/devs/members/gus`));
    expect(added.metadata).toEqual({ member: "gus", team: "devs" });
    const removed = await logged("org_remove_team_member", `${ORG}/logs`, () =>
      call("DELETE", `${ORG}/team/devs/members/gus`),
    );
    expect(removed.metadata).toEqual({ member: "gus", team: "devs" });
  });

  it("create_robot, regenerate_robot_token, delete_robot: the robot's short name", async () => {
    const robot = `${ORG}/robots/builder`;
    const created = await logged("create_robot", `${ORG}/logs`, () => call("PUT", robot, { description: "CI" }));
    expect(created).toMatchObject({ ip: IP, performer: byOlga });
    expect(created.metadata).toEqual({ robot: "builder", description: "CI", unstructured_metadata: {} });
    const regenerated = await logged("regenerate_robot_token", `${ORG}/logs`, () =>
      call("POST", `${robot}/regenerate`),
    );
    expect(regenerated.metadata).toEqual({ robot: "builder" });
    const deleted = await logged("delete_robot", `${ORG}/logs`, () => call("DELETE", robot));
    expect(deleted.metadata).toEqual({ robot: "builder" });
  });
});

describe("proxy cache", () => {
  it("create_proxy_cache_config (the upstream, never the credentials), delete_proxy_cache_config", async () => {
    const configure = (method: string, body?: unknown) =>
      proxyApi(method, `${ORG}/proxycache`, olga, body, undefined, fromIp);
    const created = await logged("create_proxy_cache_config", `${ORG}/logs`, () =>
      configure("POST", {
        upstream_registry: "quay.io/acme",
        upstream_registry_password: "pw",
        upstream_registry_username: "u",
      }),
    );
    expect(created).toMatchObject({ ip: IP, performer: byOlga });
    // organization.py: log_action("create_proxy_cache_config", orgname, {"upstream_registry": …}).
    expect(created.metadata).toEqual({ upstream_registry: "quay.io/acme" });
    const deleted = await logged("delete_proxy_cache_config", `${ORG}/logs`, () => configure("DELETE"));
    expect(deleted).toMatchObject({ ip: IP, performer: byOlga });
    expect(deleted.metadata).toEqual({});
  });
});

describe("invitations", () => {
  it("org_team_member_invite_accepted and org_team_member_invite_declined, by the invitee", async () => {
    for (const name of ["qa", "ops"]) await fixtureCall(olga, "PUT", `${ORG}/team/${name}`, { role: "member" });
    const invite = (name: string) => invitationCode("acme", name, "olga", "gus@example.com");
    const gus = await tokenFor("gus");
    const byGus = (method: string, path: string) => api(method, path, { token: gus, headers: fromIp });
    const qa = await invite("qa");
    const accepted = await logged("org_team_member_invite_accepted", `${ORG}/logs`, () =>
      byGus("PUT", `/teaminvite/${qa}`),
    );
    expect(accepted).toMatchObject({ ip: IP, performer: { name: "gus" }, metadata: { team: "qa", member: "gus" } });
    const ops = await invite("ops");
    const declined = await logged("org_team_member_invite_declined", `${ORG}/logs`, () =>
      byGus("DELETE", `/teaminvite/${ops}`),
    );
    expect(declined.metadata).toMatchObject({ team: "ops", member: "gus" });
  });
});

describe("logins and tokens", () => {
  it("login_success from docker login (/v2/auth without a scope), in the user's own logs", async () => {
    const entry = await logged("login_success", "/user/logs", () =>
      request("GET", "/v2/auth?account=olga&service=registry.test", {
        token: null,
        headers: { Authorization: basic("olga", olgaPassword), "User-Agent": "podman/5", ...fromIp },
      }),
    );
    expect(entry).toMatchObject({ ip: IP, performer: byOlga });
    expect(entry.metadata).toEqual({ type: "v2auth", useragent: "podman/5", kind: "user", username: "olga" });
  });

  it("login_failure, by nobody and in no namespace for a person: the superuser's logs", async () => {
    const logs = recordLogs();
    const refused = await request("GET", "/v2/auth?account=olga&service=registry.test", {
      token: null,
      headers: { Authorization: basic("olga", "wrong"), "User-Agent": "docker/27", ...fromIp },
    });
    expect(refused.status).toBe(401);
    await logs.deliver();
    const failures = (await api("GET", "/superuser/logs", { token: admin })).json.logs.filter(
      (e: { kind: string }) => e.kind === "login_failure",
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]).not.toHaveProperty("performer");
    expect(failures[0]).toMatchObject({
      ip: IP,
      metadata: {
        type: "v2auth",
        useragent: "docker/27",
        kind: "user",
        username: "olga",
        message: "Invalid Username or Password",
      },
    });
    expect(failures[0]).not.toHaveProperty("namespace");
  });

  it("logout_success, from a browser's sign-out", async () => {
    const signin = await request("POST", "/api/v1/signin", {
      headers: { "Content-Type": "application/json", ...fromIp },
      body: JSON.stringify({ username: "olga", password: olgaPassword }),
    });
    expect(signin.status).toBe(200);
    const cookie = signin.headers.get("Set-Cookie")!.split(";")[0]!;
    const csrf = (
      (await (await request("GET", "/csrf_token", { headers: { Cookie: cookie } })).json()) as {
        csrf_token: string;
      }
    ).csrf_token;
    const entry = await logged("logout_success", "/user/logs", () =>
      api("POST", "/signout", { headers: { Cookie: cookie, "X-CSRF-Token": csrf, ...fromIp } }),
    );
    expect(entry).toMatchObject({ ip: IP, performer: byOlga, metadata: { type: "quayauth" } });
  });

  it("create_app_specific_token and revoke_app_specific_token", async () => {
    let uuid = "";
    const made = await logged("create_app_specific_token", "/user/logs", async () => {
      const res = await call("POST", "/user/apptoken", { title: "laptop" });
      uuid = res.json.token.uuid;
      return res;
    });
    expect(made.metadata).toEqual({ app_specific_token_title: "laptop", app_specific_token: uuid });
    const revoked = await logged("revoke_app_specific_token", "/user/logs", () =>
      call("DELETE", `/user/apptoken/${uuid}`),
    );
    expect(revoked.metadata).toMatchObject({ app_specific_token: uuid });
  });
});
