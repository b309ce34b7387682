/**
 * Repository mirroring's rules beside its API (Quay `endpoints/api/mirror.py`, `mirrorhealth.py`,
 * `endpoints/api/robot.py`): state MIRROR (only the mirror robot pushes), the health report, hostile
 * inputs, and the mirror robot kept while a mirror names it.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findRepository } from "../../../src/registry/repositories";
import { basic, db, grantedActions, pushImageWith, v2Token } from "../helpers/accounts";
import { api, createPrivateRepository, expectQuayError, fixtureCall } from "../helpers/api";
import { makeMirrorAccounts, mirrored as mirroredBy } from "../helpers/mirrors";
import { registryToken } from "../helpers/registry";

let admin: string;
let olga: string;
let gus: string;
let robotToken: string;
let olgaPassword: string;

const mirrored = (name: string, overrides: Record<string, unknown> = {}) => mirroredBy(olga, name, overrides);

beforeAll(async () => {
  ({ admin, olga, olgaPassword, gus, robotToken } = await makeMirrorAccounts());
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("state MIRROR", () => {
  it("lets only the mirror robot push; others pull", async () => {
    await mirrored("robotonly");
    const name = "olga/robotonly";
    // /v2/auth grants push to no one else, the namespace's owner included.
    expect((await grantedActions(basic("olga+mirrorbot", robotToken), name)).sort()).toEqual([
      "delete",
      "pull",
      "push",
    ]);
    expect(await grantedActions(basic("olga", olgaPassword), name)).toEqual(["pull"]);
    const robot = await v2Token(basic("olga+mirrorbot", robotToken), `repository:${name}:pull,push`);
    expect((await pushImageWith(robot.token, name, "3.1")).status).toBe(201);
    // A token forged with push for the owner is refused at the write itself.
    const forged = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], "olga");
    expect((await pushImageWith(forged, name, "3.2")).status).toBe(403);
    const other = await v2Token(
      basic("olga+otherbot", (await fixtureCall(olga, "GET", "/user/robots/otherbot")).json.token),
      `repository:${name}:pull,push`,
    );
    expect(other.actions).not.toContain("push");
  });

  it("changestate accepts MIRROR with mirroring on", async () => {
    await createPrivateRepository(olga, "olga", "tomirror");
    const res = await api("PUT", "/repository/olga/tomirror/changestate", { token: olga, body: { state: "MIRROR" } });
    expect(res.json).toEqual({ success: true });
    expect((await findRepository(db(), "olga/tomirror"))!.state).toBe("MIRROR");
  });
});

describe("GET /api/v1/repository/mirror/health", () => {
  it("reports Quay's health JSON to superusers, and a namespace's to its owner", async () => {
    await mirrored("healthy");
    const all = await api("GET", "/repository/mirror/health", { token: admin });
    expect(all.status).toBe(200);
    expect(all.headers.get("Cache-Control")).toBe("no-cache, no-store, must-revalidate");
    // Quay endpoints/api/mirrorhealth.py: healthy, workers.status, repositories{total, syncing,
    // completed, failed, never_run}, tags_pending, last_check, issues[{severity, message, timestamp}].
    expect(Object.keys(all.json).sort()).toEqual([
      "healthy",
      "issues",
      "last_check",
      "repositories",
      "tags_pending",
      "workers",
    ]);
    expect(all.json.workers).toEqual({ status: "healthy" });
    expect(Object.keys(all.json.repositories).sort()).toEqual(["completed", "failed", "never_run", "syncing", "total"]);
    expect(all.json.issues[0]).toMatchObject({
      severity: "warning",
      message: expect.stringMatching(/has never been synced$/),
    });
    const mine = await api("GET", "/repository/mirror/health?namespace=olga&detailed=true&limit=2", { token: olga });
    expect(mine.status).toBe(200);
    expect(mine.json.repositories.pagination).toMatchObject({ limit: 2, offset: 0 });
    expect(mine.json.repositories.details[0]).toEqual({
      namespace: "olga",
      repository: expect.any(String),
      sync_status: expect.any(String),
      is_enabled: expect.any(Boolean),
      last_sync: null,
      retries_remaining: expect.any(Number),
    });
    expectQuayError(await api("GET", "/repository/mirror/health"), 401, "invalid_token");
    expectQuayError(await api("GET", "/repository/mirror/health", { token: olga }), 403, "insufficient_scope");
    expectQuayError(
      await api("GET", "/repository/mirror/health?namespace=olga", { token: gus }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("GET", "/repository/mirror/health?namespace=nobody-here", { token: olga }),
      404,
      "not_found",
    );
    expectQuayError(await api("GET", "/repository/mirror/health?limit=lots", { token: admin }), 400, "invalid_request");
  });
});

describe("hostile inputs", () => {
  it("odd names, bodies, dates and queries: Quay's error JSON, never a 500", async () => {
    await mirrored("hostile");
    const paths = ["olga/%00", "olga/..%2F..", `olga/${"x".repeat(300)}`, "olga/hostile%20x", "%E2%80%AE/x", "olga"];
    for (const path of paths) {
      for (const [method, suffix] of [
        ["GET", "/mirror"],
        ["PUT", "/mirror"],
        ["POST", "/mirror/sync-now"],
      ] as const) {
        const res = await api(method, `/repository/${path}${suffix}`, {
          token: olga,
          body: method === "GET" ? undefined : {},
        });
        expect(res.status, `${method} ${path}${suffix}`).toBeLessThan(500);
        expect(res.status).toBeGreaterThanOrEqual(400);
      }
    }
    const bodies: unknown[] = [
      null,
      [],
      42,
      "text",
      { sync_interval: 1e308 },
      { sync_interval: 1.5 },
      { sync_start_date: "9999-99-99T99:99:99Z" },
      { sync_start_date: "2026-02-30T00:00:00Z" },
      { external_reference: "x".repeat(600) },
      { external_reference: "host.example.com/UPPER/Case" },
      { external_reference: "host.example.com:99999/a" },
      { external_reference: "[::1/a" },
      { root_rule: { rule_kind: "tag_glob_csv", rule_value: Array.from({ length: 1001 }, () => "a") } },
      { root_rule: { rule_kind: "tag_glob_csv", rule_value: ["[", "]", "\\", "*".repeat(128)] } },
      { root_rule: { rule_kind: "tag_glob_csv", rule_value: ["a\u0000b"] } },
      { external_registry_config: { proxy: { http_proxy: 5 } } },
      { robot_username: "" },
      { robot_username: "+" },
      { is_enabled: "yes" },
      { skopeo_timeout_interval: 1e9 },
    ];
    for (const body of bodies) {
      const res = await api("PUT", "/repository/olga/hostile/mirror", { token: olga, body: JSON.stringify(body) });
      expect([201, 400], JSON.stringify(body).slice(0, 80)).toContain(res.status);
    }
    for (const query of [
      "namespace=%00",
      "limit=-5&detailed=true&namespace=olga",
      "offset=99999999999",
      "detailed=maybe&namespace=olga",
    ]) {
      const res = await api("GET", `/repository/mirror/health?${query}`, { token: admin });
      expect(res.status, query).toBeLessThan(500);
    }
    expect((await api("GET", "/repository/olga/hostile/mirror", { token: olga })).status).toBe(200);
  });
});

describe("the mirror robot", () => {
  it("cannot be deleted while a mirror pushes with it (Quay's robot_has_mirror)", async () => {
    await fixtureCall(olga, "PUT", "/user/robots/keptbot", {});
    await mirrored("keeper", { robot_username: "olga+keptbot" });
    expectQuayError(
      await api("DELETE", "/user/robots/keptbot", { token: olga }),
      400,
      "invalid_request",
      "Robot is being used by a mirror",
    );
    expect((await api("GET", "/user/robots/keptbot", { token: olga })).status).toBe(200);
    // Once the mirror names another robot, it can go.
    await fixtureCall(olga, "PUT", "/repository/olga/keeper/mirror", { robot_username: "olga+otherbot" });
    expect((await api("DELETE", "/user/robots/keptbot", { token: olga })).status).toBe(204);
  });
});
