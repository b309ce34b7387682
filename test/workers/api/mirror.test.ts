/**
 * Repository mirroring's API (Quay `endpoints/api/mirror.py`): the config's JSON, its validation
 * messages, sync-now and sync-cancel, who may call them, and FEATURE_REPO_MIRROR. State MIRROR,
 * the health report and hostile inputs: mirror-rules.test.ts.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findRepository } from "../../../src/registry/repositories";
import { db, tokenFor } from "../helpers/accounts";
import { api, createPrivateRepository, expectQuayError, fixtureCall } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { requestWith } from "../helpers/mailbox";
import { makeMirrorAccounts, mirrorBody, mirrored as mirroredBy } from "../helpers/mirrors";

let olga: string;
let wanda: string;
let gus: string;

const mirrored = (name: string, overrides: Record<string, unknown> = {}) => mirroredBy(olga, name, overrides);

beforeAll(async () => {
  ({ olga, wanda, gus } = await makeMirrorAccounts());
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("POST and GET /api/v1/repository/{repository}/mirror", () => {
  it("creates the mirror (201, no body), puts the repository in MIRROR and answers Quay's ViewMirrorConfig", async () => {
    await createPrivateRepository(olga, "olga", "alpine");
    const events = recordEvents();
    const created = await api("POST", "/repository/olga/alpine/mirror", { token: olga, body: mirrorBody() });
    expect(created.status).toBe(201);
    expect(created.json).toBeNull();
    expect((await findRepository(db(), "olga/alpine"))!.state).toBe("MIRROR");
    const [event] = await events.published("repo_mirror_config_changed");
    expect(event).toMatchObject({
      repository: { name: "olga/alpine" },
      data: { changed: "external_reference", to: "registry.example.com/library/alpine" },
    });

    const view = await api("GET", "/repository/olga/alpine/mirror", { token: olga });
    expect(view.status).toBe(200);
    // Quay endpoints/api/mirror.py ViewMirrorConfig: is_enabled, mirror_type, external_reference,
    // external_registry_username, external_registry_config, sync_interval, sync_start_date,
    // sync_expiration_date, sync_retries_remaining, sync_status, root_rule, robot_username (and
    // skopeo_timeout_interval); never the password.
    expect(view.json).toEqual({
      is_enabled: true,
      mirror_type: "PULL",
      external_reference: "registry.example.com/library/alpine",
      external_registry_username: "puller",
      external_registry_config: { verify_tls: true, unsigned_images: false, proxy: { http_proxy: null } },
      sync_interval: 3600,
      sync_start_date: "2026-01-01T00:00:00Z",
      sync_expiration_date: null,
      sync_retries_remaining: 3,
      sync_status: "NEVER_RUN",
      root_rule: { rule_kind: "tag_glob_csv", rule_value: ["3.*", "latest"] },
      robot_username: "olga+mirrorbot",
      skopeo_timeout_interval: 300,
    });
    expect(JSON.stringify(view.json)).not.toContain("s3cret-upstream");
    // Quay's _setup_robot_for_mirroring gives the robot write on the repository.
    const perm = await api("GET", "/repository/olga/alpine/permissions/user/olga+mirrorbot", { token: olga });
    expect(perm.json.role).toBe("write");
  });

  it("refuses a second mirror with Quay's bare 409", async () => {
    await mirrored("twice");
    const again = await api("POST", "/repository/olga/twice/mirror", { token: olga, body: mirrorBody() });
    expect(again.status).toBe(409);
    expect(again.json).toEqual({ detail: "Mirror configuration already exits for repository olga/twice" });
  });

  it("refuses bad bodies with Quay's messages, leaving the repository NORMAL", async () => {
    await createPrivateRepository(olga, "olga", "badbodies");
    const post = (body: unknown) => api("POST", "/repository/olga/badbodies/mirror", { token: olga, body });
    const { root_rule: _rule, ...noRule } = mirrorBody();
    expectQuayError(await post(noRule), 400, "invalid_request");
    expectQuayError(await post(mirrorBody({ sync_interval: -1 })), 400, "invalid_request");
    expectQuayError(await post(mirrorBody({ sync_interval: "1h" })), 400, "invalid_request");
    expectQuayError(
      await post(mirrorBody({ sync_start_date: "2026-01-01 00:00" })),
      400,
      "invalid_request",
      "Incorrect DateTime format for sync_start_date.",
    );
    expectQuayError(
      await post(mirrorBody({ root_rule: { rule_kind: "tag_glob_csv", rule_value: [] } })),
      400,
      "invalid_request",
      "validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule",
    );
    expectQuayError(
      await post(mirrorBody({ root_rule: { rule_kind: "regex", rule_value: ["x"] } })),
      400,
      "invalid_request",
    );
    expectQuayError(
      await post(mirrorBody({ root_rule: { rule_kind: "tag_glob_csv", rule_value: ["é*"] } })),
      400,
      "invalid_request",
    );
    expectQuayError(
      await post(mirrorBody({ external_reference: "alpine" })),
      400,
      "invalid_request",
      /Invalid external registry reference/,
    );
    expectQuayError(
      await post(mirrorBody({ robot_username: "ivan+foreign" })),
      400,
      "invalid_request",
      "Invalid robot",
    );
    expectQuayError(
      await post(mirrorBody({ robot_username: "olga+nobody" })),
      400,
      "invalid_request",
      "Could not find robot with username: olga+nobody",
    );
    expectQuayError(await post(mirrorBody({ skopeo_timeout_interval: 10 })), 400, "invalid_request");
    expectQuayError(await post("{not json"), 400, "invalid_request");
    expect((await findRepository(db(), "olga/badbodies"))!.state).toBe("NORMAL");
    // Nothing of a refused mirror was written: its robot got no grant either.
    const grant = await api("GET", "/repository/olga/badbodies/permissions/user/olga+mirrorbot", { token: olga });
    expect(grant.status).not.toBe(200);
    expect((await api("GET", "/repository/olga/badbodies/mirror", { token: olga })).status).toBe(404);
  });

  it("is for the repository's admins with repo:admin: 401, 403 (existing or not), then 404", async () => {
    await mirrored("guarded");
    await fixtureCall(olga, "PUT", "/repository/olga/guarded/permissions/user/wanda", { role: "write" });
    for (const [method, path] of [
      ["GET", "/mirror"],
      ["POST", "/mirror"],
      ["PUT", "/mirror"],
      ["POST", "/mirror/sync-now"],
      ["POST", "/mirror/sync-cancel"],
    ] as const) {
      const body = method === "GET" ? undefined : method === "POST" && path === "/mirror" ? mirrorBody() : {};
      expectQuayError(await api(method, `/repository/olga/guarded${path}`, { body }), 401, "invalid_token");
      expectQuayError(
        await api(method, `/repository/olga/guarded${path}`, { token: wanda, body }),
        403,
        "insufficient_scope",
      );
      expectQuayError(
        await api(method, `/repository/olga/missing${path}`, { token: gus, body }),
        403,
        "insufficient_scope",
      );
      const narrow = await tokenFor("olga", ["repo:read", "repo:write"]);
      expectQuayError(
        await api(method, `/repository/olga/guarded${path}`, { token: narrow, body }),
        403,
        "insufficient_scope",
      );
      expectQuayError(await api(method, `/repository/olga/missing${path}`, { token: olga, body }), 404, "not_found");
    }
    // A repository without a mirror: 404 on every read and status change.
    await createPrivateRepository(olga, "olga", "plain");
    for (const [method, path] of [
      ["GET", "/mirror"],
      ["PUT", "/mirror"],
      ["POST", "/mirror/sync-now"],
      ["POST", "/mirror/sync-cancel"],
    ] as const) {
      expectQuayError(
        await api(method, `/repository/olga/plain${path}`, { token: olga, body: method === "GET" ? undefined : {} }),
        404,
        "not_found",
      );
    }
  });

  it("is absent (404) with FEATURE_REPO_MIRROR off, and changestate then refuses MIRROR", async () => {
    await mirrored("flagged");
    const off = { ...env, FEATURE_REPO_MIRROR: "false" } as unknown as Env;
    const call = async (method: string, path: string, body?: unknown) => {
      const { status, json } = await requestWith(off, method, `/api/v1${path}`, { token: olga, body });
      return { status, json };
    };
    expect((await call("GET", "/repository/olga/flagged/mirror")).status).toBe(404);
    expect((await call("POST", "/repository/olga/flagged/mirror/sync-now", {})).status).toBe(404);
    expect((await call("GET", "/repository/mirror/health")).status).toBe(404);
    const state = await call("PUT", "/repository/olga/flagged/changestate", { state: "MIRROR" });
    expect(state).toEqual({ status: 400, json: { detail: "Unknown Repository State: MIRROR" } });
  });
});

describe("PUT /api/v1/repository/{repository}/mirror", () => {
  it("changes what it is given, one repo_mirror_config_changed per setting, as Quay logs them", async () => {
    await mirrored("changing");
    const events = recordEvents();
    const res = await api("PUT", "/repository/olga/changing/mirror", {
      token: olga,
      body: {
        is_enabled: false,
        sync_interval: 60,
        external_registry_username: "other",
        external_registry_password: "pw2",
        root_rule: { rule_kind: "tag_glob_csv", rule_value: ["v[0-9]*"] },
        external_registry_config: { verify_tls: false },
        robot_username: "olga+otherbot",
      },
    });
    expect(res.status).toBe(201);
    const changed = (await events.published("repo_mirror_config_changed")).map((e) => [e.data.changed, e.data.to]);
    expect(changed).toEqual([
      ["is_enabled", false],
      ["robot_username", "olga+otherbot"],
      ["sync_interval", 60],
      ["external_registry_username", "other"],
      ["external_registry_password", "********"],
      ["verify_tls", false],
      ["mirror_rule", ["v[0-9]*"]],
    ]);
    const view = (await api("GET", "/repository/olga/changing/mirror", { token: olga })).json;
    expect(view).toMatchObject({
      is_enabled: false,
      sync_interval: 60,
      external_registry_username: "other",
      robot_username: "olga+otherbot",
      external_registry_config: { verify_tls: false, unsigned_images: false, proxy: { http_proxy: null } },
      root_rule: { rule_kind: "tag_glob_csv", rule_value: ["v[0-9]*"] },
    });
    // The robot newly named gets write, as at creation.
    const perm = await api("GET", "/repository/olga/changing/permissions/user/olga+otherbot", { token: olga });
    expect(perm.json.role).toBe("write");
  });

  it("refuses Quay's bad combinations with its messages", async () => {
    await mirrored("refusing");
    const put = (body: unknown) => api("PUT", "/repository/olga/refusing/mirror", { token: olga, body });
    expectQuayError(
      await put({ external_registry_password: "x" }),
      400,
      "invalid_request",
      "Unable to set a new password without also specifying a username.",
    );
    expectQuayError(
      await put({ external_registry_username: null, external_registry_password: "x" }),
      400,
      "invalid_request",
      "Unable to delete username while setting a password.",
    );
    expectQuayError(
      await put({ external_reference: "" }),
      400,
      "invalid_request",
      "Empty string is an invalid repository location.",
    );
    expectQuayError(
      await put({ sync_start_date: "tomorrow" }),
      400,
      "invalid_request",
      "Incorrect DateTime format for sync_start_date.",
    );
    expectQuayError(await put({ robot_username: "ivan+foreign" }), 400, "invalid_request", "Invalid robot");
    expectQuayError(await put({ root_rule: { rule_kind: "tag_glob_csv", rule_value: [] } }), 400, "invalid_request");
    expectQuayError(await put([1, 2]), 400, "invalid_request");
    // Nothing of a refused body was applied.
    expect(
      (await api("GET", "/repository/olga/refusing/mirror", { token: olga })).json.external_registry_username,
    ).toBe("puller");
  });
});

describe("sync-now and sync-cancel", () => {
  it("move the status as Quay's model does (204; 404 where the status does not allow it)", async () => {
    await mirrored("statuses");
    const status = async () => (await api("GET", "/repository/olga/statuses/mirror", { token: olga })).json;
    const events = recordEvents();
    const jobs: unknown[] = [];
    vi.spyOn(env.EVENTS, "send").mockImplementation(async (body) => {
      jobs.push(body);
      return undefined as never;
    });
    expectQuayError(
      await api("POST", "/repository/olga/statuses/mirror/sync-cancel", { token: olga }),
      404,
      "not_found",
    );
    expect((await api("POST", "/repository/olga/statuses/mirror/sync-now", { token: olga })).status).toBe(204);
    expect(await status()).toMatchObject({ sync_status: "SYNC_NOW", sync_retries_remaining: 3 });
    // Sync-now queues the sync at once (the cron's scan would find it too).
    const id = (await findRepository(db(), "olga/statuses"))!.id;
    expect(jobs).toEqual([{ type: "mirror_sync", repositoryId: id }]);
    expect((await api("POST", "/repository/olga/statuses/mirror/sync-cancel", { token: olga })).status).toBe(204);
    expect(await status()).toMatchObject({ sync_status: "CANCEL", sync_retries_remaining: 0 });
    expectQuayError(
      await api("POST", "/repository/olga/statuses/mirror/sync-cancel", { token: olga }),
      404,
      "not_found",
    );
    // Sync-now after a cancel gives it one retry again (Quay: max(retries, 1)).
    expect((await api("POST", "/repository/olga/statuses/mirror/sync-now", { token: olga })).status).toBe(204);
    expect(await status()).toMatchObject({ sync_status: "SYNC_NOW", sync_retries_remaining: 1 });
    const logged = (await events.published("repo_mirror_config_changed")).map((e) => e.data);
    expect(logged).toEqual([
      { changed: "sync_status", to: "SYNC_NOW" },
      { changed: "sync_status", to: "SYNC_CANCEL" },
      { changed: "sync_status", to: "SYNC_NOW" },
    ]);
  });
});
