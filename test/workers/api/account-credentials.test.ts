/**
 * Proving a password again (Quay `endpoints/api/user.py`): verifyUser, generateUserClientKey and
 * convertUserToOrganization, which ask for one, and requestRecoveryEmail, which Quay has only with
 * mail. Their answers and refusals, as Quay gives them.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findUser } from "../../../src/identity/users";
import { basic, db, tokenFor } from "../helpers/accounts";
import { request } from "../helpers/registry";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { advanceClock } from "../helpers/clock";
import { browser, cookieOf, personMaker, v2Login } from "../helpers/signed-in";

let person: ReturnType<typeof personMaker>;

beforeAll(async () => {
  person = personMaker(await initializeAdmin());
});

afterEach(() => {
  vi.restoreAllMocks();
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

  it("is a registry password only: it signs no browser session in and approves no application", async () => {
    const { token, password } = await person("keyleaked");
    const key = (await api("POST", "/user/clientkey", { token, body: { password } })).json.key as string;
    // Quay's sign-in (conduct_signin) takes the password itself, never the encrypted one: a key left
    // in a CI machine's docker config must not become a fresh session that can change the password.
    const signin = await api("POST", "/signin", { body: { username: "keyleaked", password: key } });
    expect(signin.status).toBe(403);
    expect(signin.headers.get("Set-Cookie")).toBeNull();
    const approve = await request("POST", "/oauth/authorizeapp", {
      headers: { Authorization: basic("keyleaked", key), "Content-Type": "application/x-www-form-urlencoded" },
      body: "client_id=x&redirect_uri=x&scope=user:admin",
      redirect: "manual",
    });
    expectQuayError(
      { status: approve.status, json: await approve.json() },
      403,
      "insufficient_scope",
      /Only a password/,
    );
    expect((await api("POST", "/signin", { body: { username: "keyleaked", password } })).status).toBe(200);
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

describe("POST /api/v1/user/convert from a browser session", () => {
  it("needs a fresh login: a stale (or stolen) session cannot hand the account to another user", async () => {
    const victim = await person("victim");
    const thief = await person("thief");
    const headers = await browser("victim", victim.password);
    advanceClock(11 * 60_000);
    const body = { adminUser: "thief", adminPassword: thief.password };
    expectQuayError(await api("POST", "/user/convert", { headers, body }), 401, "fresh_login_required");
    expect((await findUser(db(), "victim"))!.kind).toBe("user");
    await api("POST", "/signin/verify", { headers, body: { password: victim.password } });
    expect((await api("POST", "/user/convert", { headers, body })).status).toBe(200);
  });
});

describe("POST /api/v1/recovery (requestRecoveryEmail)", () => {
  it("does not exist without mailing (Quay's @show_if(features.MAILING)): 404", async () => {
    expectQuayError(await api("POST", "/recovery", { body: { email: "admin@example.com" } }), 404, "not_found");
  });
});
