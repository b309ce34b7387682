/**
 * Issue #16's quota operations fed what an attacker sends instead of what a client does: odd ids
 * and names (control characters, unicode, 5,000 characters, huge numbers), bodies of the wrong type
 * or shape, sizes past what a quota holds. Every refusal must be Quay's error JSON (never a 500,
 * never HTML), whoever asks: a superuser who passes every permission check, a member, and no one.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";

let admin: string;
let member: string;
let quota: number;
let limit: number;

const LONG = "a".repeat(5_000);
const ODD = ["%00", "%FF", "%F0%9F%98%80", "%2e%2e", "x%20y", LONG, "-1", "1e3", "99999999999999999999999", "0x10"];
const BAD_BODIES: unknown[] = [null, 5, "x", [], [1], { limit_bytes: null }, { limit_bytes: 1e300 }, { limit: LONG }];

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "member");
  await makeUser(admin, "owner");
  member = await tokenFor("member");
  // Owned by someone else than the callers: `…/quota/%2e%2e` resolves to the organization itself.
  expect((await api("POST", "/organization", { token: await tokenFor("owner"), body: { name: "org" } })).status).toBe(
    201,
  );
  await joinTeam("org", "devs", "member", "member");
  expect((await api("POST", "/organization/org/quota", { token: admin, body: { limit: "1 Gi" } })).status).toBe(201);
  quota = (await api("GET", "/organization/org/quota", { token: admin })).json[0].id;
  expect(
    (
      await api("POST", `/organization/org/quota/${quota}/limit`, {
        token: admin,
        body: { type: "Warning", threshold_percent: 5 },
      })
    ).status,
  ).toBe(201);
  limit = (await api("GET", `/organization/org/quota/${quota}/limit`, { token: member })).json[0].id;
});

/** [method, path with `*` where each odd value goes, body]. */
const ROUTES = (): Array<[string, string, unknown?]> => [
  ["GET", "/organization/*/quota"],
  ["POST", "/organization/*/quota", { limit: "*" }],
  ["GET", "/organization/org/quota/*"],
  ["PUT", "/organization/org/quota/*", { limit_bytes: 5 }],
  ["PUT", `/organization/org/quota/${quota}`, { limit: "*" }],
  ["DELETE", "/organization/org/quota/*"],
  ["GET", "/organization/org/quota/*/limit"],
  ["POST", "/organization/org/quota/*/limit", { type: "*", threshold_percent: 5 }],
  ["POST", `/organization/org/quota/${quota}/limit`, { type: "*", threshold_percent: "*" }],
  ["GET", `/organization/org/quota/${quota}/limit/*`],
  ["PUT", `/organization/org/quota/${quota}/limit/*`, { type: "*" }],
  ["PUT", `/organization/org/quota/${quota}/limit/${limit}`, { type: "*", threshold_percent: 1e300 }],
  ["DELETE", `/organization/org/quota/${quota}/limit/*`],
  ["GET", "/user/quota/*"],
  ["GET", "/user/quota/*/limit/*"],
  ["GET", "/superuser/users/*/quota"],
  ["POST", "/superuser/organization/*/quota", { limit_bytes: "*" }],
  ["PUT", "/superuser/users/org/quota/*", { limit: "*" }],
  ["DELETE", "/superuser/organization/*/quota/*"],
];

function expandBody(body: unknown, value: string): unknown {
  if (typeof body === "string") return body.replaceAll("*", value);
  if (body && typeof body === "object")
    return Object.fromEntries(Object.entries(body).map(([key, item]) => [key, expandBody(item, value)]));
  return body;
}

const quayShaped = (res: { status: number; json: unknown }) =>
  res.status < 400 || (typeof res.json === "object" && res.json !== null && "error_type" in res.json);

describe("hostile inputs to the quota operations", () => {
  // First: the odd paths below reach the quota itself once URL parsing resolves `%2e%2e`.
  it("refuse bodies of the wrong type or size with 400, changing nothing", async () => {
    for (const [method, path] of [
      ["POST", "/organization/org/quota"],
      ["PUT", `/organization/org/quota/${quota}`],
      ["POST", `/organization/org/quota/${quota}/limit`],
      ["PUT", `/organization/org/quota/${quota}/limit/${limit}`],
      ["POST", "/superuser/users/member/quota"],
    ] as const) {
      for (const body of BAD_BODIES) {
        const res = await api(method, path, { token: admin, body: JSON.stringify(body) });
        // `{}` and a null member are no change for a PUT of a limit (Quay's optional members).
        if (method === "PUT" && path.includes("/limit/") && res.status === 200) continue;
        expect([res.status, res.json?.error_type], `${method} ${path} ${JSON.stringify(body).slice(0, 40)}`).toEqual([
          400,
          "invalid_request",
        ]);
      }
      const malformed = await api(method, path, { token: admin, body: "{not json" });
      expect(malformed.status).toBe(400);
    }
    const [view] = (await api("GET", "/organization/org/quota", { token: admin })).json;
    expect([view.limit_bytes, view.limits]).toEqual([1024 ** 3, [{ id: limit, type: "Warning", limit_percent: 5 }]]);
  });
  for (const [who, token] of [
    ["a superuser", () => admin],
    ["a member", () => member],
    ["no one", () => undefined],
  ] as const) {
    it(`answer ${who} Quay's error JSON or a success, never a 500`, async () => {
      const failures: string[] = [];
      for (const [method, template, body] of ROUTES()) {
        for (const value of ODD) {
          const path = template.replaceAll("*", value);
          let text = value;
          try {
            text = decodeURIComponent(value);
          } catch {}
          const res = await api(method, path, { token: token(), body: expandBody(body, text) });
          if (res.status >= 500 || !quayShaped(res))
            failures.push(`${method} ${path.slice(0, 100)} → ${res.status} ${JSON.stringify(res.json).slice(0, 200)}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});
