/**
 * The operations issue #14 added, fed what an attacker sends instead of what a client does:
 * malformed uuids and names, control characters, unicode, very long path segments, repeated query
 * parameters, bodies of the wrong type. Every refusal must be Quay's error JSON (never a 500, never
 * HTML), whoever asks: a superuser who passes every permission check, and no one.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { makeUser, pushAs, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";

let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "owner");
  const owner = await tokenFor("owner");
  expect((await api("POST", "/organization", { token: owner, body: { name: "org" } })).status).toBe(201);
  await pushAs("owner", "org/app");
});

const LONG = "a".repeat(5_000);
const ODD = ["%00", "%FF", "%F0%9F%98%80", "%2e%2e", "x%20y", "A", LONG, "-", "not-a-uuid"];

/** [method, path with `*` where each odd value goes, body]. */
const ROUTES: Array<[string, string, unknown?]> = [
  ["GET", "/entities/*"],
  ["GET", "/entities/ad?namespace=*&namespace=org&includeTeams=*&includeOrgs=true&includeOrgs=false"],
  ["GET", "/find/repositories?query=*&page=*"],
  ["GET", "/find/repositories?page=99999999999999999999&page=1"],
  ["GET", "/find/all?query=*&query=%25_"],
  ["GET", "/users/*"],
  ["GET", "/app/*"],
  ["GET", "/error/*"],
  ["GET", "/registry/capabilities?*=*"],
  ["GET", "/organization/org/members/*"],
  ["DELETE", "/organization/org/members/*"],
  ["GET", "/organization/*/members/owner"],
  ["GET", "/repository/org/app/permissions/user/*/transitive"],
  ["GET", "/repository/*/app/permissions/user/owner/transitive"],
  ["PUT", "/repository/org/app/changestate", { state: "*" }],
  ["PUT", "/repository/org/app/changestate", { state: 5 }],
  ["PUT", "/repository/*/changestate", { state: "NORMAL" }],
  ["GET", "/organization/org/immutabilitypolicy/*"],
  ["PUT", "/organization/org/immutabilitypolicy/*", { tagPattern: "v.*" }],
  ["DELETE", "/repository/org/app/immutabilitypolicy/*"],
  ["POST", "/organization/org/immutabilitypolicy/", { tagPattern: ["v.*"], tagPatternMatches: "yes" }],
  ["POST", "/repository/org/app/immutabilitypolicy/", { tagPattern: "*" }],
  ["POST", "/repository/org/app/immutabilitypolicy/", { tagPattern: "(a+)+$" }],
  ["GET", "/repository/org/app/tag/*/pull_statistics"],
  ["GET", "/repository/org/app/manifest/*/pull_statistics"],
  ["GET", "/repository/org/app/manifest/sha256:*/pull_statistics"],
  ["DELETE", "/message/*"],
  ["POST", "/messages", { message: { content: 5, media_type: "text/html", severity: "info" } }],
  ["POST", "/messages", { message: "*" }],
  ["GET", "/superuser/organizations/?limit=*&next_page=*"],
  ["PUT", "/superuser/organizations/*", { name: "*" }],
  ["PUT", "/superuser/organizations/org", { name: 5 }],
  ["DELETE", "/superuser/organizations/*"],
  ["POST", "/superuser/takeownership/*"],
  ["GET", "/superuser/apptokens?expiring=*&expiring=true"],
  ["GET", "/user/authorizations/*"],
  ["DELETE", "/user/authorizations/*"],
  ["DELETE", "/user/assignedauthorization/*"],
  ["GET", "/organization/org/applications/*/tokens?next_page=*"],
  ["DELETE", "/organization/org/applications/*/tokens/*"],
  ["POST", "/organization/org/applications/*/tokens", { scope: ["repo:read"], expiration: "1" }],
  ["GET", "/organization/org/robots/*/tokens"],
  ["DELETE", "/user/robots/*/tokens/*"],
  ["POST", "/user/", { username: "*", password: 12345678 }],
  ["POST", "/user/", ["*"]],
  ["POST", "/user/convert", { adminUser: "*", adminPassword: null }],
  ["POST", "/signin/verify", { password: ["*"] }],
  ["POST", "/user/clientkey", { password: "*" }],
];

function expand(template: string, value: string): string {
  return template.replaceAll("*", value);
}

/** The value as a body carries it: percent-decoded where that is valid UTF-8. */
function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function expandBody(body: unknown, value: string): unknown {
  if (typeof body === "string") return body.replaceAll("*", value);
  if (Array.isArray(body)) return body.map((item) => expandBody(item, value));
  if (body && typeof body === "object")
    return Object.fromEntries(Object.entries(body).map(([key, item]) => [key, expandBody(item, value)]));
  return body;
}

describe("hostile inputs to issue #14's operations", () => {
  for (const [who, token] of [
    ["a superuser", () => admin],
    ["no one", () => undefined],
  ] as const) {
    it(`answer ${who} Quay's error JSON or a success, never a 500`, async () => {
      const failures: string[] = [];
      for (const [method, template, body] of ROUTES) {
        for (const value of ODD) {
          const path = expand(template, value);
          const res = await api(method, path, { token: token(), body: expandBody(body, decoded(value)) });
          const quayShaped =
            res.status < 400 ||
            (typeof res.json === "object" && res.json !== null && ("error_type" in res.json || "message" in res.json));
          if (res.status >= 500 || !quayShaped)
            failures.push(`${method} ${path.slice(0, 120)} → ${res.status} ${JSON.stringify(res.json).slice(0, 200)}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});
