/**
 * Assigned OAuth authorizations (Quay FEATURE_ASSIGN_OAUTH_TOKEN; `endpoints/api/user.py`
 * listAssignedAuthorizations, deleteAssignedAuthorization): an organization's admin asks a user to
 * authorize its application (`POST /oauth/authorizeapp` with `username`), the user lists the
 * requests, approves one (`assignment_uuid`) or declines it.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { makeUser, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { BASE, request } from "../helpers/registry";

const REDIRECT = "https://app.example/cb";
let clientId: string;
const browsers: Record<string, Record<string, string>> = {};

async function signIn(username: string, password: string): Promise<Record<string, string>> {
  const signin = await api("POST", "/signin", { body: { username, password } });
  const cookie = signin.headers.get("Set-Cookie")!.split(";")[0]!;
  const csrf = await request("GET", "/csrf_token", { headers: { Cookie: cookie } });
  return { Cookie: cookie, "X-CSRF-Token": ((await csrf.json()) as { csrf_token: string }).csrf_token };
}

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["olga", "pete", "mallory"]) {
    await makeUser(admin, name);
    await api("PUT", `/superuser/users/${name}`, { token: admin, body: { password: `${name}-password-1` } });
    browsers[name] = await signIn(name, `${name}-password-1`);
  }
  const olga = await tokenFor("olga");
  await api("POST", "/organization/", { token: olga, body: { name: "acme", email: "acme@example.com" } });
  await api("PUT", "/organization/acme/team/devs", { token: olga, body: { role: "member" } });
  await api("PUT", "/organization/acme/team/devs/members/mallory", { token: olga });
  const app = await api("POST", "/organization/acme/applications", {
    token: olga,
    body: { name: "ci", redirect_uri: REDIRECT, description: "CI", application_uri: "https://app.example" },
  });
  clientId = app.json.client_id;
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** POST /oauth/authorizeapp as `who`'s signed-in browser. */
function authorize(who: string, fields: Record<string, string>): Promise<Response> {
  return request("POST", "/oauth/authorizeapp", {
    headers: { ...browsers[who], "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, ...fields }).toString(),
    redirect: "manual",
  });
}

async function assign(to: string, scope = "repo:read user:read"): Promise<string> {
  const res = await authorize("olga", { scope, username: to });
  expect(res.status).toBe(200);
  return ((await res.json()) as { uuid: string }).uuid;
}

const listed = async (who: string) =>
  (await api("GET", "/user/assignedauthorization", { token: await tokenFor(who, ["user:admin"]) })).json
    .authorizations as Array<Record<string, any>>;

describe("assigning an authorization (POST /oauth/authorizeapp with username)", () => {
  it("by an admin of the application's organization: the user sees it in Quay's assigned_authorization_view", async () => {
    const recorder = recordEvents();
    const uuid = await assign("pete");
    const [event] = await recorder.published("oauth_token_assigned");
    expect(event).toMatchObject({
      namespace: "acme",
      data: { application: { clientId, name: "ci" }, assignee: { name: "pete" }, uuid, scope: "repo:read user:read" },
    });
    const [entry] = (await listed("pete")).filter((a) => a.uuid === uuid);
    // Quay endpoints/api/user.py assigned_authorization_view: application {name, clientId,
    // description, url, avatar, organization {name, avatar}}, uuid, redirectUri, scopes, responseType.
    expect(entry).toEqual({
      application: {
        name: "ci",
        clientId,
        description: "CI",
        url: "https://app.example",
        avatar: expect.objectContaining({ name: "ci", kind: "app" }),
        organization: { name: "acme", avatar: expect.objectContaining({ name: "acme", kind: "org" }) },
      },
      uuid,
      redirectUri: REDIRECT,
      scopes: [expect.objectContaining({ scope: "repo:read" }), expect.objectContaining({ scope: "user:read" })],
      responseType: "token",
    });
    expect(await listed("olga")).toEqual([]);
  });

  it("is refused to others than the organization's admins, and for unknown users", async () => {
    const denied = await authorize("mallory", { scope: "repo:read", username: "pete" });
    expect(denied.status).toBe(403);
    const unknown = await authorize("olga", { scope: "repo:read", username: "nobody" });
    expect(unknown.status).toBe(404);
    const badUri = await authorize("olga", {
      scope: "repo:read",
      username: "pete",
      redirect_uri: "https://evil.example/",
    });
    expect(badUri.status).toBe(400);
  });
});

describe("answering an assignment", () => {
  it("approving it (assignment_uuid) mints the token and ends the request", async () => {
    const uuid = await assign("pete", "user:read");
    const res = await authorize("pete", { scope: "user:read", assignment_uuid: uuid });
    expect(res.status).toBe(302);
    const token = new URLSearchParams(res.headers.get("Location")!.split("#")[1]).get("access_token")!;
    expect((await api("GET", "/user/", { token })).json.username).toBe("pete");
    expect((await listed("pete")).map((a) => a.uuid)).not.toContain(uuid);
    // Spent: a second approval with it is refused.
    expect((await authorize("pete", { scope: "user:read", assignment_uuid: uuid })).status).toBe(404);
  });

  it("refuses another user's assignment", async () => {
    const uuid = await assign("pete");
    expect((await authorize("mallory", { scope: "repo:read", assignment_uuid: uuid })).status).toBe(404);
    expect((await listed("pete")).map((a) => a.uuid)).toContain(uuid);
  });

  it("DELETE /api/v1/user/assignedauthorization/{uuid} declines it, with oauth_token_revoked; others' are not found", async () => {
    const uuid = await assign("pete");
    const mallory = await tokenFor("mallory", ["user:admin"]);
    expectQuayError(await api("DELETE", `/user/assignedauthorization/${uuid}`, { token: mallory }), 404, "not_found");
    const pete = await tokenFor("pete", ["user:admin"]);
    const recorder = recordEvents();
    expect((await api("DELETE", `/user/assignedauthorization/${uuid}`, { token: pete })).status).toBe(204);
    expect((await listed("pete")).map((a) => a.uuid)).not.toContain(uuid);
    const [event] = await recorder.published("oauth_token_revoked");
    expect(event).toMatchObject({ namespace: "pete", data: { application: { clientId }, uuid } });
    expectQuayError(await api("DELETE", `/user/assignedauthorization/${uuid}`, { token: pete }), 404, "not_found");
  });

  it("refuses anonymous callers (401) and tokens without user:admin (403)", async () => {
    expectQuayError(await api("GET", "/user/assignedauthorization"), 401, "invalid_token");
    const reader = await tokenFor("pete", ["user:read"]);
    expectQuayError(await api("GET", "/user/assignedauthorization", { token: reader }), 403, "insufficient_scope");
    expectQuayError(await api("DELETE", "/user/assignedauthorization/x", { token: reader }), 403, "insufficient_scope");
  });

  it("does not exist without FEATURE_ASSIGN_OAUTH_TOKEN (Quay's @show_if): 404", async () => {
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await createApp().fetch(
      new Request(`${BASE}/api/v1/user/assignedauthorization`, {
        headers: { Authorization: `Bearer ${await tokenFor("pete", ["user:admin"])}` },
      }),
      { ...env, FEATURE_ASSIGN_OAUTH_TOKEN: "false" },
      ctx,
    );
    expect(res.status).toBe(404);
  });
});
