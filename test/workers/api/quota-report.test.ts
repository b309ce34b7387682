/**
 * Quay's `quota_report` (data/model/namespacequota.py get_quota_for_view, get_repo_quota_for_view)
 * on an organization's view, the user's own view and repository listings, read from the usage the
 * push path keeps (users.storage_bytes, repositories.storage_bytes); DEFAULT_SYSTEM_REJECT_QUOTA_BYTES
 * (Quay's `default_config`); the user's own quota routes and the superuser's; and
 * FEATURE_QUOTA_MANAGEMENT off hiding every quota route and field.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { repositories, users } from "../../../src/db/schema";
import { api, createPrivateRepository, expectQuayError, initializeAdmin } from "../helpers/api";
import { db, joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { requestWith } from "../helpers/mailbox";

let admin: string;
let ana: string; // admin of `initech`
let ben: string; // member of `initech`
let cid: string; // outsider

const MiB = 1024 ** 2;

/** The Worker with `vars` over wrangler.toml's, as an operator would configure it. */
const configured = (vars: Record<string, string>, method: string, path: string, token?: string, body?: unknown) =>
  requestWith({ ...env, ...vars } as unknown as Env, method, `/api/v1${path}`, { token, body });

const WITH_DEFAULT = { DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: String(50 * MiB) };
const FEATURE_OFF = { FEATURE_QUOTA_MANAGEMENT: "false" };

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["ana", "ben", "cid"]) await makeUser(admin, name);
  [ana, ben, cid] = await Promise.all([tokenFor("ana"), tokenFor("ben"), tokenFor("cid")]);
  for (const name of ["initech", "hooli"])
    expect((await api("POST", "/organization", { token: ana, body: { name } })).status).toBe(201);
  await joinTeam("initech", "devs", "member", "ben");
  await createPrivateRepository(ana, "initech", "app");
  await createPrivateRepository(ana, "initech", "lib");
  await createPrivateRepository(ana, "hooli", "web");
  // What the push path keeps exact (src/gc/storage.ts); this file only reads it.
  await db()
    .update(users)
    .set({ storageBytes: 30 * MiB })
    .where(eq(users.username, "initech"));
  await db()
    .update(repositories)
    .set({ storageBytes: 20 * MiB })
    .where(eq(repositories.name, "initech/app"));
  await db()
    .update(repositories)
    .set({ storageBytes: 10 * MiB })
    .where(eq(repositories.name, "initech/lib"));
  expect((await api("POST", "/organization/initech/quota", { token: admin, body: { limit: "100 Mi" } })).status).toBe(
    201,
  );
});

describe("quota_report", () => {
  it("on the organization's view, for its admins and members: quotas and the namespace's usage", async () => {
    const quotaId = (await api("GET", "/organization/initech/quota", { token: ana })).json[0].id;
    for (const token of [ana, ben]) {
      const view = (await api("GET", "/organization/initech", { token })).json;
      // organization.py org_view: quotas (quota_view each) and quota_report (get_quota_for_view).
      expect(view.quotas).toEqual([
        {
          id: quotaId,
          limit_bytes: 100 * MiB,
          limit: "100.0 MiB",
          default_config: false,
          limits: [],
          default_config_exists: false,
        },
      ]);
      expect(view.quota_report).toEqual({
        quota_bytes: 30 * MiB,
        configured_quota: 100 * MiB,
        running_backfill: "complete",
        backfill_status: "complete",
      });
    }
    for (const token of [cid, undefined]) {
      const view = (await api("GET", "/organization/initech", { token })).json;
      expect(view).not.toHaveProperty("quotas");
      expect(view).not.toHaveProperty("quota_report");
    }
  });

  it("on each repository of a listing: its bytes and its namespace's configured quota", async () => {
    const listed = (await api("GET", "/repository?namespace=initech&last_modified=true", { token: ana })).json;
    // The seeds' 13.4.1.2: quota_report after state, before last_modified.
    expect(Object.keys(listed.repositories[0])).toEqual([
      "namespace",
      "name",
      "description",
      "is_public",
      "kind",
      "state",
      "quota_report",
      "last_modified",
      "is_starred",
    ]);
    expect(listed.repositories.map((r: { name: string; quota_report: unknown }) => [r.name, r.quota_report])).toEqual([
      ["app", { quota_bytes: 20 * MiB, configured_quota: 100 * MiB }],
      ["lib", { quota_bytes: 10 * MiB, configured_quota: 100 * MiB }],
    ]);
    const hooli = (await api("GET", "/repository?namespace=hooli", { token: ana })).json.repositories;
    expect(hooli[0].quota_report).toEqual({ quota_bytes: 0, configured_quota: null });
  });

  it("on the superuser's listings of organizations and users (superuser_models_interface.py to_dict)", async () => {
    const orgs = (await api("GET", "/superuser/organizations", { token: admin })).json.organizations;
    const initech = orgs.find((o: { name: string }) => o.name === "initech");
    expect(initech.quotas).toEqual([
      expect.objectContaining({ limit_bytes: 100 * MiB, limit: "100.0 MiB", limits: [] }),
    ]);
    expect(initech.quota_report).toEqual({
      quota_bytes: 30 * MiB,
      configured_quota: 100 * MiB,
      running_backfill: "complete",
      backfill_status: "complete",
    });
    const people = (await api("GET", "/superuser/users?limit=50", { token: admin })).json.users;
    expect(people.find((u: { name: string }) => u.name === "ben")).toMatchObject({
      quotas: [],
      quota_report: { quota_bytes: 0, configured_quota: null },
    });
    const off = await configured(FEATURE_OFF, "GET", "/superuser/organizations", admin);
    expect(off.json.organizations[0]).not.toHaveProperty("quota_report");
  });

  it("on the user's own view (GET /user/)", async () => {
    const me = (await api("GET", "/user/", { token: cid })).json;
    expect(me.quotas).toEqual([]);
    expect(me.quota_report).toEqual({
      quota_bytes: 0,
      configured_quota: null,
      running_backfill: "complete",
      backfill_status: "complete",
    });
  });
});

describe("DEFAULT_SYSTEM_REJECT_QUOTA_BYTES", () => {
  it("is the quota of namespaces without one: default_config in listOrganizationQuota, configured_quota", async () => {
    const listed = await configured(WITH_DEFAULT, "GET", "/organization/hooli/quota", ana);
    expect(listed.json).toEqual([
      {
        id: null,
        limit_bytes: 50 * MiB,
        limit: "50.0 MiB",
        default_config: true,
        limits: [],
        default_config_exists: true,
      },
    ]);
    const own = await configured(WITH_DEFAULT, "GET", "/organization/initech/quota", ana);
    expect(own.json[0]).toMatchObject({ limit_bytes: 100 * MiB, default_config: false, default_config_exists: true });
    const repos = await configured(WITH_DEFAULT, "GET", "/repository?namespace=hooli", ana);
    expect(repos.json.repositories[0].quota_report).toEqual({ quota_bytes: 0, configured_quota: 50 * MiB });
    const view = await configured(WITH_DEFAULT, "GET", "/organization/hooli", ana);
    expect(view.json.quotas).toEqual([]);
    expect(view.json.quota_report.configured_quota).toBe(50 * MiB);
    // The user's own list shows the user's quota only, never the default (Quay's listUserQuota).
    expect((await configured(WITH_DEFAULT, "GET", "/user/quota", cid)).json).toEqual([]);
  });

  it("must be a non-negative integer of bytes (0, the default, is none)", () => {
    expect(readConfig({}).DEFAULT_SYSTEM_REJECT_QUOTA_BYTES).toBe(0);
    expect(readConfig({ DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: "1073741824" }).DEFAULT_SYSTEM_REJECT_QUOTA_BYTES).toBe(
      1024 ** 3,
    );
    for (const value of ["-1", "1.5", "ten"])
      expect(() => readConfig({ DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: value }), value).toThrow();
    expect(readConfig({}).FEATURE_QUOTA_MANAGEMENT).toBe(true);
  });
});

describe("the user's own quota (GET /user/quota…) and the superuser's routes", () => {
  it("a superuser sets a user's quota; the user reads it, its limits through the organization routes are not theirs", async () => {
    const created = await api("POST", "/superuser/users/cid/quota", { token: admin, body: { limit: "2 Gi" } });
    expect([created.status, created.json]).toEqual([201, "Created"]);
    expectQuayError(
      await api("POST", "/superuser/organization/cid/quota", { token: admin, body: { limit_bytes: 5 } }),
      400,
      "invalid_request",
      "Quota for 'cid' already exists",
    );
    const listed = (await api("GET", "/user/quota", { token: cid })).json;
    expect(listed).toEqual([
      {
        id: expect.any(Number),
        limit_bytes: 2 * 1024 ** 3,
        limit: "2.0 GiB",
        default_config: false,
        limits: [],
        default_config_exists: false,
      },
    ]);
    const id = listed[0].id;
    expect((await api("GET", `/user/quota/${id}`, { token: cid })).json).toEqual(listed[0]);
    expect((await api("GET", `/user/quota/${id}/limit`, { token: cid })).json).toEqual([]);
    expectQuayError(await api("GET", `/user/quota/${id}/limit/1`, { token: cid }), 404, "not_found");
    // Another user's quota is not found in one's own namespace.
    expectQuayError(await api("GET", `/user/quota/${id}`, { token: ben }), 404, "not_found");
    expectQuayError(await api("GET", "/user/quota"), 401, "invalid_token");
    expectQuayError(
      await api("GET", "/user/quota", { token: await tokenFor("cid", ["user:read"]) }),
      403,
      "insufficient_scope",
    );
    // Both superuser paths reach any namespace.
    for (const path of ["/superuser/users/cid/quota", "/superuser/organization/cid/quota"])
      expect((await api("GET", path, { token: admin })).json).toEqual(listed);
    const changed = await api("PUT", `/superuser/organization/cid/quota/${id}`, {
      token: admin,
      body: { limit: "3 Gi" },
    });
    expect([changed.status, changed.json.limit]).toEqual([200, "3.0 GiB"]);
    expectQuayError(
      await api("PUT", `/superuser/users/cid/quota/${id}`, { token: admin, body: { limit: "3 Gi", x: 1 } }),
      400,
      "invalid_request",
    );
    expect((await api("DELETE", `/superuser/users/cid/quota/${id}`, { token: admin })).status).toBe(204);
    expect((await api("GET", "/user/quota", { token: cid })).json).toEqual([]);
  });

  it("refuses unknown namespaces (404), robots, and everyone but superusers", async () => {
    expectQuayError(await api("GET", "/superuser/users/nobody/quota", { token: admin }), 404, "not_found");
    expectQuayError(
      await api("POST", "/superuser/users/nobody/quota", { token: admin, body: { limit_bytes: 5 } }),
      404,
      "not_found",
    );
    expect((await api("PUT", "/organization/initech/robots/bot", { token: ana, body: {} })).status).toBe(201);
    expectQuayError(await api("GET", "/superuser/users/initech+bot/quota", { token: admin }), 404, "not_found");
    expectQuayError(await api("PUT", "/superuser/users/cid/quota/abc", { token: admin, body: {} }), 404, "not_found");
    for (const token of [ana, cid])
      expectQuayError(await api("GET", "/superuser/users/cid/quota", { token }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/superuser/users/cid/quota"), 401, "invalid_token");
  });
});

describe("FEATURE_QUOTA_MANAGEMENT off", () => {
  it("hides every quota route (404, as Quay registers none) and every quota field", async () => {
    const quotaId = (await api("GET", "/organization/initech/quota", { token: ana })).json[0].id;
    for (const [method, path, token, body] of [
      ["GET", "/organization/initech/quota", ana],
      ["POST", "/organization/hooli/quota", admin, { limit_bytes: 5 }],
      ["GET", `/organization/initech/quota/${quotaId}`, ana],
      ["PUT", `/organization/initech/quota/${quotaId}`, admin, { limit_bytes: 5 }],
      ["DELETE", `/organization/initech/quota/${quotaId}`, admin],
      ["GET", `/organization/initech/quota/${quotaId}/limit`, ana],
      ["POST", `/organization/initech/quota/${quotaId}/limit`, admin, { type: "Warning", threshold_percent: 5 }],
      ["GET", `/organization/initech/quota/${quotaId}/limit/1`, ana],
      ["GET", "/user/quota", cid],
      ["GET", "/user/quota/1/limit/1", cid],
      ["GET", "/superuser/users/cid/quota", admin],
      ["POST", "/superuser/organization/hooli/quota", admin, { limit_bytes: 5 }],
      ["DELETE", `/superuser/organization/initech/quota/${quotaId}`, admin],
      ["GET", "/organization/initech/quota", undefined],
    ] as const) {
      const res = await configured(FEATURE_OFF, method, path, token, body);
      expect([res.status, res.json.error_type], `${method} ${path}`).toEqual([404, "not_found"]);
    }
    const view = (await configured(FEATURE_OFF, "GET", "/organization/initech", ana)).json;
    expect(view).not.toHaveProperty("quotas");
    expect(view).not.toHaveProperty("quota_report");
    expect((await configured(FEATURE_OFF, "GET", "/user/", cid)).json).not.toHaveProperty("quota_report");
    const [repo] = (await configured(FEATURE_OFF, "GET", "/repository?namespace=initech", ana)).json.repositories;
    expect(repo.quota).toBeNull();
    expect(repo).not.toHaveProperty("quota_report");
    // Nothing was changed while hidden.
    expect((await api("GET", "/organization/initech/quota", { token: ana })).json[0].limit_bytes).toBe(100 * MiB);
  });
});
