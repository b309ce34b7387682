/**
 * Organization mirroring's API (Quay `endpoints/api/org_mirror.py`, `org_mirrorhealth.py`): the
 * config's JSON (never the password), Quay's validation messages and SSRF answer, update, delete,
 * sync-now, cancel, verify against a source on the far side of the guard, the discovered list, the
 * health report, who may call them, FEATURE_ORG_MIRROR, hostile bodies, and the log kinds.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { orgMirrorConfigs, users } from "../../../src/db/schema";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { entryOf, recordLogs } from "../helpers/action-logs";
import { api, createPrivateRepository, expectQuayError, fixtureCall, initializeAdmin } from "../helpers/api";
import { captureQueued } from "../helpers/events";
import { BASE } from "../helpers/registry";

let admin: string;
let olga: string;
let wanda: string;
let gus: string;
let orgs = 0;

const body = (org: string, overrides: Record<string, unknown> = {}) => ({
  external_registry_type: "quay",
  external_registry_url: "https://quay.example.com",
  external_namespace: "projectquay",
  robot_username: `${org}+mirrorbot`,
  visibility: "private",
  sync_interval: 3600,
  sync_start_date: "2026-01-01T00:00:00Z",
  external_registry_username: "reader",
  external_registry_password: "api-token-secret",
  repository_filters: ["quay*", "clair"],
  ...overrides,
});

/** A fresh organization of olga's (wanda a member, not an admin) with the robot `mirrorbot`. */
async function organization(): Promise<string> {
  const name = `mirrored${++orgs}`;
  await fixtureCall(olga, "POST", "/organization/", { name, email: `${name}@example.com` });
  await fixtureCall(olga, "PUT", `/organization/${name}/robots/mirrorbot`, {});
  await fixtureCall(olga, "PUT", `/organization/${name}/team/readers`, { role: "member" });
  await fixtureCall(olga, "PUT", `/organization/${name}/team/readers/members/wanda`, {});
  return name;
}

async function mirroredOrg(overrides: Record<string, unknown> = {}): Promise<string> {
  const org = await organization();
  const res = await api("POST", `/organization/${org}/mirror`, { token: olga, body: body(org, overrides) });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return org;
}

const configOf = async (org: string) => {
  const owner = (await db().select().from(users).where(eq(users.username, org)).get())!;
  return (await db().select().from(orgMirrorConfigs).where(eq(orgMirrorConfigs.organizationId, owner.id)).get())!;
};

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "olga");
  await makeUser(admin, "wanda");
  await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  wanda = await tokenFor("wanda");
  gus = await tokenFor("gus");
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("POST and GET /api/v1/organization/{orgname}/mirror", () => {
  it("creates (201, no body) and answers Quay's fields, the password never", async () => {
    const org = await organization();
    const created = await api("POST", `/organization/${org}/mirror`, { token: olga, body: body(org) });
    expect(created.status).toBe(201);
    expect(created.json).toBeNull();
    const view = await api("GET", `/organization/${org}/mirror`, { token: olga });
    expect(view.status).toBe(200);
    // Quay endpoints/api/org_mirror.py OrgMirrorConfig.get: is_enabled, external_registry_type,
    // external_registry_url, external_namespace, external_registry_username,
    // has_external_registry_password, external_registry_config, repository_filters,
    // robot_username, visibility, sync_interval, sync_start_date, sync_expiration_date,
    // sync_status, sync_retries_remaining, skopeo_timeout, creation_date.
    expect(view.json).toEqual({
      is_enabled: true,
      external_registry_type: "quay",
      external_registry_url: "https://quay.example.com",
      external_namespace: "projectquay",
      external_registry_username: "reader",
      has_external_registry_password: true,
      external_registry_config: {},
      repository_filters: ["quay*", "clair"],
      robot_username: `${org}+mirrorbot`,
      visibility: "private",
      sync_interval: 3600,
      sync_start_date: "2026-01-01T00:00:00Z",
      sync_expiration_date: null,
      sync_status: "NEVER_RUN",
      sync_retries_remaining: 3,
      skopeo_timeout: 300,
      creation_date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(JSON.stringify(view.json)).not.toContain("api-token-secret");
    // Sealed at rest.
    const stored = await configOf(org);
    expect(stored.sealedPassword).not.toContain("api-token-secret");
    expect(stored.sealedUsername).not.toBe("reader");
  });

  it("answers Quay's 400s: body schema, robot, date, URL (the SSRF answer generic), non-empty organization, second mirror", async () => {
    const org = await organization();
    const post = (overrides: Record<string, unknown>) =>
      api("POST", `/organization/${org}/mirror`, { token: olga, body: body(org, overrides) });
    /** Quay's 400 for the body with `overrides`, with `message` when given. */
    const refused = async (overrides: Record<string, unknown>, message?: string) =>
      expectQuayError(await post(overrides), 400, "invalid_request", message);
    const { external_namespace: _, ...missing } = body(org);
    expectQuayError(
      await api("POST", `/organization/${org}/mirror`, { token: olga, body: missing }),
      400,
      "invalid_request",
      "'external_namespace' is a required property",
    );
    await refused({ sync_interval: 59 });
    await refused({ skopeo_timeout: 3601 });
    await refused({ external_registry_type: "gitlab" });
    await refused({ visibility: "internal" });
    await refused({ robot_username: `${org}+nobody` }, `Invalid robot account: ${org}+nobody`);
    await fixtureCall(olga, "PUT", "/user/robots/personal", {});
    await refused({ robot_username: "olga+personal" }, "Robot account must belong to the organization");
    await refused(
      { sync_start_date: "2026-02-30T00:00:00Z" },
      "Invalid sync_start_date format. Use ISO 8601: YYYY-MM-DDTHH:MM:SSZ",
    );
    for (const url of ["http://127.0.0.1:5000", "http://169.254.169.254", "https://registry.internal", "http://[::1]/"])
      await refused({ external_registry_url: url }, "The provided registry URL is not allowed");
    await refused(
      { external_registry_url: "ftp://quay.example.com" },
      "Invalid URL scheme 'ftp': only HTTP and HTTPS are allowed",
    );
    await refused(
      { external_registry_url: "https://u:p@quay.example.com" },
      "URLs with embedded credentials are not allowed",
    );
    await refused({ repository_filters: ["[z-a]"] });
    expect((await post({})).status).toBe(201);
    expectQuayError(
      await post({}),
      400,
      "invalid_request",
      "Mirror configuration already exists for this organization",
    );

    const frozen = await organization();
    await fixtureCall(olga, "POST", `/organization/${frozen}/immutabilitypolicy/`, { tagPattern: "v.*" });
    expectQuayError(
      await api("POST", `/organization/${frozen}/mirror`, { token: olga, body: body(frozen) }),
      400,
      "invalid_request",
      "Cannot create organization mirror: the organization has immutability policies configured. Remove all namespace immutability policies first.",
    );

    const full = await organization();
    await createPrivateRepository(olga, full, "already");
    expectQuayError(
      await api("POST", `/organization/${full}/mirror`, { token: olga, body: body(full) }),
      400,
      "invalid_request",
      "Cannot create organization mirror: the organization already contains repositories. Organization mirroring requires an empty organization.",
    );
  });

  it("refuses hostile bodies with 400, never a 500", async () => {
    const org = await organization();
    const hostile: unknown[] = [
      "not json {",
      [],
      null,
      { ...body(org), sync_interval: "3600" },
      { ...body(org), sync_interval: 1e300 },
      { ...body(org), repository_filters: "quay*" },
      { ...body(org), repository_filters: [{}] },
      { ...body(org), repository_filters: Array(1001).fill("a") },
      { ...body(org), external_namespace: "x".repeat(256) },
      { ...body(org), external_registry_url: "x".repeat(5000) },
      { ...body(org), external_registry_url: "not a url" },
      { ...body(org), external_registry_config: { proxy: "yes" } },
      { ...body(org), robot_username: "" },
      { ...body(org), sync_start_date: "\u0000" },
      { ...body(org), repository_filters: ["*".repeat(129)] },
    ];
    for (const given of hostile) {
      const res = await api("POST", `/organization/${org}/mirror`, {
        token: olga,
        body: typeof given === "string" ? given : JSON.stringify(given),
      });
      expect(res.status, JSON.stringify(given).slice(0, 80)).toBe(400);
    }
    const res = await api("GET", `/organization/${org}/mirror`, { token: olga });
    expect(res.status).toBe(404);
  });
});

describe("PUT, DELETE, sync-now, sync-cancel", () => {
  it("updates what the body names (200), clearing credentials with an empty value", async () => {
    const org = await mirroredOrg();
    const res = await api("PUT", `/organization/${org}/mirror`, {
      token: olga,
      body: { external_namespace: "other", external_registry_password: "", is_enabled: false, visibility: "public" },
    });
    expect(res.status).toBe(200);
    const view = (await api("GET", `/organization/${org}/mirror`, { token: olga })).json;
    expect(view).toMatchObject({
      external_namespace: "other",
      has_external_registry_password: false,
      external_registry_username: "reader",
      is_enabled: false,
      visibility: "public",
    });
    expectQuayError(
      await api("PUT", `/organization/${org}/mirror`, {
        token: olga,
        body: { external_registry_url: "http://10.0.0.1" },
      }),
      400,
      "invalid_request",
      "The provided registry URL is not allowed",
    );
    expectQuayError(
      await api("PUT", `/organization/${org}/mirror`, { token: olga, body: { sync_interval: 10 } }),
      400,
      "invalid_request",
    );
  });

  it("sync-now (204; 400 while syncing) and sync-cancel (204; 400 once cancelled) queue the run", async () => {
    const org = await mirroredOrg();
    const sent = captureQueued();
    const id = (await configOf(org)).id;
    expect((await api("POST", `/organization/${org}/mirror/sync-now`, { token: olga })).status).toBe(204);
    expect(await configOf(org)).toMatchObject({ syncStatus: "SYNC_NOW", syncExpirationDate: null });
    expect(sent).toContainEqual({ type: "org_mirror_sync", orgMirrorId: id });
    await db().update(orgMirrorConfigs).set({ syncStatus: "SYNCING" }).where(eq(orgMirrorConfigs.id, id));
    expectQuayError(
      await api("POST", `/organization/${org}/mirror/sync-now`, { token: olga }),
      400,
      "invalid_request",
      "Cannot trigger sync: mirror is currently syncing",
    );
    expect((await api("POST", `/organization/${org}/mirror/sync-cancel`, { token: olga })).status).toBe(204);
    expect(await configOf(org)).toMatchObject({ syncStatus: "CANCEL", syncRetriesRemaining: 0 });
    expectQuayError(
      await api("POST", `/organization/${org}/mirror/sync-cancel`, { token: olga }),
      400,
      "invalid_request",
      "Cannot cancel: mirror is already cancelled",
    );
  });

  it("deletes (204), then every operation is 404", async () => {
    const org = await mirroredOrg();
    expect((await api("DELETE", `/organization/${org}/mirror`, { token: olga })).status).toBe(204);
    for (const [method, path] of [
      ["GET", ""],
      ["PUT", ""],
      ["DELETE", ""],
      ["POST", "/sync-now"],
      ["POST", "/sync-cancel"],
      ["POST", "/verify"],
      ["GET", "/repositories"],
      ["GET", "/health"],
    ] as const) {
      const res = await api(method, `/organization/${org}/mirror${path}`, {
        token: olga,
        body: method === "PUT" ? {} : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
  });

  it("logs org_mirror_enabled, org_mirror_config_changed, org_mirror_sync_now_requested, org_mirror_sync_cancelled, org_mirror_disabled with Quay's metadata", async () => {
    const logs = recordLogs();
    const org = await mirroredOrg();
    await fixtureCall(olga, "PUT", `/organization/${org}/mirror`, {
      external_namespace: "renamed",
      sync_interval: 120,
    });
    await fixtureCall(olga, "POST", `/organization/${org}/mirror/sync-now`);
    await fixtureCall(olga, "POST", `/organization/${org}/mirror/sync-cancel`);
    await fixtureCall(olga, "DELETE", `/organization/${org}/mirror`);
    await logs.deliver();
    const path = `/organization/${org}/logs`;
    const enabled = await entryOf(olga, path, "org_mirror_enabled");
    expect(enabled.metadata).toMatchObject({
      external_registry_type: "quay",
      external_registry_url: "https://quay.example.com",
      external_namespace: "projectquay",
      sync_interval: 3600,
      robot_username: `${org}+mirrorbot`,
    });
    expect(enabled.performer.name).toBe("olga");
    expect((await entryOf(olga, path, "org_mirror_config_changed")).metadata).toMatchObject({
      updated_fields: ["external_namespace", "sync_interval"],
      old_external_reference: "https://quay.example.com/projectquay",
      external_reference: "https://quay.example.com/renamed",
    });
    for (const kind of ["org_mirror_sync_now_requested", "org_mirror_sync_cancelled", "org_mirror_disabled"])
      expect((await entryOf(olga, path, kind)).metadata).toMatchObject({
        external_reference: "https://quay.example.com/renamed",
      });
  });
});

describe("verify, repositories, health", () => {
  it("verify tests the source through the guard, the API token as Bearer, with Quay's messages", async () => {
    const org = await mirroredOrg();
    const seen: Array<{ url: string; authorization: string | null }> = [];
    let answer = 200;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      seen.push({ url, authorization: new Headers(init?.headers).get("Authorization") });
      return new Response("{}", { status: url.includes("/users/") ? 404 : answer });
    });
    const verify = () => api("POST", `/organization/${org}/mirror/verify`, { token: olga });
    // Quay OrgMirrorVerify.post: {success, message}.
    expect((await verify()).json).toEqual({ success: true, message: "Connection successful" });
    expect(seen[0]).toEqual({
      url: "https://quay.example.com/api/v1/organization/projectquay",
      authorization: "Bearer api-token-secret",
    });
    answer = 401;
    expect((await verify()).json).toEqual({ success: false, message: "Authentication failed" });
    answer = 404;
    expect((await verify()).json).toEqual({ success: false, message: "Namespace 'projectquay' not found" });
    answer = 500;
    expect((await verify()).json).toEqual({ success: false, message: "Unexpected response: 500" });
  });

  it("lists nothing discovered yet, Quay's page shape", async () => {
    const org = await mirroredOrg();
    const res = await api("GET", `/organization/${org}/mirror/repositories?page=x&limit=9999`, { token: olga });
    expect(res.status).toBe(200);
    // Quay OrgMirrorRepositories.get: repositories, page, limit, total, has_next.
    expect(res.json).toEqual({ repositories: [], page: 1, limit: 500, total: 0, has_next: false });
  });

  it("health: members and superusers (200, Quay's fields), others 403 (unknown organizations too), no login 401", async () => {
    const org = await mirroredOrg();
    const res = await api("GET", `/organization/${org}/mirror/health?detailed=true`, { token: wanda });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-cache, no-store, must-revalidate");
    // Quay org_mirrorhealth.py get_org_mirror_health_data: healthy, workers {active, configured,
    // status}, organization {syncing, completed, failed, never_run, last_discovery_status,
    // last_discovery_timestamp, repositories {total, syncing, completed, failed, never_run,
    // skipped, tags_pending, details, pagination}}, last_check, issues.
    expect(res.json).toEqual({
      healthy: true,
      workers: { active: 0, configured: 0, status: "healthy" },
      organization: {
        syncing: 0,
        completed: 0,
        failed: 0,
        never_run: 1,
        last_discovery_status: 0,
        last_discovery_timestamp: "2026-01-01T00:00:00Z",
        repositories: {
          total: 0,
          syncing: 0,
          completed: 0,
          failed: 0,
          never_run: 0,
          skipped: 0,
          tags_pending: 0,
          details: [],
          pagination: { limit: 100, offset: 0, has_more: false },
        },
      },
      last_check: expect.stringMatching(/Z$/),
      issues: [],
    });
    expect((await api("GET", `/organization/${org}/mirror/health`, { token: admin })).status).toBe(200);
    expectQuayError(await api("GET", `/organization/${org}/mirror/health`, { token: gus }), 403, "insufficient_scope");
    expect((await api("GET", `/organization/${org}/mirror/health`)).status).toBe(401);
    // Quay answers 404 for an organization that does not exist; Wharf's 403 tells nothing of that.
    expectQuayError(
      await api("GET", "/organization/no-such-org/mirror/health", { token: gus }),
      403,
      "insufficient_scope",
    );
    expect((await api("GET", "/organization/no-such-org/mirror/health", { token: admin })).status).toBe(404);
  });
});

describe("who may call", () => {
  it("401 anonymous; 403 for members, outsiders, narrow tokens and unknown organizations; admins pass", async () => {
    const org = await mirroredOrg();
    const narrow = await tokenFor("olga", ["repo:admin", "user:admin"]);
    const operations = [
      ["GET", ""],
      ["POST", ""],
      ["PUT", ""],
      ["DELETE", ""],
      ["POST", "/sync-now"],
      ["POST", "/sync-cancel"],
      ["POST", "/verify"],
      ["GET", "/repositories"],
    ] as const;
    for (const [method, path] of operations) {
      const call = (token: string | undefined, name = org) =>
        api(method, `/organization/${name}/mirror${path}`, { token, body: method === "GET" ? undefined : {} });
      expect((await call(undefined)).status, `${method} ${path} anonymous`).toBe(401);
      for (const token of [wanda, gus, narrow]) expect((await call(token)).status, `${method} ${path}`).toBe(403);
      expect((await call(gus, "no-such-org")).status, `${method} ${path} unknown`).toBe(403);
    }
    expect((await api("GET", `/organization/${org}/mirror`, { token: olga })).status).toBe(200);
  });

  it("is absent (404) with FEATURE_ORG_MIRROR off", async () => {
    const org = await mirroredOrg();
    const off = { ...env, FEATURE_ORG_MIRROR: "false" } as unknown as Env;
    for (const [method, path] of [
      ["GET", ""],
      ["POST", "/sync-now"],
      ["GET", "/repositories"],
      ["GET", "/health"],
    ] as const) {
      const ctx = createExecutionContext();
      const res = await createApp().fetch(
        new Request(`${BASE}/api/v1/organization/${org}/mirror${path}`, {
          method,
          headers: { Authorization: `Bearer ${olga}` },
        }),
        off,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
  });
});
