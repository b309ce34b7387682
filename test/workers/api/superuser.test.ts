import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { accessTokens } from "../../../src/db/schema";
import { verifyPassword } from "../../../src/identity/passwords";
import { decryptSecret } from "../../../src/identity/secrets";
import { findUser } from "../../../src/identity/users";
import { makeUser, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";

let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
});

describe("superuser user management", () => {
  // Quay `superuser_models_interface.py` User.to_dict: kind, name, username, email, verified,
  // avatar, super_user, enabled, and global_readonly_super_user.
  it("lists users with Quay's fields", async () => {
    const res = await api("GET", "/superuser/users/", { token: admin });
    expect(res.status).toBe(200);
    expect(res.json.users).toEqual([
      {
        kind: "user",
        name: "admin",
        username: "admin",
        email: "admin@example.com",
        verified: true,
        avatar: {
          name: "admin",
          hash: expect.stringMatching(/^[0-9a-f]{64}$/),
          color: expect.stringMatching(/^#[0-9a-f]{6}$/),
          kind: "user",
        },
        super_user: true,
        enabled: true,
        // Quay's field for GLOBAL_READONLY_SUPER_USERS, a setting Wharf does not have.
        global_readonly_super_user: false,
        // superuser_models_interface.py User.to_dict with FEATURE_QUOTA_MANAGEMENT.
        quotas: [],
        quota_report: {
          quota_bytes: 0,
          configured_quota: null,
          running_backfill: "complete",
          backfill_status: "complete",
        },
      },
    ]);
  });

  it("creates a user with a generated password that works, refusing taken names and emails", async () => {
    const res = await api("POST", "/superuser/users/", {
      token: admin,
      body: { username: "alice", email: "alice@example.com" },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ username: "alice", email: "alice@example.com" });
    expect(res.json.password).toMatch(/^[A-Z0-9]{32}$/);
    expect(await decryptSecret(env, res.json.encrypted_password)).toBe(res.json.password);
    const alice = await findUser(database(env.DB), "alice");
    expect(await verifyPassword(res.json.password, alice!.passwordHash)).toBe(true);
    expect(await verifyPassword("wrong", alice!.passwordHash)).toBe(false);

    const sameName = await api("POST", "/superuser/users/", {
      token: admin,
      body: { username: "alice", email: "other@example.com" },
    });
    expectQuayError(sameName, 400, "invalid_request", "The username already exists");
    const sameEmail = await api("POST", "/superuser/users/", {
      token: admin,
      body: { username: "alice2", email: "ALICE@example.com" },
    });
    expectQuayError(sameEmail, 400, "invalid_request", "The email address is already used");
    const badName = await api("POST", "/superuser/users/", {
      token: admin,
      body: { username: "a", email: "x@example.com" },
    });
    expectQuayError(badName, 400, "invalid_request", /between 2 and 255/);
  });

  it("refuses the anonymous (401), a user without superuser powers (403), and a token without super:user (403)", async () => {
    expectQuayError(await api("GET", "/superuser/users/"), 401, "invalid_token");
    const alice = await tokenFor("alice", ["super:user", "user:admin"]);
    expectQuayError(await api("GET", "/superuser/users/", { token: alice }), 403, "insufficient_scope");
    expectQuayError(
      await api("POST", "/superuser/users/", { token: alice, body: { username: "eve", email: "eve@example.com" } }),
      403,
      "insufficient_scope",
    );
    const narrowAdmin = await tokenFor("admin", ["user:read"]);
    expectQuayError(await api("GET", "/superuser/users/", { token: narrowAdmin }), 403, "insufficient_scope");
    expect((await api("GET", "/user/", { token: narrowAdmin })).status).toBe(200);
  });

  it("lists with Quay's query: disabled=false leaves disabled users out; limit pages with next_page", async () => {
    for (const name of ["lister1", "lister2", "lister3"]) await makeUser(admin, name);
    await api("PUT", "/superuser/users/lister2", { token: admin, body: { enabled: false } });
    const names = async (query: string) =>
      ((await api("GET", `/superuser/users/${query}`, { token: admin })).json.users as Array<{ username: string }>).map(
        (u) => u.username,
      );
    expect(await names("")).toEqual(expect.arrayContaining(["lister1", "lister2", "lister3"]));
    expect(await names("?disabled=true")).toContain("lister2");
    const enabledOnly = await names("?disabled=false");
    expect(enabledOnly).toEqual(expect.arrayContaining(["lister1", "lister3"]));
    expect(enabledOnly).not.toContain("lister2");

    const all = await names("");
    const first = await api("GET", "/superuser/users/?limit=2", { token: admin });
    expect(first.json.users).toHaveLength(2);
    const paged = [...first.json.users];
    let next = first.json.next_page as string | undefined;
    while (next) {
      const page = await api("GET", `/superuser/users/?limit=2&next_page=${next}`, { token: admin });
      paged.push(...page.json.users);
      next = page.json.next_page;
    }
    expect(paged.map((u: { username: string }) => u.username).sort()).toEqual([...all].sort());
    expectQuayError(
      await api("GET", "/superuser/users/?limit=101", { token: admin }),
      400,
      "invalid_request",
      "Page limit cannot be above 100",
    );
    // Gone again, for the tests below that list every user.
    for (const name of ["lister1", "lister2", "lister3"])
      expect((await api("DELETE", `/superuser/users/${name}`, { token: admin })).status).toBe(204);
  });

  it("disables and re-enables a user: a disabled user's tokens do nothing", async () => {
    const alice = await tokenFor("alice", ["user:read"]);
    expect((await api("GET", "/user/", { token: alice })).status).toBe(200);
    const off = await api("PUT", "/superuser/users/alice", { token: admin, body: { enabled: false } });
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ username: "alice", enabled: false });
    expectQuayError(await api("GET", "/user/", { token: alice }), 401, "invalid_token");
    await api("PUT", "/superuser/users/alice", { token: admin, body: { enabled: true } });
    expect((await api("GET", "/user/", { token: alice })).status).toBe(200);
    expectQuayError(
      await api("PUT", "/superuser/users/admin", { token: admin, body: { enabled: false } }),
      400,
      "invalid_request",
      "Cannot disable yourself",
    );
  });

  it("sets a password and an email; refuses bad values", async () => {
    const res = await api("PUT", "/superuser/users/alice", {
      token: admin,
      body: { password: "new-password-9", email: "alice@new.example.com" },
    });
    expect(res.status).toBe(200);
    expect(res.json.email).toBe("alice@new.example.com");
    expect(await decryptSecret(env, res.json.encrypted_password)).toBe("new-password-9");
    expect(await verifyPassword("new-password-9", (await findUser(database(env.DB), "alice"))!.passwordHash)).toBe(
      true,
    );
    expectQuayError(
      await api("PUT", "/superuser/users/alice", { token: admin, body: { password: "short" } }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("PUT", "/superuser/users/alice", { token: admin, body: { email: "admin@example.com" } }),
      400,
      "invalid_request",
      "The email address is already used",
    );
    expectQuayError(
      await api("PUT", "/superuser/users/nobody", { token: admin, body: { enabled: true } }),
      404,
      "not_found",
    );
  });

  it("a user changes their own password and email with user:admin, not with user:read", async () => {
    const reader = await tokenFor("alice", ["user:read"]);
    expectQuayError(
      await api("PUT", "/user/", { token: reader, body: { email: "a3@example.com" } }),
      403,
      "insufficient_scope",
    );
    const owner = await tokenFor("alice", ["user:admin"]);
    const res = await api("PUT", "/user/", {
      token: owner,
      body: { password: "alice-own-pass", email: "a3@example.com" },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ username: "alice", email: "a3@example.com" });
    // Quay's user_view has `super_user` for superusers only (issue #14; `false` was shown before).
    expect(res.json).not.toHaveProperty("super_user");
    expect(await verifyPassword("alice-own-pass", (await findUser(database(env.DB), "alice"))!.passwordHash)).toBe(
      true,
    );
    expectQuayError(
      await api("PUT", "/user/", { token: owner, body: {} }),
      400,
      "invalid_request",
      /Nothing to change/,
    );
  });

  it("deletes a user and their tokens; refuses to delete a superuser", async () => {
    const alice = await tokenFor("alice", ["user:read"]);
    const aliceId = (await findUser(database(env.DB), "alice"))!.id;
    const gone = await api("DELETE", "/superuser/users/alice", { token: admin });
    expect(gone.status).toBe(204);
    expectQuayError(await api("GET", "/superuser/users/alice", { token: admin }), 404, "not_found");
    expectQuayError(await api("GET", "/user/", { token: alice }), 401, "invalid_token");
    const left = await database(env.DB).select().from(accessTokens).all();
    expect(left.filter((t) => t.userId === aliceId)).toEqual([]);
    expect(
      (await api("GET", "/superuser/users/", { token: admin })).json.users.map((u: { username: string }) => u.username),
    ).toEqual(["admin"]);
    expectQuayError(
      await api("DELETE", "/superuser/users/admin", { token: admin }),
      400,
      "invalid_request",
      "Cannot delete a superuser",
    );
  });
});

describe("a deleted user's namespace", () => {
  it("cannot be taken by a new account until it is purged", async () => {
    const { pushBlob } = await import("../helpers/registry");
    const made = await api("POST", "/superuser/users", {
      token: admin,
      body: { username: "dave", email: "dave@example.com" },
    });
    expect(made.status).toBe(200);
    await pushBlob("dave/private", "dave's bytes");
    expect((await api("DELETE", "/superuser/users/dave", { token: admin })).status).toBe(204);
    const again = await api("POST", "/superuser/users", {
      token: admin,
      body: { username: "dave", email: "dave2@example.com" },
    });
    expectQuayError(again, 400, "invalid_request", "The username already exists");
  });

  it("is purged in the background, its repositories with it; then the name is free, with nothing inherited", async () => {
    const { purgeNamespace } = await import("../../../src/identity/namespace-deletion");
    const { findRepository } = await import("../../../src/registry/repositories");
    const dave = (await findUser(database(env.DB), "dave"))!;
    expect(dave.deletingSince).not.toBeNull();
    expect(await findRepository(database(env.DB), "dave/private")).toBeDefined();
    expect(await purgeNamespace(database(env.DB), dave.id)).toEqual({ done: true });
    expect(await findUser(database(env.DB), "dave")).toBeUndefined();
    expect(await findRepository(database(env.DB), "dave/private")).toBeUndefined();
    const again = await api("POST", "/superuser/users", {
      token: admin,
      body: { username: "dave", email: "dave@example.com" },
    });
    expect(again.status).toBe(200);
  });
});
