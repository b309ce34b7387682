/**
 * The operations issues #14 and #15 added, fed what an attacker sends instead of what a client does:
 * malformed uuids and names, control characters, unicode, very long path segments, repeated query
 * parameters, bodies of the wrong type. Every refusal must be Quay's error JSON (never a 500, never
 * HTML), whoever asks: a superuser who passes every permission check, the organization's owner (who
 * administers its repositories, which a superuser does not), and no one.
 */
import { beforeAll, describe, expect } from "vitest";
import { makeUser, pushAs, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { type HostileRoute, neverA500 } from "../helpers/hostile-inputs";

let admin: string;
let owner: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "owner");
  owner = await tokenFor("owner");
  expect((await api("POST", "/organization", { token: owner, body: { name: "org" } })).status).toBe(201);
  await pushAs("owner", "org/app");
});

const ROUTES: HostileRoute[] = [
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

/** Issue #15's operations: notifications, user notifications, logs, exports, event streams. */
const EVENT_ROUTES: Array<[string, string, unknown?]> = [
  ["GET", "/repository/org/app/notification/*"],
  ["POST", "/repository/org/app/notification/*"],
  ["POST", "/repository/org/app/notification/*/test"],
  ["POST", "/repository/org/app/notification/", { event: "*", method: "webhook", config: { url: "*" } }],
  ["POST", "/repository/org/app/notification/", { event: "repo_push", method: "*", config: "*" }],
  ["POST", "/repository/org/app/notification/", { event: "repo_push", method: "webhook", config: { url: "*" } }],
  ["POST", "/repository/org/app/notification/", { event: "repo_push", method: "slack", config: { url: ["*"] } }],
  [
    "POST",
    "/repository/org/app/notification/",
    { event: "repo_image_expiry", method: "email", eventConfig: { days: "*" }, config: { email: "*" } },
  ],
  ["GET", "/repository/org/app/authorizedemail/*"],
  ["POST", "/repository/org/app/authorizedemail/*"],
  ["GET", "/user/notifications?page=*&limit=*"],
  ["GET", "/user/notifications/*"],
  ["PUT", "/user/notifications/*", { dismissed: "*" }],
  ["GET", "/user/logs?starttime=*&endtime=*&performer=*&next_page=*"],
  ["GET", "/organization/org/logs?starttime=*&starttime=01/01/2020&next_page=*"],
  ["GET", "/repository/org/app/logs?endtime=*&next_page=*"],
  ["GET", "/repository/org/app/aggregatelogs?starttime=*&endtime=*"],
  ["GET", "/organization/*/aggregatelogs"],
  ["GET", "/superuser/logs?starttime=*&next_page=*"],
  ["POST", "/repository/org/app/exportlogs", { starttime: "*", endtime: "*", callback_url: "*" }],
  ["POST", "/organization/org/exportlogs?starttime=*", { callback_email: "*" }],
  ["POST", "/user/exportlogs", { callback_url: ["*"], callback_email: 5 }],
  ["GET", "/organization/*/events"],
  ["GET", "/repository/*/nothing/events"],
  // Last: URL parsing resolves `%2e%2e` before routing, so this one is a DELETE of the repository
  // itself for its owner (permission checked on the resolved path); every route above still finds it.
  ["DELETE", "/repository/org/app/notification/*"],
];

/** Issue #17's operations: external sign-in, and the referrers read the UI uses. */
const UI_ROUTES: Array<[string, string, unknown?]> = [
  ["POST", "/externallogin/*", { kind: "login" }],
  ["POST", "/externallogin/sso", { kind: "*", redirect: "*" }],
  ["POST", "/detachexternal/*"],
  ["GET", "/repository/org/app/manifest/*/referrers"],
  ["GET", `/repository/org/app/manifest/sha256:${"0".repeat(64)}/referrers?artifactType=*&last=*`],
];

describe("hostile inputs to issue #14's operations", () => {
  neverA500(ROUTES, [
    ["a superuser", () => admin],
    ["no one", () => undefined],
  ]);
});

describe("hostile inputs to issue #15's operations", () => {
  neverA500(EVENT_ROUTES, [
    ["the organization's owner", () => owner],
    ["a superuser", () => admin],
    ["no one", () => undefined],
  ]);
});

describe("hostile inputs to issue #17's operations", () => {
  neverA500(UI_ROUTES, [
    ["the organization's owner", () => owner],
    ["a superuser", () => admin],
    ["no one", () => undefined],
  ]);
});
