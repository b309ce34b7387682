/**
 * A password change ends the user's older sessions (issue #12, item 7), as Quay does by rotating
 * the user's uuid: the session that made the change stays signed in, every other one is signed
 * out; the old password stops working at once, even where this isolate remembered it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { basic, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { request } from "../helpers/registry";

let admin: string;

async function makeUser(username: string, password: string) {
  await api("POST", "/superuser/users", { token: admin, body: { username, email: `${username}@example.com` } });
  await api("PUT", `/superuser/users/${username}`, { token: admin, body: { password } });
}

/** Signs in; returns the session cookie and its CSRF token. */
async function signIn(username: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const res = await request("POST", "/api/v1/signin", {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.get("Set-Cookie")!.split(";")[0]!;
  const csrf = (
    (await (await request("GET", "/csrf_token", { headers: { Cookie: cookie } })).json()) as { csrf_token: string }
  ).csrf_token;
  return { cookie, csrf };
}

async function signedIn(session: { cookie: string }): Promise<boolean> {
  const me = await api("GET", "/user/", { headers: { Cookie: session.cookie } });
  if (me.status === 401) expectQuayError(me, 401, "invalid_token");
  return me.status === 200;
}

const v2Login = async (username: string, password: string) =>
  (await request("GET", "/v2/auth", { token: null, headers: { Authorization: basic(username, password) } })).status;

beforeAll(async () => {
  admin = await initializeAdmin();
});

describe("PUT /api/v1/user/ with a new password", () => {
  it("keeps the session that changed it and ends the others", async () => {
    await makeUser("sara", "sara-password-1");
    const here = await signIn("sara", "sara-password-1");
    const elsewhere = await signIn("sara", "sara-password-1");
    const changed = await api("PUT", "/user/", {
      headers: { Cookie: here.cookie, "X-CSRF-Token": here.csrf },
      body: { password: "sara-password-2" },
    });
    expect(changed.status).toBe(200);
    expect(await signedIn(here)).toBe(true);
    expect(await signedIn(elsewhere)).toBe(false);
  });

  it("made with an OAuth token, ends every session; the token keeps working, as in Quay", async () => {
    await makeUser("tess", "tess-password-1");
    const session = await signIn("tess", "tess-password-1");
    const token = await tokenFor("tess", ["user:admin", "user:read"]);
    expect((await api("PUT", "/user/", { token, body: { password: "tess-password-2" } })).status).toBe(200);
    expect(await signedIn(session)).toBe(false);
    expect((await api("GET", "/user/", { token })).status).toBe(200);
  });

  it("changing only the email ends no session", async () => {
    await makeUser("uma", "uma-password-1");
    const here = await signIn("uma", "uma-password-1");
    const elsewhere = await signIn("uma", "uma-password-1");
    expect(
      (
        await api("PUT", "/user/", {
          headers: { Cookie: here.cookie, "X-CSRF-Token": here.csrf },
          body: { email: "uma2@example.com" },
        })
      ).status,
    ).toBe(200);
    expect(await signedIn(elsewhere)).toBe(true);
  });

  it("the old password stops working at once, although this isolate remembered it", async () => {
    await makeUser("vera", "vera-password-1");
    // Proven once: the isolate now remembers the match and skips PBKDF2 for it.
    expect(await v2Login("vera", "vera-password-1")).toBe(200);
    expect(await v2Login("vera", "vera-password-1")).toBe(200);
    const token = await tokenFor("vera", ["user:admin"]);
    expect((await api("PUT", "/user/", { token, body: { password: "vera-password-2" } })).status).toBe(200);
    expect(await v2Login("vera", "vera-password-1")).toBe(401);
    expect(await v2Login("vera", "vera-password-2")).toBe(200);
  });
});

describe("PUT /api/v1/superuser/users/{username} with a new password", () => {
  it("ends every session of that user, and none of the superuser's", async () => {
    await makeUser("wade", "wade-password-1");
    const first = await signIn("wade", "wade-password-1");
    const second = await signIn("wade", "wade-password-1");
    await api("PUT", "/superuser/users/admin", { token: admin, body: { password: "admin-password-2" } });
    const adminSession = await signIn("admin", "admin-password-2");
    const changed = await api("PUT", "/superuser/users/wade", {
      headers: { Cookie: adminSession.cookie, "X-CSRF-Token": adminSession.csrf },
      body: { password: "wade-password-2" },
    });
    expect(changed.status).toBe(200);
    expect(await signedIn(first)).toBe(false);
    expect(await signedIn(second)).toBe(false);
    expect(await signedIn(adminSession)).toBe(true);
    expect(await v2Login("wade", "wade-password-1")).toBe(401);
    expect(await v2Login("wade", "wade-password-2")).toBe(200);
  });

  it("a superuser changing their own password through it keeps the session doing so", async () => {
    const here = await signIn("admin", "admin-password-2");
    const elsewhere = await signIn("admin", "admin-password-2");
    const changed = await api("PUT", "/superuser/users/admin", {
      headers: { Cookie: here.cookie, "X-CSRF-Token": here.csrf },
      body: { password: "admin-password-3" },
    });
    expect(changed.status).toBe(200);
    expect(await signedIn(here)).toBe(true);
    expect(await signedIn(elsewhere)).toBe(false);
  });
});
