/**
 * Events of organizations, users and tokens (docs/events.md, "Identity and account events"):
 * `org_create`, `org_change_*`, `org_delete`; `user_create`, `user_change_*`, `user_disable|enable`,
 * `user_delete` (a superuser acting on another account: the superuser is the actor, the account
 * the namespace); application tokens; OAuth applications and the OAuth tokens minted for them.
 * Each through its real route publishes exactly one event per change; refusals publish none.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findUser } from "../../../src/identity/users";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { request } from "../helpers/registry";

const IP = "2001:db8::7";
const fromIp = { "CF-Connecting-IP": IP };
let admin: string;
let olga: string;
let gus: string;
let ids: Record<string, number>;

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["olga", "gus"]) await makeUser(admin, name);
  [olga, gus] = await Promise.all([tokenFor("olga"), tokenFor("gus")]);
  ids = {};
  for (const name of ["admin", "olga", "gus"]) ids[name] = (await findUser(db(), name))!.id;
});

afterEach(() => {
  vi.restoreAllMocks();
});

const tokenOf = (name: string) => ({ kind: "token", name, id: ids[name], token: "oauth" });

/** An event of `namespace` by `actor` from {@link IP}. */
const event = (kind: string, namespace: string | null, actor: unknown, data: unknown) => ({
  id: expect.any(String),
  kind,
  at: expect.any(Number),
  namespace,
  repository: null,
  actor,
  ip: IP,
  data,
});

describe("organizations", () => {
  it("created, changed setting by setting (only what differs), deleted", async () => {
    const recorder = recordEvents();
    const body = { name: "acme", email: "acme@example.com" };
    expect((await api("POST", "/organization", { token: olga, headers: fromIp, body })).status).toBe(201);
    expect(await recorder.published()).toEqual([
      event("org_create", "acme", tokenOf("olga"), { email: "acme@example.com" }),
    ]);
    const change = (changes: unknown) =>
      api("PUT", "/organization/acme", { token: olga, headers: fromIp, body: changes });
    expect((await change({ email: "ops@example.com", tag_expiration_s: 86_400, invoice_email: true })).status).toBe(
      200,
    );
    expect((await change({ email: "ops@example.com", tag_expiration_s: 86_400 })).status).toBe(200);
    expect((await recorder.published()).slice(1)).toEqual([
      event("org_change_tag_expiration", "acme", tokenOf("olga"), { tagExpirationS: 86_400 }),
      event("org_change_invoicing", "acme", tokenOf("olga"), { invoiceEmail: true, invoiceEmailAddress: null }),
      event("org_change_email", "acme", tokenOf("olga"), { email: "ops@example.com" }),
    ]);
    // Refused: a taken name (400), an outsider (403), an expiration not offered (400).
    expect((await api("POST", "/organization", { token: gus, body: { name: "olga" } })).status).toBe(400);
    expect((await api("PUT", "/organization/acme", { token: gus, body: { email: "x@example.com" } })).status).toBe(403);
    expect((await change({ tag_expiration_s: 17 })).status).toBe(400);
    expect((await api("DELETE", "/organization/acme", { token: gus })).status).toBe(403);
    expect(recorder.sent).toHaveLength(4);
    expect((await api("DELETE", "/organization/acme", { token: olga, headers: fromIp })).status).toBe(204);
    expect((await api("DELETE", "/organization/acme", { token: olga })).status).toBe(403);
    expect(await recorder.published("org_delete")).toEqual([event("org_delete", "acme", tokenOf("olga"), {})]);
  });
});

describe("users", () => {
  it("a superuser creates, changes, disables, enables and deletes a user: the superuser acts, in the user's namespace", async () => {
    const recorder = recordEvents();
    const create = { username: "kate", email: "kate@example.com" };
    expect((await api("POST", "/superuser/users", { token: admin, headers: fromIp, body: create })).status).toBe(200);
    ids.kate = (await findUser(db(), "kate"))!.id;
    const put = (body: unknown) => api("PUT", "/superuser/users/kate", { token: admin, headers: fromIp, body });
    expect((await put({ email: "kate@corp.example", password: "new-password-1", enabled: false })).status).toBe(200);
    expect((await put({ email: "kate@corp.example", enabled: false })).status).toBe(200);
    expect((await put({ enabled: true })).status).toBe(200);
    const su = tokenOf("admin");
    expect(await recorder.published()).toEqual([
      event("user_create", "kate", su, { email: "kate@example.com" }),
      event("user_change_email", "kate", su, { email: "kate@corp.example" }),
      event("user_change_password", "kate", su, {}),
      event("user_disable", "kate", su, {}),
      event("user_enable", "kate", su, {}),
    ]);
    // Refused: not a superuser (403), a taken name (400), an unknown user (404).
    expect(
      (await api("POST", "/superuser/users", { token: olga, body: { username: "x1", email: "x1@example.com" } }))
        .status,
    ).toBe(403);
    expect((await api("POST", "/superuser/users", { token: admin, body: create })).status).toBe(400);
    expect((await api("PUT", "/superuser/users/nobody", { token: admin, body: { enabled: false } })).status).toBe(404);
    expect((await api("DELETE", "/superuser/users/kate", { token: olga })).status).toBe(403);
    expect(recorder.sent).toHaveLength(5);
    expect((await api("DELETE", "/superuser/users/kate", { token: admin, headers: fromIp })).status).toBe(204);
    expect((await api("DELETE", "/superuser/users/kate", { token: admin })).status).toBe(404);
    expect(await recorder.published("user_delete")).toEqual([event("user_delete", "kate", su, {})]);
  });

  it("a user changes their own settings with PUT /api/v1/user/", async () => {
    const recorder = recordEvents();
    const put = (body: unknown) => api("PUT", "/user", { token: gus, headers: fromIp, body });
    expect((await put({ tag_expiration_s: 86_400, password: "gus-password-2" })).status).toBe(200);
    expect((await put({ tag_expiration_s: 86_400 })).status).toBe(200);
    expect((await put({ tag_expiration_s: 17 })).status).toBe(400);
    expect((await put({ email: "olga@example.com" })).status).toBe(400);
    expect(await recorder.published()).toEqual([
      event("user_change_password", "gus", tokenOf("gus"), {}),
      event("user_change_tag_expiration", "gus", tokenOf("gus"), { tagExpirationS: 86_400 }),
    ]);
  });
});

describe("application tokens", () => {
  it("created and revoked: one event each, naming the token by uuid and title", async () => {
    const recorder = recordEvents();
    const made = await api("POST", "/user/apptoken", { token: olga, headers: fromIp, body: { title: "laptop" } });
    expect(made.status).toBe(200);
    const token = { uuid: made.json.token.uuid, title: "laptop" };
    expect(await recorder.published()).toEqual([
      event("create_app_specific_token", "olga", tokenOf("olga"), { token }),
    ]);
    expect((await api("POST", "/user/apptoken", { token: olga, body: { title: " " } })).status).toBe(400);
    expect((await api("DELETE", `/user/apptoken/${token.uuid}`, { token: gus })).status).toBe(404);
    expect((await api("DELETE", `/user/apptoken/${token.uuid}`, { token: olga, headers: fromIp })).status).toBe(204);
    expect((await api("DELETE", `/user/apptoken/${token.uuid}`, { token: olga })).status).toBe(404);
    expect(await recorder.published()).toEqual([
      event("create_app_specific_token", "olga", tokenOf("olga"), { token }),
      event("revoke_app_specific_token", "olga", tokenOf("olga"), { token }),
    ]);
  });
});

describe("OAuth applications and their tokens", () => {
  it("created, updated, secret reset, authorized (a token minted), deleted", async () => {
    expect((await api("POST", "/organization", { token: olga, body: { name: "labs" } })).status).toBe(201);
    const APPS = "/organization/labs/applications";
    const recorder = recordEvents();
    const made = await api("POST", APPS, {
      token: olga,
      headers: fromIp,
      body: { name: "ci", redirect_uri: "https://ci.example/cb" },
    });
    expect(made.status).toBe(200);
    const clientId = made.json.client_id as string;
    const path = `${APPS}/${clientId}`;
    const update = { name: "ci-2", redirect_uri: "https://ci.example/cb", application_uri: "" };
    expect((await api("PUT", path, { token: olga, headers: fromIp, body: update })).status).toBe(200);
    expect((await api("POST", `${path}/resetclientsecret`, { token: olga, headers: fromIp })).status).toBe(200);
    const app = (name: string) => ({ application: { clientId, name } });
    expect(await recorder.published()).toEqual([
      event("create_application", "labs", tokenOf("olga"), app("ci")),
      event("update_application", "labs", tokenOf("olga"), app("ci-2")),
      event("reset_application_client_secret", "labs", tokenOf("olga"), app("ci-2")),
    ]);

    // gus, signed in, approves it: a token of gus for the application, in his namespace.
    await api("PUT", "/superuser/users/gus", { token: admin, body: { password: "gus-password-9" } });
    const signin = await request("POST", "/api/v1/signin", {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "gus", password: "gus-password-9" }),
    });
    const cookie = signin.headers.get("Set-Cookie")!.split(";")[0]!;
    const csrf = (
      (await (await request("GET", "/csrf_token", { headers: { Cookie: cookie } })).json()) as {
        csrf_token: string;
      }
    ).csrf_token;
    const approve = (fields: Record<string, string>) =>
      request("POST", "/oauth/authorizeapp", {
        headers: { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded", ...fromIp },
        body: new URLSearchParams({ client_id: clientId, redirect_uri: "https://ci.example/cb", ...fields }).toString(),
        redirect: "manual",
      });
    // Refused: no CSRF token (403), a bad scope (a redirect with an error, no token).
    expect((await approve({ scope: "repo:read" })).status).toBe(403);
    expect((await approve({ scope: "repo:nothing", _csrf_token: csrf })).headers.get("Location")).toContain("error=");
    expect(await recorder.published("create_oauth_api_token")).toEqual([]);
    expect((await approve({ scope: "repo:read user:read", _csrf_token: csrf })).status).toBe(302);
    const approver = { kind: "user", name: "gus", id: ids.gus };
    expect(await recorder.published("create_oauth_api_token")).toEqual([
      event("create_oauth_api_token", "gus", approver, {
        user: approver,
        application: { clientId, name: "ci-2" },
        scope: "repo:read user:read",
      }),
    ]);

    expect((await api("DELETE", path, { token: gus })).status).toBe(403);
    expect((await api("DELETE", path, { token: olga, headers: fromIp })).status).toBe(204);
    expect((await api("DELETE", path, { token: olga })).status).toBe(404);
    expect(await recorder.published("delete_application")).toEqual([
      event("delete_application", "labs", tokenOf("olga"), app("ci-2")),
    ]);
  });
});
