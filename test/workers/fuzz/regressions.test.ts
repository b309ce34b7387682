/**
 * The 500s the fuzzing found, each kept as a plain test of its smallest input, so that the fix
 * stays whatever the random draws of later runs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { api, fixtureCall, initializeAdmin } from "../helpers/api";
import { pushImage, request } from "../helpers/registry";

let token: string;
let digest: string;

beforeAll(async () => {
  token = await initializeAdmin();
  await fixtureCall(token, "POST", "/repository", {
    namespace: "admin",
    repository: "long-search-term-0123456789-0123456789-0123456789",
    visibility: "public",
    description: "",
  });
  digest = (await pushImage("admin/labelled", "latest")).digest;
  await fixtureCall(token, "POST", `/repository/admin/labelled/manifest/${digest}/labels`, {
    key: `com.example.${"k".repeat(60)}`,
    value: "v",
    media_type: "text/plain",
  });
});

// D1 refuses a LIKE pattern over 50 bytes; search terms, the tag filter and the label prefix were
// LIKE patterns, so a long term answered 500 (src/db/text-match.ts).
describe("text searches with terms longer than D1's LIKE pattern limit", () => {
  const long = "long-search-term-0123456789-0123456789-0123456789";

  it("GET /api/v1/find/all and /find/repositories find the repository by its long name", async () => {
    const all = await api("GET", `/find/all?query=${long}`, { token });
    expect(all.status).toBe(200);
    expect(all.json.results.map((r: { name: string }) => r.name)).toContain(long);
    const repos = await api("GET", `/find/repositories?query=${long.toUpperCase()}`, { token });
    expect(repos.status).toBe(200);
    expect(repos.json.results.map((r: { name: string }) => r.name)).toEqual([long]);
    const emoji = await api("GET", `/find/all?query=${encodeURIComponent("😀".repeat(40))}`, { token });
    expect(emoji.status).toBe(200);
    expect(emoji.json.results).toEqual([]);
  });

  it("GET /v1/search (docker search) with a long term", async () => {
    const res = await request("GET", `/v1/search?q=${long}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { results: { name: string }[] }).results.map((r) => r.name)).toContain(
      `admin/${long}`,
    );
  });

  it("filter_tag_name=like: with a long text, and a literal % still matches nothing", async () => {
    const res = await api("GET", `/repository/admin/labelled/tag/?filter_tag_name=like:${"x".repeat(128)}`, { token });
    expect(res.status).toBe(200);
    expect(res.json.tags).toEqual([]);
    const found = await api("GET", "/repository/admin/labelled/tag/?filter_tag_name=like:ATES", { token });
    expect(found.json.tags.map((t: { name: string }) => t.name)).toEqual(["latest"]);
    const percent = await api("GET", "/repository/admin/labelled/tag/?filter_tag_name=like:%25", { token });
    expect(percent.json.tags).toEqual([]);
  });

  it("a label filter longer than 50 bytes finds the label by its prefix", async () => {
    const prefix = `COM.EXAMPLE.${"k".repeat(50)}`;
    const res = await api("GET", `/repository/admin/labelled/manifest/${digest}/labels?filter=${prefix}`, { token });
    expect(res.status).toBe(200);
    expect(res.json.labels).toHaveLength(1);
    const none = await api("GET", `/repository/admin/labelled/manifest/${digest}/labels?filter=${"k".repeat(60)}`, {
      token,
    });
    expect(none.json.labels).toEqual([]);
  });
});
