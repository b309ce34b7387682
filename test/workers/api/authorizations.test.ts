/**
 * The OAuth grants a user gave applications (Quay `endpoints/api/user.py` listUserAuthorizations,
 * getUserAuthorization, deleteUserAuthorization): Quay's authorization_view, and revoking for real.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findApplicationByClientId } from "../../../src/identity/oauth-applications";
import type { Scope } from "../../../src/identity/scopes";
import { issueOAuthToken } from "../../../src/identity/tokens";
import { findUser } from "../../../src/identity/users";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { fixtureEvents, recordEvents } from "../helpers/events";

let admin: string;
let clientId: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await api("POST", "/organization/", { token: admin, body: { name: "appmakers", email: "apps@example.com" } });
  const app = await api("POST", "/organization/appmakers/applications", {
    token: admin,
    body: { name: "Deployer", description: "Deploys things", application_uri: "https://deployer.example" },
  });
  clientId = app.json.client_id;
  for (const name of ["granter", "stranger"]) await makeUser(admin, name);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** An OAuth token the Deployer application holds for `username`, as POST /oauth/authorizeapp mints one. */
async function grant(username: string, scopes: Scope[]): Promise<string> {
  const application = (await findApplicationByClientId(db(), clientId))!;
  return issueOAuthToken(db(), (await findUser(db(), username))!, { scopes, application }, fixtureEvents());
}

describe("GET /api/v1/user/authorizations", () => {
  it("lists the tokens applications hold for the user, in Quay's authorization_view", async () => {
    await grant("granter", ["repo:read"]);
    await grant("granter", ["user:admin"]);
    await grant("stranger", ["repo:read"]);
    const own = await tokenFor("granter", ["user:admin"]); // no application's: not listed
    const res = await api("GET", "/user/authorizations", { token: own });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json)).toEqual(["authorizations"]);
    expect(res.json.authorizations).toHaveLength(2);
    const [first, second] = res.json.authorizations;
    // Quay endpoints/api/user.py authorization_view: application {name, description, url, avatar,
    // organization {name, avatar}}, scopes (auth/scopes.py get_scope_information: title, scope,
    // description, icon, dangerous), uuid.
    expect(first).toEqual({
      application: {
        name: "Deployer",
        description: "Deploys things",
        url: "https://deployer.example",
        avatar: expect.objectContaining({ name: "Deployer", kind: "app" }),
        organization: { name: "appmakers", avatar: expect.objectContaining({ name: "appmakers", kind: "org" }) },
      },
      scopes: [
        {
          title: "View all visible repositories",
          scope: "repo:read",
          description:
            "This application will be able to view and pull all repositories visible to the granting user or robot account",
          icon: "fa-hdd-o",
          dangerous: false,
        },
      ],
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(second.scopes).toEqual([expect.objectContaining({ scope: "user:admin", icon: "fa-gear", dangerous: true })]);
  });

  it("refuses anonymous callers (401) and tokens without user:admin (403)", async () => {
    expectQuayError(await api("GET", "/user/authorizations"), 401, "invalid_token");
    const reader = await tokenFor("granter", ["user:read"]);
    expectQuayError(await api("GET", "/user/authorizations", { token: reader }), 403, "insufficient_scope");
  });
});

describe("GET|DELETE /api/v1/user/authorizations/{access_token_uuid}", () => {
  it("shows one authorization; another user's and unknown ones are not found", async () => {
    const held = await grant("granter", ["repo:write"]);
    const own = await tokenFor("granter", ["user:admin"]);
    const listed = (await api("GET", "/user/authorizations", { token: own })).json.authorizations;
    const entry = listed.find((a: { scopes: Array<{ scope: string }> }) => a.scopes[0]!.scope === "repo:write");
    const one = await api("GET", `/user/authorizations/${entry.uuid}`, { token: own });
    expect(one.status).toBe(200);
    expect(one.json).toEqual(entry);
    const theirs = await tokenFor("stranger", ["user:admin"]);
    expectQuayError(await api("GET", `/user/authorizations/${entry.uuid}`, { token: theirs }), 404, "not_found");
    expectQuayError(await api("DELETE", `/user/authorizations/${entry.uuid}`, { token: theirs }), 404, "not_found");
    expectQuayError(await api("GET", "/user/authorizations/no-such-uuid", { token: own }), 404, "not_found");
    // Still alive: a repo:write token is known (403 for the scope it lacks), not refused (401).
    expectQuayError(await api("GET", "/user/", { token: held }), 403, "insufficient_scope");
  });

  it("revokes: the token stops working at once, with revoke_oauth_api_token", async () => {
    const held = await grant("granter", ["user:read"]);
    const own = await tokenFor("granter", ["user:admin"]);
    const listed = (await api("GET", "/user/authorizations", { token: own })).json.authorizations;
    const entry = listed.find((a: { scopes: Array<{ scope: string }> }) => a.scopes[0]!.scope === "user:read");
    const recorder = recordEvents();
    const res = await api("DELETE", `/user/authorizations/${entry.uuid}`, { token: own });
    expect(res.status).toBe(204);
    expectQuayError(await api("GET", "/user/", { token: held }), 401, "invalid_token");
    expectQuayError(await api("GET", `/user/authorizations/${entry.uuid}`, { token: own }), 404, "not_found");
    expectQuayError(await api("DELETE", `/user/authorizations/${entry.uuid}`, { token: own }), 404, "not_found");
    const [event] = await recorder.published("revoke_oauth_api_token");
    expect(event).toMatchObject({
      namespace: "granter",
      data: { application: { clientId, name: "Deployer" }, uuid: entry.uuid, scope: "user:read" },
    });
  });

  it("refuses anonymous callers and tokens without user:admin, revoking nothing", async () => {
    const held = await grant("granter", ["repo:create"]);
    const own = await tokenFor("granter", ["user:admin"]);
    const listed = (await api("GET", "/user/authorizations", { token: own })).json.authorizations;
    const entry = listed.find((a: { scopes: Array<{ scope: string }> }) => a.scopes[0]!.scope === "repo:create");
    expectQuayError(await api("DELETE", `/user/authorizations/${entry.uuid}`), 401, "invalid_token");
    const reader = await tokenFor("granter", ["user:read"]);
    expectQuayError(
      await api("DELETE", `/user/authorizations/${entry.uuid}`, { token: reader }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("GET", `/user/authorizations/${entry.uuid}`, { token: reader }),
      403,
      "insufficient_scope",
    );
    expect((await api("GET", `/user/authorizations/${entry.uuid}`, { token: own })).status).toBe(200);
    expect(held).toHaveLength(40);
  });
});
