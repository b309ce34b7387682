/**
 * Quay's organization quota API (endpoints/api/namespacequota.py): the seeds' quota chapter step by
 * step (create, list, resize, Reject and Warning limits, list again), each operation's success JSON
 * with Quay's fields, human-readable `limit` strings, and every refusal: a second quota, a second
 * Reject, a duplicate limit, bad percentages, types, sizes and `limit` strings, unknown ids, and who
 * may not (anonymous 401; members, outsiders and tokens without super:user 403).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { joinTeam, makeUser, tokenFor } from "../helpers/accounts";

let admin: string; // the superuser
let ana: string; // admin of `acme`
let ben: string; // a member of `acme`
let cid: string; // outsider
let adminNoSuper: string; // the superuser's token without super:user

const Q = "/organization/acme/quota";
const GiB = 1024 ** 3;

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["ana", "ben", "cid"]) await makeUser(admin, name);
  [ana, ben, cid] = await Promise.all([tokenFor("ana"), tokenFor("ben"), tokenFor("cid")]);
  adminNoSuper = await tokenFor("admin", ["user:admin", "org:admin", "repo:admin", "repo:create"]);
  for (const name of ["acme", "beta", "gamma"])
    expect((await api("POST", "/organization", { token: ana, body: { name } })).status).toBe(201);
  await joinTeam("acme", "devs", "member", "ben");
});

const quotaIdOf = async (path: string) => {
  const res = await api("GET", path, { token: admin });
  expect(res.status).toBe(200);
  return res.json[0].id as number;
};

describe("the seeds' quota chapter (13.4)", () => {
  it("sets, lists, resizes a quota and adds Reject and Warning limits, as the guide shows", async () => {
    // The guide's body carries `limit_bytes` and a stray `limits` string, which Quay ignores.
    const created = await api("POST", Q, { token: admin, body: { limit_bytes: 10737418240, limits: "10 Gi" } });
    expect([created.status, created.json]).toEqual([201, "Created"]);

    // namespacequota.py quota_view: id, limit_bytes, limit, default_config, limits, default_config_exists.
    const listed = await api("GET", Q, { token: admin });
    expect(listed.status).toBe(200);
    expect(listed.json).toEqual([
      {
        id: expect.any(Number),
        limit_bytes: 10737418240,
        limit: "10.0 GiB",
        default_config: false,
        limits: [],
        default_config_exists: false,
      },
    ]);
    const id = listed.json[0].id;

    const resized = await api("PUT", `${Q}/${id}`, { token: admin, body: { limit_bytes: 21474836480 } });
    expect(resized.status).toBe(200);
    expect(resized.json).toEqual({
      id,
      limit_bytes: 21474836480,
      limit: "20.0 GiB",
      default_config: false,
      limits: [],
      default_config_exists: false,
    });

    for (const body of [
      { type: "Reject", threshold_percent: 80 },
      { type: "Warning", threshold_percent: 50 },
    ]) {
      const res = await api("POST", `${Q}/${id}/limit`, { token: admin, body });
      expect([res.status, res.json]).toEqual([201, "Created"]);
    }
    const withLimits = await api("GET", Q, { token: ana });
    // namespacequota.py limit_view: id, type, limit_percent.
    expect(withLimits.json[0].limits).toEqual([
      { id: expect.any(Number), type: "Reject", limit_percent: 80 },
      { id: expect.any(Number), type: "Warning", limit_percent: 50 },
    ]);
  });

  it("getOrganizationQuota, listOrganizationQuotaLimit, getOrganizationQuotaLimit for members", async () => {
    const id = await quotaIdOf(Q);
    const one = await api("GET", `${Q}/${id}`, { token: ben });
    expect(one.status).toBe(200);
    expect(Object.keys(one.json)).toEqual([
      "id",
      "limit_bytes",
      "limit",
      "default_config",
      "limits",
      "default_config_exists",
    ]);
    const limits = await api("GET", `${Q}/${id}/limit`, { token: ben });
    expect(limits.status).toBe(200);
    expect(limits.json.map((l: { type: string }) => l.type)).toEqual(["Reject", "Warning"]);
    const limit = await api("GET", `${Q}/${id}/limit/${limits.json[1].id}`, { token: ben });
    expect(limit.json).toEqual({ id: limits.json[1].id, type: "Warning", limit_percent: 50 });
  });
});

describe("limits", () => {
  let id: number;
  beforeAll(async () => {
    await api("POST", "/organization/beta/quota", { token: admin, body: { limit: "1 Gi" } });
    id = await quotaIdOf("/organization/beta/quota");
  });
  const L = () => `/organization/beta/quota/${id}/limit`;

  it("takes the type in any case, and stores Quay's name", async () => {
    expect((await api("POST", L(), { token: admin, body: { type: "warning", threshold_percent: 70 } })).status).toBe(
      201,
    );
    const limits = (await api("GET", L(), { token: ana })).json;
    expect(limits).toEqual([{ id: expect.any(Number), type: "Warning", limit_percent: 70 }]);
  });

  it("refuses a duplicate, a second Reject, a bad type and thresholds outside 1..100", async () => {
    expectQuayError(
      await api("POST", L(), { token: admin, body: { type: "Warning", threshold_percent: 70 } }),
      400,
      "invalid_request",
      "Quota limit already exists",
    );
    expect((await api("POST", L(), { token: admin, body: { type: "Reject", threshold_percent: 90 } })).status).toBe(
      201,
    );
    expectQuayError(
      await api("POST", L(), { token: admin, body: { type: "reject", threshold_percent: 95 } }),
      400,
      "invalid_request",
      "Only one quota limit of type 'Reject' allowed.",
    );
    expectQuayError(
      await api("POST", L(), { token: admin, body: { type: "Block", threshold_percent: 50 } }),
      400,
      "invalid_request",
      "Quota type must be one of [Warning, Reject]",
    );
    for (const threshold_percent of [0, 101, -5, 1000])
      expectQuayError(
        await api("POST", L(), { token: admin, body: { type: "Warning", threshold_percent } }),
        400,
        "invalid_request",
        "Quota limit threshold must be between 1 and 100",
      );
    for (const body of [{ type: "Warning" }, { threshold_percent: 50 }, { type: "Warning", threshold_percent: 50.5 }])
      expectQuayError(await api("POST", L(), { token: admin, body }), 400, "invalid_request");
    const limits = (await api("GET", L(), { token: ana })).json;
    expect(limits.map((l: { type: string; limit_percent: number }) => [l.type, l.limit_percent])).toEqual([
      ["Warning", 70],
      ["Reject", 90],
    ]);
  });

  it("changes a limit (answering the whole quota) and refuses a Warning turned into a second Reject", async () => {
    const [warning] = (await api("GET", L(), { token: ana })).json;
    const changed = await api("PUT", `${L()}/${warning.id}`, { token: admin, body: { threshold_percent: 75 } });
    expect(changed.status).toBe(200);
    // changeOrganizationQuotaLimit answers quota_view, not limit_view.
    expect(changed.json).toMatchObject({ id, limit_bytes: GiB, limit: "1.0 GiB", default_config: false });
    expect(changed.json.limits).toContainEqual({ id: warning.id, type: "Warning", limit_percent: 75 });
    expectQuayError(
      await api("PUT", `${L()}/${warning.id}`, { token: admin, body: { type: "Reject" } }),
      400,
      "invalid_request",
      "Only one quota limit of type 'Reject' allowed.",
    );
    expectQuayError(
      await api("PUT", `${L()}/${warning.id}`, { token: admin, body: { threshold_percent: 0 } }),
      400,
      "invalid_request",
      "Quota limit threshold must be between 1 and 100",
    );
    expect((await api("GET", `${L()}/${warning.id}`, { token: ana })).json.limit_percent).toBe(75);
  });

  it("deletes a limit (204), then it is 404", async () => {
    const [warning] = (await api("GET", L(), { token: ana })).json;
    const res = await api("DELETE", `${L()}/${warning.id}`, { token: admin });
    expect([res.status, res.json]).toEqual([204, null]);
    expectQuayError(await api("GET", `${L()}/${warning.id}`, { token: ana }), 404, "not_found");
    expectQuayError(await api("DELETE", `${L()}/${warning.id}`, { token: admin }), 404, "not_found");
  });

  it("answers 404 for a limit of another quota, an unknown quota, and ids that are not numbers", async () => {
    const acmeLimit = (await api("GET", `${Q}/${await quotaIdOf(Q)}/limit`, { token: ana })).json[0].id;
    expectQuayError(await api("GET", `${L()}/${acmeLimit}`, { token: ana }), 404, "not_found");
    expectQuayError(
      await api("PUT", `${L()}/${acmeLimit}`, { token: admin, body: { threshold_percent: 5 } }),
      404,
      "not_found",
    );
    for (const bad of ["999999", "abc", "1e3", "-1", "99999999999999999999"]) {
      expectQuayError(await api("GET", `/organization/beta/quota/${bad}`, { token: ana }), 404, "not_found");
      expectQuayError(await api("GET", `/organization/beta/quota/${bad}/limit`, { token: ana }), 404, "not_found");
      expectQuayError(await api("GET", `${L()}/${bad}`, { token: ana }), 404, "not_found");
    }
  });
});

describe("sizes", () => {
  it("reads Quay's human-readable limits: binary, decimal and bare units", async () => {
    const gammaQuota = "/organization/gamma/quota";
    for (const [limit, bytes, shown] of [
      ["10 Gi", 10 * GiB, "10.0 GiB"],
      ["10GiB", 10 * GiB, "10.0 GiB"],
      ["500 MiB", 500 * 1024 ** 2, "500.0 MiB"],
      ["2 GB", 2e9, "1.9 GiB"],
      ["5 K", 5000, "4.9 KiB"],
      ["100", 100, "100.0 Byte"],
      ["1536 B", 1536, "1.5 KiB"],
    ] as const) {
      expect((await api("POST", gammaQuota, { token: admin, body: { limit } })).status, limit).toBe(201);
      const [view] = (await api("GET", gammaQuota, { token: admin })).json;
      expect([view.limit_bytes, view.limit], limit).toEqual([bytes, shown]);
      expect((await api("DELETE", `${gammaQuota}/${view.id}`, { token: admin })).status).toBe(204);
    }
  });

  it("refuses bad limit strings, both or neither size, sizes of 0 or less, and a second quota", async () => {
    const gammaQuota = "/organization/gamma/quota";
    for (const limit of ["10.5 GiB", "10 gi", "ten", "10  Gi", "", "10 Gi ", "Gi", "-1 Gi", "10 XB"])
      expectQuayError(await api("POST", gammaQuota, { token: admin, body: { limit } }), 400, "invalid_request");
    // A limit_bytes body whose stray `limit` fails Quay's pattern passes the schema, then bitmath refuses it.
    expectQuayError(
      await api("POST", gammaQuota, { token: admin, body: { limit_bytes: 5, limit: "lots" } }),
      400,
      "invalid_request",
      "Invalid limit format, use a number followed by a unit (e.g. 1GiB)",
    );
    for (const body of [{ limit_bytes: 5, limit: "5 Gi" }, {}, { limit_bytes: "5" }, { limit_bytes: 1.5 }, [], "5"])
      expectQuayError(await api("POST", gammaQuota, { token: admin, body }), 400, "invalid_request");
    expectQuayError(
      await api("POST", gammaQuota, { token: admin, body: { limit_bytes: 0 } }),
      400,
      "invalid_request",
      "Invalid quota size limit value: '0'",
    );
    expectQuayError(
      await api("POST", gammaQuota, { token: admin, body: { limit_bytes: -10 } }),
      400,
      "invalid_request",
      "Invalid quota size limit value: '-10'",
    );
    expectQuayError(
      await api("POST", gammaQuota, { token: admin, body: { limit: "0 Gi" } }),
      400,
      "invalid_request",
      "Invalid quota size limit value: '0.0'",
    );
    expectQuayError(
      await api("POST", gammaQuota, { token: admin, body: { limit: "99999 Y" } }),
      400,
      "invalid_request",
      "Unsupported quota size limit.",
    );
    expect((await api("GET", gammaQuota, { token: admin })).json).toEqual([]);
    expectQuayError(
      await api("POST", Q, { token: admin, body: { limit_bytes: 1 } }),
      400,
      "invalid_request",
      "Organization quota for 'acme' already exists",
    );
  });

  it("PUT: limit or limit_bytes, {} or 0 change nothing, anything else is refused", async () => {
    const id = await quotaIdOf(Q);
    const before = (await api("GET", `${Q}/${id}`, { token: admin })).json;
    for (const body of [{}, { limit_bytes: 0 }, { limit: "0 B" }]) {
      const res = await api("PUT", `${Q}/${id}`, { token: admin, body });
      expect([res.status, res.json]).toEqual([200, before]);
    }
    const res = await api("PUT", `${Q}/${id}`, { token: admin, body: { limit: "30 Gi" } });
    expect([res.json.limit_bytes, res.json.limit]).toEqual([30 * GiB, "30.0 GiB"]);
    for (const body of [
      { limit_bytes: 5, limit: "5 Gi" },
      { limit_bytes: 5, extra: 1 },
      { limit: "5 gb" },
      { nope: 1 },
    ])
      expectQuayError(await api("PUT", `${Q}/${id}`, { token: admin, body }), 400, "invalid_request");
    expectQuayError(
      await api("PUT", `${Q}/${id}`, { token: admin, body: { limit_bytes: -1 } }),
      400,
      "invalid_request",
      "Invalid quota size limit value: '-1'",
    );
    expect((await api("GET", `${Q}/${id}`, { token: admin })).json.limit_bytes).toBe(30 * GiB);
  });
});

describe("who may", () => {
  it("reads: members and superusers see the quota; outsiders 403; no one 401", async () => {
    const id = await quotaIdOf(Q);
    expect((await api("GET", Q, { token: ben })).status).toBe(200);
    expectQuayError(await api("GET", Q, { token: cid }), 403, "insufficient_scope", "Unauthorized");
    expectQuayError(await api("GET", `${Q}/${id}`, { token: cid }), 403, "insufficient_scope");
    expectQuayError(await api("GET", Q), 401, "invalid_token", "Requires authentication");
    // Quay opens the limit reads to members only (superusers need FEATURE_SUPERUSERS_FULL_ACCESS).
    expectQuayError(await api("GET", `${Q}/${id}/limit`, { token: admin }), 403, "insufficient_scope");
    expectQuayError(await api("GET", `${Q}/${id}/limit`, { token: cid }), 403, "insufficient_scope");
    // A token that caps the member's role away (user:read) sees it from outside.
    const readOnly = await tokenFor("ben", ["user:read"]);
    expectQuayError(await api("GET", Q, { token: readOnly }), 403, "insufficient_scope");
    // Outsiders cannot tell organizations that exist from those that do not.
    expectQuayError(await api("GET", "/organization/no-such-org/quota", { token: cid }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/organization/no-such-org/quota", { token: admin }), 404, "not_found");
  });

  it("writes: superusers only, with the super:user scope; not even the organization's admin", async () => {
    const id = await quotaIdOf(Q);
    const writes: Array<[string, string, unknown]> = [
      ["POST", Q, { limit_bytes: 1 }],
      ["PUT", `${Q}/${id}`, { limit_bytes: 1 }],
      ["DELETE", `${Q}/${id}`, undefined],
      ["POST", `${Q}/${id}/limit`, { type: "Warning", threshold_percent: 10 }],
      ["PUT", `${Q}/${id}/limit/1`, { threshold_percent: 10 }],
      ["DELETE", `${Q}/${id}/limit/1`, undefined],
    ];
    for (const [method, path, body] of writes) {
      for (const token of [ana, ben, cid, adminNoSuper])
        expectQuayError(await api(method, path, { token, body }), 403, "insufficient_scope");
      expectQuayError(await api(method, path, { body }), 401, "invalid_token");
    }
    expect((await api("GET", `${Q}/${id}`, { token: admin })).json.limit_bytes).toBe(30 * GiB);
  });

  it("a superuser's write to an organization that does not exist is 404", async () => {
    expectQuayError(
      await api("POST", "/organization/no-such-org/quota", { token: admin, body: { limit_bytes: 5 } }),
      404,
      "not_found",
    );
    expectQuayError(await api("DELETE", "/organization/no-such-org/quota/1", { token: admin }), 404, "not_found");
    // A user's namespace is not an organization.
    expectQuayError(
      await api("POST", "/organization/cid/quota", { token: admin, body: { limit_bytes: 5 } }),
      404,
      "not_found",
    );
  });
});

describe("at once", () => {
  it("five creations of one organization's quota make one; five Reject limits, one", async () => {
    expect((await api("POST", "/organization", { token: ana, body: { name: "racers" } })).status).toBe(201);
    const path = "/organization/racers/quota";
    const created = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => api("POST", path, { token: admin, body: { limit_bytes: n * GiB } })),
    );
    expect(created.map((r) => r.status).sort()).toEqual([201, 400, 400, 400, 400]);
    for (const refused of created.filter((r) => r.status === 400))
      expect(refused.json.error_message).toBe("Organization quota for 'racers' already exists");
    const id = await quotaIdOf(path);
    const limits = await Promise.all(
      [10, 20, 30, 40, 50].map((threshold_percent) =>
        api("POST", `${path}/${id}/limit`, { token: admin, body: { type: "Reject", threshold_percent } }),
      ),
    );
    expect(limits.map((r) => r.status).sort()).toEqual([201, 400, 400, 400, 400]);
    for (const refused of limits.filter((r) => r.status === 400))
      expect(refused.json.error_message).toBe("Only one quota limit of type 'Reject' allowed.");
    expect((await api("GET", `${path}/${id}/limit`, { token: ana })).json).toHaveLength(1);
  });
});

describe("deleting a quota", () => {
  it("removes it and its limits (204); the next reads are empty or 404", async () => {
    const id = await quotaIdOf("/organization/beta/quota");
    const res = await api("DELETE", `/organization/beta/quota/${id}`, { token: admin });
    expect([res.status, res.json]).toEqual([204, null]);
    expect((await api("GET", "/organization/beta/quota", { token: ana })).json).toEqual([]);
    expectQuayError(await api("GET", `/organization/beta/quota/${id}/limit`, { token: ana }), 404, "not_found");
    expectQuayError(await api("DELETE", `/organization/beta/quota/${id}`, { token: admin }), 404, "not_found");
  });
});
