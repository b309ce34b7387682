/**
 * The build operations fed what an attacker sends: malformed uuids, control characters, unicode,
 * very long segments, bodies of the wrong type, odd queries, forged upload URLs. Every refusal is
 * Quay's error JSON on /api/v1 and `{"error"}` on `/filedrop` (never a 500, never HTML), for the
 * repository's owner, a superuser and no one.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { api, answerOf } from "../helpers/api";
import { type BuildAccounts, makeBuildAccounts, REPO } from "../helpers/builds";
import { request } from "../helpers/registry";
import { type HostileRoute, neverA500, ODD } from "../helpers/hostile-inputs";

let a: BuildAccounts;
let build: string;

beforeAll(async () => {
  a = await makeBuildAccounts();
  build = (
    await api("POST", `/repository/${REPO}/build/`, { token: a.bob, body: { archive_url: "https://example.com/x" } })
  ).json.id;
});

const VALUES = [...ODD, "-1", "1e999"];

const ROUTES: HostileRoute[] = [
  ["GET", `/repository/${REPO}/build/?limit=*&since=*`],
  ["GET", `/repository/${REPO}/build/*`],
  ["GET", `/repository/${REPO}/build/*/status`],
  ["GET", `/repository/${REPO}/build/*/logs?start=*`],
  ["GET", `/repository/${REPO}/build/BUILD/logs?start=*`],
  ["DELETE", `/repository/${REPO}/build/*`],
  ["GET", "/superuser/*/build"],
  ["GET", "/superuser/*/logs?start=*"],
  ["POST", `/repository/${REPO}/build/`, { archive_url: "*", docker_tags: ["*"] }],
  ["POST", `/repository/${REPO}/build/`, { file_id: "*" }],
  ["POST", `/repository/${REPO}/build/`, { archive_url: "https://example.com/x", pull_robot: "*" }],
  ["POST", `/repository/${REPO}/build/`, { archive_url: "https://example.com/x", subdirectory: "*", context: "*" }],
  ["POST", `/repository/${REPO}/build/`, { archive_url: "https://example.com/x", dockerfile_path: "*" }],
  ["POST", `/repository/${REPO}/build/`, { archive_url: 12, docker_tags: "latest" }],
  ["POST", "/filedrop/", { mimeType: "*" }],
  ["POST", "/filedrop/", { mimeType: 5 }],
];

describe("hostile inputs to the build operations", () => {
  neverA500(
    ROUTES,
    [
      ["the repository's owner", () => a.bob],
      ["a superuser", () => a.admin],
      ["no one", () => undefined],
    ],
    // BUILD: an existing build's uuid, where a route needs one to reach its odd query.
    {
      values: VALUES,
      path: (template, value) => template.replaceAll("*", value).replace("BUILD", build),
      strict: true,
    },
  );

  it("answers a forged or malformed upload URL with the plain surface's JSON, never a 500", async () => {
    // `%2e%2e` resolves the path out of /filedrop before routing: not this surface's request.
    for (const value of VALUES.filter((v) => v !== "%2e%2e")) {
      const res = await answerOf(
        await request("PUT", `/filedrop/${value}?expires=${value}&signature=${value}`, { body: "x" }),
      );
      expect(res.status, value).toBeLessThan(500);
      expect(res.json, value).toHaveProperty("error");
    }
    const missing = await answerOf(await request("PUT", "/filedrop/abc", { body: "x" }));
    expect(missing.status).toBe(400);
  });
});
