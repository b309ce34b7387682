/**
 * An account's own life (Quay `endpoints/api/user.py`): createNewUser, deleteCurrentUser,
 * convertUserToOrganization, requestRecoveryEmail, verifyUser and generateUserClientKey, with
 * Quay's answers and refusals, and Quay's fresh-login rule for browser sessions.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { findUser } from "../../../src/identity/users";
import { basic, db, makeUser, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { recordEvents } from "../helpers/events";
import { BASE, request } from "../helpers/registry";

let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const cookieOf = (res: { headers: Headers }) => res.headers.get("Set-Cookie")!.split(";")[0]!;

const v2Login = (user: string, password: string) =>
  request("GET", "/v2/auth?scope=repository:admin/app:pull", {
    token: null,
    headers: { Authorization: basic(user, password) },
  });

/** A user with a known password and an OAuth token of every scope but super:user. */
async function person(username: string, password = `${username}-password-1`) {
  await makeUser(admin, username);
  await api("PUT", `/superuser/users/${username}`, { token: admin, body: { password } });
  return { token: await tokenFor(username), password };
}

/**
 * A signed-in browser of `username`: its cookie and CSRF token, as headers, from an address of its
 * own (a test that moves the clock leaves the login limits of its address in the future).
 */
async function browser(username: string, password: string): Promise<Record<string, string>> {
  const address = { "CF-Connecting-IP": `203.0.113.${Math.floor(Math.random() * 250) + 1}` };
  const signin = await api("POST", "/signin", { body: { username, password }, headers: address });
  const cookie = cookieOf(signin);
  const csrf = await request("GET", "/csrf_token", { headers: { Cookie: cookie } });
  return { ...address, Cookie: cookie, "X-CSRF-Token": ((await csrf.json()) as { csrf_token: string }).csrf_token };
}

describe("POST /api/v1/user/ (createNewUser)", () => {
  it("creates a verified account, signs it in, and answers Quay's user view", async () => {
    const recorder = recordEvents();
    const res = await api("POST", "/user/", {
      body: { username: "newcomer", password: "newcomer-password", email: "Newcomer@Example.com", invite_code: "" },
    });
    expect(res.status).toBe(200);
    // Quay endpoints/api/user.py user_view (is_admin branch): anonymous, username, avatar,
    // can_create_repo, is_me, verified, email, logins, invoice_email, invoice_email_address,
    // preferred_namespace, tag_expiration_s, prompts, company, family_name, given_name, location,
    // organizations (and the fields the GET /user/ view adds).
    expect(res.json).toMatchObject({
      anonymous: false,
      username: "newcomer",
      can_create_repo: true,
      is_me: true,
      verified: true,
      email: "newcomer@example.com",
      logins: [],
      invoice_email: false,
      invoice_email_address: null,
      preferred_namespace: false,
      prompts: [],
      company: null,
      family_name: null,
      given_name: null,
      location: null,
      organizations: [],
    });
    expect(res.json.avatar).toMatchObject({ name: "newcomer", kind: "user" });
    expect(typeof res.json.tag_expiration_s).toBe("number");
    // Signed in at once, as Quay's common_login: the cookie is a session of the new user.
    const me = await api("GET", "/user/", { headers: { Cookie: cookieOf(res) } });
    expect(me.json.username).toBe("newcomer");
    expect((await v2Login("newcomer", "newcomer-password")).status).toBe(200);
    const [created] = await recorder.published("user_create");
    expect(created).toMatchObject({ namespace: "newcomer", data: { email: "newcomer@example.com" } });
  });

  it("takes no email when mailing is off", async () => {
    const res = await api("POST", "/user", { body: { username: "no-email", password: "no-email-password" } });
    expect(res.status).toBe(200);
    expect(res.json.email).toBeNull();
  });

  it("refuses a taken name, an organization's name, a taken email, bad names and passwords (Quay's 400)", async () => {
    await person("taken");
    await api("POST", "/organization/", { token: admin, body: { name: "an-org", email: "org@example.com" } });
    const create = (body: unknown) => api("POST", "/user/", { body });
    expectQuayError(
      await create({ username: "taken", password: "long-enough-1" }),
      400,
      "invalid_request",
      "The username already exists",
    );
    expectQuayError(
      await create({ username: "an-org", password: "long-enough-1" }),
      400,
      "invalid_request",
      "Username has already been taken by an organization and cannot be reused: an-org",
    );
    expectQuayError(
      await create({ username: "other", password: "long-enough-1", email: "taken@example.com" }),
      400,
      "invalid_request",
      "The email address is already used",
    );
    expectQuayError(await create({ username: "Bad Name", password: "long-enough-1" }), 400, "invalid_request");
    expectQuayError(await create({ username: "someone", password: "short" }), 400, "invalid_request", /8 characters/);
    expectQuayError(await create({ password: "long-enough-1" }), 400, "invalid_request", /username/);
    expect(await findUser(db(), "someone")).toBeUndefined();
  });

  it("is absent (404) without FEATURE_USER_CREATION, as Quay's @show_if", async () => {
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await createApp().fetch(
      new Request(`${BASE}/api/v1/user/`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: "blocked", password: "blocked-password" }),
      }),
      { ...env, FEATURE_USER_CREATION: "false" },
      ctx,
    );
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error_type: string }).error_type).toBe("not_found");
    expect(await findUser(db(), "blocked")).toBeUndefined();
  });
});

describe("DELETE /api/v1/user/ (deleteCurrentUser)", () => {
  it("deletes the signed-in user: hidden and disabled at once, its tokens dead, its name kept until purged", async () => {
    const { token, password } = await person("leaver");
    const recorder = recordEvents();
    const res = await api("DELETE", "/user/", { token });
    expect(res.status).toBe(204);
    expect((await findUser(db(), "leaver"))!.deletingSince).not.toBeNull();
    expectQuayError(await api("GET", "/user/", { token }), 401, "invalid_token");
    expect((await v2Login("leaver", password)).status).toBe(401);
    expectQuayError(await api("POST", "/user/", { body: { username: "leaver", password } }), 400, "invalid_request");
    expect((await recorder.published("user_delete")).map((e) => e.namespace)).toEqual(["leaver"]);
  });

  it("refuses the only admin of an organization (Quay's message), a superuser, and callers without user:admin", async () => {
    const { token } = await person("founder");
    await api("POST", "/organization/", { token, body: { name: "founded", email: "founded@example.com" } });
    const refused = await api("DELETE", "/user/", { token });
    expectQuayError(
      refused,
      400,
      "invalid_request",
      "Cannot delete founder as you are the only admin for organizations: founded",
    );
    expect(refused.json.message).toBe(refused.json.error_message);
    expectQuayError(await api("DELETE", "/user/", { token: admin }), 400, "invalid_request", /superuser/);
    expectQuayError(await api("DELETE", "/user/"), 401, "invalid_token");
    const reader = await tokenFor("founder", ["user:read"]);
    expectQuayError(await api("DELETE", "/user/", { token: reader }), 403, "insufficient_scope");
    expect((await findUser(db(), "founder"))!.deletingSince).toBeNull();
  });

  it("needs a fresh login from a browser session: stale after FRESH_LOGIN_TIMEOUT, fresh again after verifyUser", async () => {
    const { password } = await person("stale");
    const headers = await browser("stale", password);
    advanceClock(11 * 60_000);
    expectQuayError(await api("DELETE", "/user/", { headers }), 401, "fresh_login_required", "Requires fresh login");
    expectQuayError(
      await api("PUT", "/user/", { headers, body: { email: "s@example.com" } }),
      401,
      "fresh_login_required",
    );
    expect((await findUser(db(), "stale"))!.deletingSince).toBeNull();

    const wrong = await api("POST", "/signin/verify", { headers, body: { password: "not-it-at-all" } });
    expect(wrong.status).toBe(403);
    expect(wrong.json).toEqual({ message: "Invalid Username or Password", invalidCredentials: true });
    const verified = await api("POST", "/signin/verify", { headers, body: { password } });
    expect(verified.status).toBe(200);
    expect(verified.json).toEqual({ success: true });
    expect((await api("DELETE", "/user/", { headers })).status).toBe(204);
  });
});

describe("POST /api/v1/signin/verify (verifyUser)", () => {
  it("answers success to a token holder with the password, and refuses callers without user:admin", async () => {
    const { token, password } = await person("verifier");
    expect((await api("POST", "/signin/verify", { token, body: { password } })).json).toEqual({ success: true });
    expectQuayError(await api("POST", "/signin/verify", { body: { password } }), 401, "invalid_token");
    const reader = await tokenFor("verifier", ["user:read"]);
    expectQuayError(
      await api("POST", "/signin/verify", { token: reader, body: { password } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("POST", "/signin/verify", { token, body: {} }), 400, "invalid_request");
  });
});

describe("POST /api/v1/user/clientkey (generateUserClientKey)", () => {
  it("answers Quay's {key}: a registry password for the user until the password changes", async () => {
    const { token, password } = await person("keyholder");
    const recorder = recordEvents();
    const res = await api("POST", "/user/clientkey", { token, body: { password } });
    expect(res.status).toBe(200);
    // Quay endpoints/api/user.py ClientKey.post: {"key": <encrypted password>}.
    expect(Object.keys(res.json)).toEqual(["key"]);
    expect(res.json.key).not.toContain(password);
    expect((await v2Login("keyholder", res.json.key)).status).toBe(200);
    expect((await v2Login("other-user", res.json.key)).status).toBe(401);
    expect((await recorder.published("user_generate_client_key")).map((e) => e.namespace)).toEqual(["keyholder"]);

    await api("PUT", "/user/", { token, body: { password: "a-new-password-2" } });
    expect((await v2Login("keyholder", res.json.key)).status).toBe(401);
  });

  it("refuses a wrong password (Quay's 400), anonymous callers and tokens without user:admin", async () => {
    const { token, password } = await person("keyless");
    expectQuayError(
      await api("POST", "/user/clientkey", { token, body: { password: "wrong-password" } }),
      400,
      "invalid_request",
      "Invalid Username or Password",
    );
    expectQuayError(await api("POST", "/user/clientkey", { body: { password } }), 401, "invalid_token");
    const reader = await tokenFor("keyless", ["user:read"]);
    expectQuayError(
      await api("POST", "/user/clientkey", { token: reader, body: { password } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("POST", "/user/clientkey", { token, body: {} }), 400, "invalid_request");
  });
});

describe("POST /api/v1/user/convert (convertUserToOrganization)", () => {
  it("turns the user into an organization whose owners team holds adminUser, and signs adminUser in", async () => {
    const { token, password } = await person("convertee");
    const boss = await person("boss");
    await api("POST", "/repository", {
      token,
      body: { namespace: "convertee", repository: "kept", visibility: "private", description: "" },
    });
    const recorder = recordEvents();
    const res = await api("POST", "/user/convert", {
      token,
      body: { adminUser: "boss", adminPassword: boss.password, plan: "free" },
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ success: true });
    const me = await api("GET", "/user/", { headers: { Cookie: cookieOf(res) } });
    expect(me.json.username).toBe("boss");

    expect((await findUser(db(), "convertee"))!).toMatchObject({ kind: "organization", passwordHash: null });
    expectQuayError(await api("GET", "/user/", { token }), 401, "invalid_token");
    expect((await v2Login("convertee", password)).status).toBe(401);
    const owners = await api("GET", "/organization/convertee/team/owners/members", { token: boss.token });
    expect(owners.json.members.map((m: { name: string }) => m.name)).toEqual(["boss"]);
    const repo = await api("GET", "/repository/convertee/kept", { token: boss.token });
    expect(repo.status).toBe(200);
    const [event] = await recorder.published("account_convert");
    expect(event).toMatchObject({ namespace: "convertee", data: { adminUser: { kind: "user", name: "boss" } } });
  });

  it("refuses bad admin credentials and the user itself as admin (Quay's reason invaliduser)", async () => {
    const { token, password } = await person("stays");
    await person("helper");
    const wrong = await api("POST", "/user/convert", {
      token,
      body: { adminUser: "helper", adminPassword: "nope-nope" },
    });
    expectQuayError(wrong, 400, "invalid_request", "The admin user credentials are not valid");
    expect(wrong.json.reason).toBe("invaliduser");
    const self = await api("POST", "/user/convert", { token, body: { adminUser: "stays", adminPassword: password } });
    expectQuayError(self, 400, "invalid_request", "The admin user is not valid");
    expect(self.json.reason).toBe("invaliduser");
    expectQuayError(
      await api("POST", "/user/convert", { token, body: { adminUser: "helper" } }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("POST", "/user/convert", { body: { adminUser: "helper", adminPassword: "x" } }),
      401,
      "invalid_token",
    );
    const reader = await tokenFor("stays", ["user:read"]);
    expectQuayError(
      await api("POST", "/user/convert", { token: reader, body: { adminUser: "helper", adminPassword: "x" } }),
      403,
      "insufficient_scope",
    );
    expect((await findUser(db(), "stays"))!.kind).toBe("user");
  });
});

describe("POST /api/v1/recovery (requestRecoveryEmail)", () => {
  it("does not exist without mailing (Quay's @show_if(features.MAILING)): 404", async () => {
    expectQuayError(await api("POST", "/recovery", { body: { email: "admin@example.com" } }), 404, "not_found");
  });
});

describe("fresh login on the other operations Quay marks @require_fresh_login", () => {
  it("createAppToken refuses a stale session and takes a fresh one", async () => {
    const { password } = await person("tokenmaker");
    const headers = await browser("tokenmaker", password);
    expect((await api("POST", "/user/apptoken", { headers, body: { title: "fresh" } })).status).toBe(200);
    advanceClock(11 * 60_000);
    expectQuayError(
      await api("POST", "/user/apptoken", { headers, body: { title: "stale" } }),
      401,
      "fresh_login_required",
    );
    await api("POST", "/signin/verify", { headers, body: { password } });
    expect((await api("POST", "/user/apptoken", { headers, body: { title: "again" } })).status).toBe(200);
  });
});
