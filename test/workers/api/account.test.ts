/**
 * An account's own life (Quay `endpoints/api/user.py`): createNewUser and deleteCurrentUser, with
 * Quay's answers and refusals, and Quay's fresh-login rule for browser sessions (verifyUser making
 * a session fresh again). The operations that ask for a password are in account-credentials.test.ts.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { findUser } from "../../../src/identity/users";
import { db, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { recordEvents } from "../helpers/events";
import { BASE } from "../helpers/registry";
import { browser, cookieOf, personMaker, v2Login } from "../helpers/signed-in";

let admin: string;
let person: ReturnType<typeof personMaker>;

beforeAll(async () => {
  admin = await initializeAdmin();
  person = personMaker(admin);
});

afterEach(() => {
  vi.restoreAllMocks();
});

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
    const empty = await api("POST", "/user", { body: { username: "empty-email", password: "x-password", email: "" } });
    expect(empty.json.email).toBeNull();
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
