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

let a: BuildAccounts;
let build: string;

beforeAll(async () => {
  a = await makeBuildAccounts();
  build = (
    await api("POST", `/repository/${REPO}/build/`, { token: a.bob, body: { archive_url: "https://example.com/x" } })
  ).json.id;
});

const LONG = "a".repeat(5_000);
const ODD = ["%00", "%FF", "%F0%9F%98%80", "%2e%2e", "x%20y", "A", LONG, "-", "not-a-uuid", "-1", "1e999"];

const ROUTES: Array<[string, string, unknown?]> = [
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

describe("hostile inputs to the build operations", () => {
  for (const [who, token] of [
    ["the repository's owner", () => a.bob],
    ["a superuser", () => a.admin],
    ["no one", () => undefined],
  ] as const) {
    it(`answer ${who} Quay's error JSON or a success, never a 500`, async () => {
      const failures: string[] = [];
      for (const [method, template, body] of ROUTES) {
        for (const value of ODD) {
          const path = template.replaceAll("*", value).replace("BUILD", build);
          const res = await api(method, path, { token: token(), body: expandBody(body, decoded(value)) });
          const shaped =
            res.status < 400 || (typeof res.json === "object" && res.json !== null && "error_type" in res.json);
          if (res.status >= 500 || !shaped)
            failures.push(`${method} ${path.slice(0, 120)} → ${res.status} ${JSON.stringify(res.json).slice(0, 200)}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }

  it("answers a forged or malformed upload URL with the plain surface's JSON, never a 500", async () => {
    // `%2e%2e` resolves the path out of /filedrop before routing: not this surface's request.
    for (const value of ODD.filter((v) => v !== "%2e%2e")) {
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
