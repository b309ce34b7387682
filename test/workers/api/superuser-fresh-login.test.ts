/**
 * Quay marks the superuser's changes `@require_fresh_login` (endpoints/api/superuser.py:
 * createInstallUser, changeInstallUser, deleteInstallUser, takeOwnership, deleteOrganization,
 * changeOrganization): a browser session that proved its password longer than FRESH_LOGIN_TIMEOUT
 * ago gets 401 `fresh_login_required` and changes nothing; reads stay open; OAuth tokens pass.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { findUser } from "../../../src/identity/users";
import { db, makeUser } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { browser } from "../helpers/signed-in";

let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "victim");
});

describe("superuser changes need a fresh login", () => {
  it("refuses every change from a stale session, keeps reads, and lets OAuth tokens through", async () => {
    const headers = await browser("admin", "admin-password-1");
    expect((await api("GET", "/superuser/users/", { headers })).status).toBe(200);
    expect((await api("PUT", "/superuser/users/victim", { headers, body: { enabled: true } })).status).toBe(200);
    advanceClock(11 * 60_000);
    const changes: Array<[string, string, unknown?]> = [
      ["POST", "/superuser/users/", { username: "newcomer", email: "newcomer@example.com" }],
      ["PUT", "/superuser/users/victim", { enabled: false }],
      ["DELETE", "/superuser/users/victim"],
      ["POST", "/superuser/takeownership/victim"],
      ["PUT", "/superuser/organizations/nosuchorg", { name: "other" }],
      ["DELETE", "/superuser/organizations/nosuchorg"],
    ];
    for (const [method, path, body] of changes)
      expectQuayError(await api(method, path, { headers, body }), 401, "fresh_login_required");
    expect((await findUser(db(), "victim"))!.enabled).toBe(true);
    expect(await findUser(db(), "newcomer")).toBeUndefined();
    expect((await api("GET", "/superuser/users/", { headers })).status).toBe(200);
    expect((await api("PUT", "/superuser/users/victim", { token: admin, body: { enabled: true } })).status).toBe(200);
  });
});
