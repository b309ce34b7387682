import { beforeAll, describe, expect, it } from "vitest";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { request } from "../helpers/registry";

let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin("admin-password-1");
  await api("POST", "/superuser/users", { token: admin, body: { username: "erin", email: "erin@example.com" } });
  await api("PUT", "/superuser/users/erin", { token: admin, body: { password: "erin-password-1" } });
});

async function signin(username: string, password: string, contentType = "application/json") {
  const res = await request("POST", "/api/v1/signin", {
    headers: { "Content-Type": contentType },
    body: JSON.stringify({ username, password }),
  });
  return { res, json: (await res.json()) as Record<string, unknown> };
}

const cookieOf = (res: Response) => res.headers.get("Set-Cookie")!.split(";")[0]!;

describe("browser sessions", () => {
  it("signs in with a password: an HttpOnly, SameSite=Lax, Secure session cookie", async () => {
    const { res, json } = await signin("erin", "erin-password-1");
    expect(res.status).toBe(200);
    expect(json).toEqual({ success: true });
    const cookie = res.headers.get("Set-Cookie")!;
    expect(cookie).toMatch(/^wharf_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Secure/); // registry.test is not loopback
    const me = await api("GET", "/user/", { headers: { Cookie: cookieOf(res) } });
    expect(me.status).toBe(200);
    expect(me.json.username).toBe("erin");
  });

  it("refuses bad credentials with Quay's answer, and non-JSON sign-ins", async () => {
    const wrong = await signin("erin", "nope");
    expect(wrong.res.status).toBe(403);
    expect(wrong.json).toMatchObject({ invalidCredentials: true, needsEmailVerification: false });
    expect(wrong.res.headers.get("Set-Cookie")).toBeNull();
    expect((await signin("nobody", "whatever")).res.status).toBe(403);
    const form = await signin("erin", "erin-password-1", "application/x-www-form-urlencoded");
    expect(form.res.status).toBe(400);
  });

  it("needs X-CSRF-Token on state-changing calls made with the cookie", async () => {
    const cookie = cookieOf((await signin("erin", "erin-password-1")).res);
    const without = await api("PUT", "/user/", { headers: { Cookie: cookie }, body: { email: "erin2@example.com" } });
    expectQuayError(without, 403, "insufficient_scope", "CSRF token was invalid or missing.");
    const wrongToken = await api("PUT", "/user/", {
      headers: { Cookie: cookie, "X-CSRF-Token": "x".repeat(43) },
      body: { email: "erin2@example.com" },
    });
    expect(wrongToken.status).toBe(403);
    const csrf = await request("GET", "/csrf_token", { headers: { Cookie: cookie } });
    expect(csrf.status).toBe(200);
    const { csrf_token } = (await csrf.json()) as { csrf_token: string };
    const withToken = await api("PUT", "/user/", {
      headers: { Cookie: cookie, "X-CSRF-Token": csrf_token },
      body: { email: "erin2@example.com" },
    });
    expect(withToken.status).toBe(200);
    expect(withToken.json.email).toBe("erin2@example.com");
  });

  it("signs out: the cookie stops working; a disabled user's session does nothing", async () => {
    const cookie = cookieOf((await signin("erin", "erin-password-1")).res);
    const { csrf_token } = (await (await request("GET", "/csrf_token", { headers: { Cookie: cookie } })).json()) as {
      csrf_token: string;
    };
    const out = await api("POST", "/signout", { headers: { Cookie: cookie, "X-CSRF-Token": csrf_token } });
    expect(out.status).toBe(200);
    expectQuayError(await api("GET", "/user/", { headers: { Cookie: cookie } }), 401, "invalid_token");

    const second = cookieOf((await signin("erin", "erin-password-1")).res);
    await api("PUT", "/superuser/users/erin", { token: admin, body: { enabled: false } });
    expectQuayError(await api("GET", "/user/", { headers: { Cookie: second } }), 401, "invalid_token");
    await api("PUT", "/superuser/users/erin", { token: admin, body: { enabled: true } });
  });

  it("GET /csrf_token without a session is 401 in Quay's shape", async () => {
    const res = await request("GET", "/csrf_token");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error_type: string }).error_type).toBe("invalid_token");
  });
});
