/**
 * Each quota log kind (Quay's PROJQUAY-9859 audit entries, endpoints/api/test/test_namespacequota.py),
 * produced through its real route by a superuser and found in the logs of the namespace it changed,
 * with Quay's metadata: `namespace`, the sizes (with the human-readable `limit`), the limit's `type`
 * and `threshold_percent`, and the previous values of a change.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api, initializeAdmin } from "../helpers/api";
import { makeUser, tokenFor } from "../helpers/accounts";
import { loggedEntry, recordLogs } from "../helpers/action-logs";

const IP = "198.51.100.46";
const ORG = "/organization/quotaco";
const GiB = 1024 ** 3;
let admin: string;
let olga: string;

const byAdmin = { kind: "user", name: "admin", is_robot: false };

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "olga");
  olga = await tokenFor("olga");
  expect((await api("POST", "/organization", { token: olga, body: { name: "quotaco" } })).status).toBe(201);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const call = (method: string, path: string, body?: unknown) =>
  api(method, path, { token: admin, headers: { "CF-Connecting-IP": IP }, body });

const logged = (kind: string, path: string, action: () => Promise<{ status: number }>, reader = olga) =>
  loggedEntry(reader, path, kind, action);

describe("an organization's quota", () => {
  let quotaId: number;
  let limitId: number;

  it("org_create_quota", async () => {
    const entry = await logged("org_create_quota", `${ORG}/logs`, () =>
      call("POST", `${ORG}/quota`, { limit: "1 Gi" }),
    );
    expect(entry).toMatchObject({ ip: IP, performer: byAdmin });
    expect(entry.metadata).toEqual({ namespace: "quotaco", limit_bytes: GiB, limit: "1.0 GiB" });
    quotaId = (await call("GET", `${ORG}/quota`)).json[0].id;
  });

  it("org_change_quota, with the previous size", async () => {
    const entry = await logged("org_change_quota", `${ORG}/logs`, () =>
      call("PUT", `${ORG}/quota/${quotaId}`, { limit_bytes: 5 * GiB }),
    );
    expect(entry).toMatchObject({ performer: byAdmin });
    expect(entry.metadata).toEqual({
      namespace: "quotaco",
      quota_id: quotaId,
      limit_bytes: 5 * GiB,
      limit: "5.0 GiB",
      previous_limit_bytes: GiB,
      previous_limit: "1.0 GiB",
    });
  });

  it("org_create_quota_limit", async () => {
    const entry = await logged("org_create_quota_limit", `${ORG}/logs`, () =>
      call("POST", `${ORG}/quota/${quotaId}/limit`, { type: "Warning", threshold_percent: 80 }),
    );
    expect(entry.metadata).toEqual({ namespace: "quotaco", quota_id: quotaId, type: "Warning", threshold_percent: 80 });
    limitId = (await call("GET", `${ORG}/quota/${quotaId}`)).json.limits[0].id;
  });

  it("org_change_quota_limit, with the previous type and threshold", async () => {
    const entry = await logged("org_change_quota_limit", `${ORG}/logs`, () =>
      call("PUT", `${ORG}/quota/${quotaId}/limit/${limitId}`, { threshold_percent: 90 }),
    );
    expect(entry.metadata).toEqual({
      namespace: "quotaco",
      quota_id: quotaId,
      limit_id: limitId,
      type: "Warning",
      threshold_percent: 90,
      previous_type: "Warning",
      previous_threshold_percent: 80,
    });
  });

  it("org_delete_quota_limit", async () => {
    const entry = await logged("org_delete_quota_limit", `${ORG}/logs`, () =>
      call("DELETE", `${ORG}/quota/${quotaId}/limit/${limitId}`),
    );
    expect(entry.metadata).toEqual({
      namespace: "quotaco",
      quota_id: quotaId,
      limit_id: limitId,
      type: "Warning",
      threshold_percent: 90,
    });
  });

  it("org_delete_quota", async () => {
    const entry = await logged("org_delete_quota", `${ORG}/logs`, () => call("DELETE", `${ORG}/quota/${quotaId}`));
    expect(entry.metadata).toEqual({ namespace: "quotaco", quota_id: quotaId, limit_bytes: 5 * GiB, limit: "5.0 GiB" });
  });
});

describe("a user's quota, set by a superuser", () => {
  it("org_create_quota in the user's own logs", async () => {
    const entry = await logged(
      "org_create_quota",
      "/user/logs",
      () => call("POST", "/superuser/users/olga/quota", { limit_bytes: 1000 }),
      olga,
    );
    expect(entry).toMatchObject({ performer: byAdmin });
    expect(entry.metadata).toEqual({ namespace: "olga", limit_bytes: 1000, limit: "1000.0 Byte" });
  });

  it("writes nothing when a change is refused", async () => {
    const logs = recordLogs();
    expect((await call("POST", "/superuser/users/olga/quota", { limit_bytes: 5 })).status).toBe(400);
    await logs.deliver();
    expect(logs.sent).toEqual([]);
  });
});
