/**
 * A superuser's hold on organizations (Quay `endpoints/api/superuser.py`): `listAllOrganizations`,
 * `changeOrganization` (a rename), `deleteOrganization`, and `takeOwnership` of an organization
 * (the superuser joins its owners) or of a user (converted into an organization the superuser owns),
 * with their refusals and events.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { accessTokens } from "../../../src/db/schema";
import { createRobot } from "../../../src/identity/robots";
import { organizationRole } from "../../../src/identity/organizations";
import { findUser } from "../../../src/identity/users";
import { db, makeUser, pushAs, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { fixtureEvents, recordEvents } from "../helpers/events";

let admin: string;
let olga: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "olga");
  olga = await tokenFor("olga");
  for (const name of ["acme", "globex", "initech"])
    expect(
      (await api("POST", "/organization", { token: olga, body: { name, email: `${name}@example.com` } })).status,
    ).toBe(201);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("listAllOrganizations", () => {
  it("lists every organization with Quay's fields", async () => {
    const res = await api("GET", "/superuser/organizations/", { token: admin });
    expect(res.status).toBe(200);
    // Quay `superuser_models_interface.py` Organization.to_dict: name, email, avatar, and with
    // FEATURE_QUOTA_MANAGEMENT quotas and quota_report.
    expect(res.json.organizations).toContainEqual({
      name: "acme",
      email: "acme@example.com",
      avatar: {
        name: "acme",
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        color: expect.stringMatching(/^#[0-9a-f]{6}$/),
        kind: "org",
      },
      quotas: [],
      quota_report: {
        quota_bytes: 0,
        configured_quota: null,
        running_backfill: "complete",
        backfill_status: "complete",
      },
    });
    const names = (res.json.organizations as Array<{ name: string }>).map((o) => o.name);
    expect(names).toEqual(expect.arrayContaining(["acme", "globex", "initech"]));
    expect(names).not.toContain("olga");
    expect(res.json).not.toHaveProperty("next_page");
  });

  it("pages with limit and next_page; refuses a limit above 100 and a foreign token", async () => {
    const first = await api("GET", "/superuser/organizations/?limit=2", { token: admin });
    expect(first.json.organizations).toHaveLength(2);
    expect(first.json.next_page).toEqual(expect.any(String));
    const rest = await api("GET", `/superuser/organizations/?limit=2&next_page=${first.json.next_page}`, {
      token: admin,
    });
    const seen = [...first.json.organizations, ...rest.json.organizations].map((o: { name: string }) => o.name);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(["acme", "globex", "initech"]));
    expectQuayError(
      await api("GET", "/superuser/organizations/?limit=101", { token: admin }),
      400,
      "invalid_request",
      "Page limit cannot be above 100",
    );
    expectQuayError(
      await api("GET", "/superuser/organizations/?limit=2&next_page=bogus", { token: admin }),
      400,
      "invalid_request",
    );
  });

  it("refuses the anonymous (401), a non-superuser (403) and a token without super:user (403)", async () => {
    expectQuayError(await api("GET", "/superuser/organizations/"), 401, "invalid_token");
    const olgaSuper = await tokenFor("olga", ["super:user", "org:admin"]);
    expectQuayError(await api("GET", "/superuser/organizations/", { token: olgaSuper }), 403, "insufficient_scope");
    const narrow = await tokenFor("admin", ["org:admin", "user:admin"]);
    expectQuayError(await api("GET", "/superuser/organizations/", { token: narrow }), 403, "insufficient_scope");
    for (const [method, path] of [
      ["PUT", "/superuser/organizations/acme"],
      ["DELETE", "/superuser/organizations/acme"],
      ["POST", "/superuser/takeownership/acme"],
    ] as const) {
      expectQuayError(await api(method, path, { body: {} }), 401, "invalid_token");
      expectQuayError(await api(method, path, { token: olgaSuper, body: {} }), 403, "insufficient_scope");
    }
    expect(await findUser(db(), "acme")).toMatchObject({ kind: "organization", deletingSince: null });
  });
});

describe("changeOrganization", () => {
  it("renames an organization and its robots, with org_change_name in the new name", async () => {
    const org = (await findUser(db(), "globex"))!;
    await createRobot(db(), env, org, "bot", { description: "" }, fixtureEvents());
    const recorder = recordEvents();
    const res = await api("PUT", "/superuser/organizations/globex", { token: admin, body: { name: "globex2" } });
    expect(res.status).toBe(200);
    // Quay answers `Organization.to_dict` of the renamed organization.
    expect(res.json).toMatchObject({ name: "globex2", email: "globex@example.com" });
    expect(await findUser(db(), "globex")).toBeUndefined();
    expect(await findUser(db(), "globex2")).toMatchObject({ id: org.id, kind: "organization" });
    expect(await findUser(db(), "globex2+bot")).toMatchObject({ kind: "robot" });
    expect(await findUser(db(), "globex+bot")).toBeUndefined();
    expect(await organizationRole(db(), (await findUser(db(), "olga"))!.id, "globex2")).toBe("admin");
    const events = await recorder.published();
    expect(events.map((e) => [e.kind, e.namespace, e.data])).toEqual([
      ["org_change_name", "globex2", { oldName: "globex", newName: "globex2" }],
    ]);
  });

  it("without a name changes nothing; refuses a taken name, a bad name, an unknown organization", async () => {
    const same = await api("PUT", "/superuser/organizations/acme", { token: admin, body: {} });
    expect(same.status).toBe(200);
    expect(same.json.name).toBe("acme");
    expectQuayError(
      await api("PUT", "/superuser/organizations/acme", { token: admin, body: { name: "olga" } }),
      400,
      "invalid_request",
      "The username already exists",
    );
    expectQuayError(
      await api("PUT", "/superuser/organizations/acme", { token: admin, body: { name: "Bad Name" } }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("PUT", "/superuser/organizations/no-such-org", { token: admin, body: { name: "x2" } }),
      404,
      "not_found",
    );
    // A user is no organization.
    expectQuayError(
      await api("PUT", "/superuser/organizations/olga", { token: admin, body: { name: "olga2" } }),
      404,
      "not_found",
    );
  });

  it("refuses to rename an organization that holds repositories (differs from Quay)", async () => {
    await pushAs("olga", "initech/app");
    expectQuayError(
      await api("PUT", "/superuser/organizations/initech", { token: admin, body: { name: "initech2" } }),
      400,
      "invalid_request",
      "Cannot rename an organization that holds repositories",
    );
    expect(await findUser(db(), "initech")).toBeDefined();
  });
});

describe("deleteOrganization", () => {
  it("deletes an organization (hidden at once) with org_delete; 404 for unknown ones and users", async () => {
    await api("POST", "/organization", { token: olga, body: { name: "doomed", email: "doomed@example.com" } });
    const recorder = recordEvents();
    const res = await api("DELETE", "/superuser/organizations/doomed", { token: admin });
    expect(res.status).toBe(204);
    expect(await findUser(db(), "doomed")).toMatchObject({ enabled: false, deletingSince: expect.any(Number) });
    expect((await recorder.published()).map((e) => [e.kind, e.namespace])).toEqual([["org_delete", "doomed"]]);
    expectQuayError(await api("DELETE", "/superuser/organizations/doomed", { token: admin }), 404, "not_found");
    expectQuayError(await api("DELETE", "/superuser/organizations/olga", { token: admin }), 404, "not_found");
    expect(await findUser(db(), "olga")).toMatchObject({ kind: "user", deletingSince: null });
  });
});

describe("takeOwnership", () => {
  it("of an organization: the superuser joins its owners team, with take_ownership in the superuser's namespace", async () => {
    const adminId = (await findUser(db(), "admin"))!.id;
    expect(await organizationRole(db(), adminId, "acme")).toBeNull();
    const recorder = recordEvents();
    const res = await api("POST", "/superuser/takeownership/acme", { token: admin });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ namespace: "acme" });
    expect(await organizationRole(db(), adminId, "acme")).toBe("admin");
    const acme = (await findUser(db(), "acme"))!;
    expect((await recorder.published()).map((e) => [e.kind, e.namespace, e.data])).toEqual([
      ["take_ownership", "admin", { namespace: "acme", entityId: acme.id, wasUser: false }],
    ]);
    // Again: already an owner, still answered.
    expect((await api("POST", "/superuser/takeownership/acme", { token: admin })).status).toBe(200);
  });

  it("of a user: converted into an organization the superuser owns; its credentials stop working", async () => {
    await makeUser(admin, "walter");
    const walter = await tokenFor("walter");
    await pushAs("walter", "walter/tools");
    expect((await api("GET", "/user/", { token: walter })).status).toBe(200);
    const recorder = recordEvents();
    const res = await api("POST", "/superuser/takeownership/walter", { token: admin });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ namespace: "walter" });
    const converted = (await findUser(db(), "walter"))!;
    expect(converted).toMatchObject({ kind: "organization", passwordHash: null });
    expect(await organizationRole(db(), (await findUser(db(), "admin"))!.id, "walter")).toBe("admin");
    expect((await recorder.published()).map((e) => [e.kind, e.data])).toEqual([
      ["take_ownership", { namespace: "walter", entityId: converted.id, wasUser: true }],
    ]);
    expectQuayError(await api("GET", "/user/", { token: walter }), 401, "invalid_token");
    expect(await db().select().from(accessTokens).where(eq(accessTokens.userId, converted.id)).all()).toEqual([]);
    // Its repositories are the organization's now: the superuser, an owner, administers them.
    expect((await api("GET", "/repository/walter/tools", { token: admin })).json).toMatchObject({
      can_admin: true,
    });
  });

  it("refuses a superuser (400), unknown namespaces and robots (404)", async () => {
    expectQuayError(
      await api("POST", "/superuser/takeownership/admin", { token: admin }),
      400,
      "invalid_request",
      "Cannot take ownership of a superuser",
    );
    expectQuayError(await api("POST", "/superuser/takeownership/nobody-here", { token: admin }), 404, "not_found");
    expectQuayError(await api("POST", "/superuser/takeownership/globex2+bot", { token: admin }), 404, "not_found");
    expect(await findUser(db(), "admin")).toMatchObject({ kind: "user" });
  });
});
