/**
 * Issue #12, item 5: a registry token lives five minutes. A disabled user's token created a new
 * repository, and a deleted user's token pushed into the namespace a re-created account of the
 * same name then owned. Writes re-check the token's account (by id, not only name) and its right.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { purgeNamespace } from "../../../src/identity/namespace-deletion";
import { findUser } from "../../../src/identity/users";
import { findRepository } from "../../../src/registry/repositories";
import { basic, db, makeUser, pushBlobWith, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { errorCode, request } from "../helpers/registry";

let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
});

describe("a token whose account was disabled", () => {
  it("creates no repository and pushes nothing; pulls of what it could read end with the token", async () => {
    const password = await makeUser(admin, "dora");
    const { token } = await v2Token(basic("dora", password), "repository:dora/app:pull,push,delete");
    expect((await pushImageWith(token, "dora/app", "1")).status).toBe(201);
    const { token: fresh } = await v2Token(basic("dora", password), "repository:dora/new:pull,push");

    await api("PUT", "/superuser/users/dora", { token: admin, body: { enabled: false } });
    const create = await pushBlobWith(fresh, "dora/new", "late bytes");
    expect(create.status).toBe(403);
    expect(await errorCode(create)).toBe("DENIED");
    expect(await findRepository(db(), "dora/new")).toBeUndefined();
    const push = await pushImageWith(token, "dora/app", "2");
    expect(push.status).toBe(403);
    const remove = await request("DELETE", "/v2/dora/app/manifests/1", { token });
    expect(remove.status).toBe(403);
    expect((await request("GET", "/v2/dora/app/tags/list", { token })).status).toBe(200);
  });
});

describe("a token whose account was deleted and its name taken again", () => {
  it("does not act for the new account of the same name", async () => {
    const password = await makeUser(admin, "ops");
    const { token } = await v2Token(
      basic("ops", password),
      "repository:ops/app:pull,push,delete repository:ops/other:pull,push",
    );
    expect((await api("DELETE", "/superuser/users/ops", { token: admin })).status).toBe(204);
    const gone = (await findUser(database(env.DB), "ops"))!;
    expect(await purgeNamespace(database(env.DB), gone.id)).toEqual({ done: true });
    const newPassword = await makeUser(admin, "ops");
    // The new `ops` pushes their own image; the old token may neither create nor touch it.
    const newOps = await v2Token(basic("ops", newPassword), "repository:ops/app:pull,push,delete");
    expect((await pushImageWith(newOps.token, "ops/app", "1")).status).toBe(201);
    expect((await pushImageWith(token, "ops/app", "evil")).status).toBe(403);
    expect((await pushImageWith(token, "ops/other", "evil")).status).toBe(403);
    expect(await findRepository(db(), "ops/other")).toBeUndefined();
    expect((await request("DELETE", "/v2/ops/app/manifests/1", { token })).status).toBe(403);
  });
});

describe("a token whose grant was revoked", () => {
  it("pushes no more once the permission is gone", async () => {
    const olgaPassword = await makeUser(admin, "olga");
    const carlPassword = await makeUser(admin, "carl");
    const olga = await v2Token(basic("olga", olgaPassword), "repository:olga/shared:pull,push");
    expect((await pushImageWith(olga.token, "olga/shared", "1")).status).toBe(201);
    expect(
      (
        await api("PUT", "/repository/olga/shared/permissions/user/carl", {
          token: await tokenFor("olga"),
          body: { role: "write" },
        })
      ).status,
    ).toBe(200);
    const carl = await v2Token(basic("carl", carlPassword), "repository:olga/shared:pull,push");
    expect(carl.actions).toEqual(["pull", "push"]);
    expect((await pushImageWith(carl.token, "olga/shared", "2")).status).toBe(201);
    expect(
      (await api("DELETE", "/repository/olga/shared/permissions/user/carl", { token: await tokenFor("olga") })).status,
    ).toBe(204);
    expect((await pushImageWith(carl.token, "olga/shared", "3")).status).toBe(403);
  });
});
