import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { accessTokens, users } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/lib/encoding";
import { decryptSecret } from "../../../src/identity/secrets";
import { api, expectQuayError } from "../helpers/api";

describe("POST /api/v1/user/initialize", () => {
  it("refuses a first user who is not listed in SUPER_USERS, and leaves the registry empty", async () => {
    const res = await api("POST", "/user/initialize", {
      body: { username: "mallory", password: "password-123", email: "m@example.com" },
    });
    expectQuayError(res, 400, "invalid_request", /SUPER_USERS/);
    expect(await database(env.DB).select().from(users).all()).toEqual([]);
  });

  it.each([
    [{ username: "admin", email: "a@example.com" }, /password/],
    [{ username: "admin", password: "short", email: "a@example.com" }, /at least 8/],
    [{ username: "admin", password: "password-123", email: "not-an-email" }, /email/i],
    [{ username: "Admin!", password: "password-123", email: "a@example.com" }, /username/i],
  ])("refuses an invalid body %j", async (body, message) => {
    expectQuayError(await api("POST", "/user/initialize", { body }), 400, "invalid_request", message);
  });

  it("refuses malformed JSON, and a body over 1 MiB with 413 before buffering it", async () => {
    expectQuayError(await api("POST", "/user/initialize", { body: "{nope" }), 400, "invalid_request", /Malformed JSON/);
    const huge = JSON.stringify({ username: "admin", password: "x".repeat(1024 * 1024), email: "a@example.com" });
    expectQuayError(
      await api("POST", "/user/initialize", { body: huge }),
      413,
      "invalid_request",
      "Request body too large",
    );
  });

  it("creates the superuser with an all-scopes token, stores only hashes, then refuses a second time", async () => {
    const res = await api("POST", "/user/initialize", {
      body: { username: "admin", password: "correct-horse-1", email: "Admin@Example.com", access_token: true },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ username: "admin", email: "admin@example.com" });
    expect(res.json.access_token).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(await decryptSecret(env, res.json.encrypted_password)).toBe("correct-horse-1");

    const me = await api("GET", "/user/", { token: res.json.access_token });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({
      anonymous: false,
      username: "admin",
      email: "admin@example.com",
      super_user: true,
      verified: true,
    });
    expect(me.json.avatar).toMatchObject({ name: "admin", kind: "user" });

    const db = database(env.DB);
    const [row] = await db.select().from(users).all();
    expect(row!.passwordHash).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(row!.passwordHash).not.toContain("correct-horse-1");
    const [token] = await db.select().from(accessTokens).all();
    expect(token!.tokenHash).toBe(await sha256Hex(res.json.access_token));
    expect(token!.scopes.split(" ").sort()).toEqual([
      "org:admin",
      "repo:admin",
      "repo:create",
      "repo:read",
      "repo:write",
      "super:user",
      "user:admin",
      "user:read",
    ]);

    const again = await api("POST", "/user/initialize", {
      body: { username: "admin", password: "another-pass-1", email: "b@example.com" },
    });
    expectQuayError(again, 400, "invalid_request", "Cannot initialize user in a non-empty database");
  });
});

describe("/api/v1 answers in Quay's error shape", () => {
  it("an unknown endpoint is 404 not_found", async () => {
    expectQuayError(await api("GET", "/no/such/endpoint"), 404, "not_found", "Not Found");
  });

  it("anonymous GET /user/ is 401 invalid_token; a bearer token that is not ours is 401 too", async () => {
    expectQuayError(await api("GET", "/user/"), 401, "invalid_token", "Requires authentication");
    expectQuayError(await api("GET", "/user/", { token: "A".repeat(40) }), 401, "invalid_token");
    expectQuayError(await api("GET", "/user/", { headers: { Authorization: "Bearer" } }), 401, "invalid_token");
  });
});
