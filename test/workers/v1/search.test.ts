/**
 * GET /v1/search, Quay's `endpoints/v1/index.py` `get_search` (what `docker search <host>/<term>`
 * asks): Quay's JSON and paging, and only the repositories the caller may pull, whoever the
 * credentials (none, Basic of every kind, a registry token, an OAuth token) say the caller is.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { api, initializeAdmin } from "../helpers/api";
import { basic, makeUser, tokenFor, v2Token } from "../helpers/accounts";
import { request } from "../helpers/registry";

let olga: string;
let olgaPassword: string;
let gus: string;
let gusPassword: string;
let robotToken: string;

async function search(query: string, authorization?: string) {
  const res = await request("GET", `/v1/search${query}`, {
    headers: authorization ? { Authorization: authorization } : {},
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, type: res.headers.get("Content-Type"), json };
}

const names = (answer: { json: { results: { name: string }[] } }) => answer.json.results.map((r) => r.name);

const create = (
  token: string,
  repository: string,
  visibility: "public" | "private",
  description = "",
  namespace?: string,
) =>
  api("POST", "/repository", {
    token,
    body: { repository, visibility, description, ...(namespace ? { namespace } : {}) },
  });

beforeAll(async () => {
  const admin = await initializeAdmin();
  olgaPassword = await makeUser(admin, "olga");
  gusPassword = await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  gus = await tokenFor("gus");
  await create(olga, "hello-public", "public", "The greeting service");
  await create(olga, "hello-private", "private", "Olga's own");
  await create(olga, "other", "public", "It says HELLO to everyone");
  await create(olga, "hello-shared", "private");
  await create(olga, "hello-robot", "private");
  await create(gus, "hello-gus", "private");
  await create(olga, "percent", "public", "100% literal");
  await api("PUT", "/repository/olga/hello-shared/permissions/user/gus", { token: olga, body: { role: "read" } });
  robotToken = (await api("PUT", "/user/robots/ci", { token: olga, body: {} })).json.token;
  await api("PUT", "/repository/olga/hello-robot/permissions/user/olga+ci", { token: olga, body: { role: "read" } });
  await api("POST", "/user/starred", { token: gus, body: { namespace: "olga", repository: "hello-public" } });
  await api("POST", "/organization/", { token: gus, body: { name: "acme", email: "acme@example.com" } });
  await create(gus, "hello-org", "private", "", "acme");
  for (let i = 1; i <= 5; i++) await create(olga, `paged-${i}`, "public");
});

describe("GET /v1/search", () => {
  it("answers Quay's JSON: public matches by name first, then by description, for an anonymous caller", async () => {
    const answer = await search("?q=hello");
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^application\/json/);
    expect(answer.json).toEqual({
      query: "hello",
      num_results: 2,
      num_pages: 1,
      page: 1,
      page_size: 25,
      results: [
        {
          name: "olga/hello-public",
          description: "The greeting service",
          is_public: true,
          href: "/repository/olga/hello-public",
          star_count: 1,
          is_official: false,
          is_automated: false,
        },
        {
          name: "olga/other",
          description: "It says HELLO to everyone",
          is_public: true,
          href: "/repository/olga/other",
          star_count: 0,
          is_official: false,
          is_automated: false,
        },
      ],
    });
  });

  it("lists private repositories only to those who may pull them, whatever the credential", async () => {
    const olgaSees = ["olga/hello-public", "olga/hello-private", "olga/hello-shared", "olga/hello-robot", "olga/other"];
    const gusSees = ["olga/hello-public", "olga/hello-shared", "gus/hello-gus", "acme/hello-org", "olga/other"];
    expect(names(await search("?q=hello", basic("olga", olgaPassword)))).toEqual(olgaSees);
    expect(names(await search("?q=hello", basic("gus", gusPassword)))).toEqual(gusSees);
    // docker sends the token it got from /v2/auth when it logged in with an identity token.
    const gusRegistryToken = (await v2Token(basic("gus", gusPassword), "registry:catalog:search")).token;
    expect(names(await search("?q=hello", `Bearer ${gusRegistryToken}`))).toEqual(gusSees);
    expect(names(await search("?q=hello", `Bearer ${gus}`))).toEqual(gusSees);
    expect(names(await search("?q=hello", basic("$oauthtoken", gus)))).toEqual(gusSees);
    expect(names(await search("?q=hello", basic("olga+ci", robotToken)))).toEqual([
      "olga/hello-public",
      "olga/hello-robot",
      "olga/other",
    ]);
    // A token that may not read repositories sees what anyone sees (as /v2/auth grants it).
    const noRepoRead = await tokenFor("gus", ["user:read"]);
    expect(names(await search("?q=hello", `Bearer ${noRepoRead}`))).toEqual(["olga/hello-public", "olga/other"]);
    expect(names(await search("?q=hello", basic("$oauthtoken", noRepoRead)))).toEqual([
      "olga/hello-public",
      "olga/other",
    ]);
    // Private results say so.
    const own = (await search("?q=hello-private", basic("olga", olgaPassword))).json.results;
    expect(own).toMatchObject([{ name: "olga/hello-private", is_public: false, description: "Olga's own" }]);
  });

  it("refuses credentials it cannot verify with 401 and Quay's {error}", async () => {
    for (const authorization of [
      basic("gus", "wrong"),
      basic("nobody", "x"),
      "Bearer not-a-token",
      basic("$oauthtoken", "bad"),
      "Basic !!!",
    ]) {
      const answer = await search("?q=hello", authorization);
      expect(answer.status, authorization).toBe(401);
      expect(answer.type).toMatch(/^application\/json/);
      expect(answer.json).toEqual({ error: expect.stringMatching(/./) });
    }
  });

  it("pages with n and page as Quay does: num_pages says whether another page follows", async () => {
    const page = async (query: string) => {
      const { json } = await search(query);
      return [names({ json }), json.page, json.page_size, json.num_pages, json.num_results];
    };
    expect(await page("?q=paged&n=2")).toEqual([["olga/paged-1", "olga/paged-2"], 1, 2, 2, 2]);
    expect(await page("?q=paged&n=2&page=2")).toEqual([["olga/paged-3", "olga/paged-4"], 2, 2, 3, 2]);
    expect(await page("?q=paged&n=2&page=3")).toEqual([["olga/paged-5"], 3, 2, 3, 1]);
    // Quay's bounds: n in 1..100 (25 when unreadable), page in 1..5 (1 when unreadable).
    expect(await page("?q=paged&n=0")).toEqual([["olga/paged-1"], 1, 1, 2, 1]);
    expect((await search("?q=paged&n=5000")).json.page_size).toBe(100);
    expect((await search("?q=paged&n=lots")).json.page_size).toBe(25);
    expect((await search("?q=paged&page=first")).json.page).toBe(1);
    expect((await search("?q=paged&page=0")).json.page).toBe(1);
    expect(await page("?q=paged&n=1&page=99")).toEqual([["olga/paged-5"], 5, 1, 5, 1]);
  });

  it("finds nothing for an empty query, and takes LIKE's wildcards literally", async () => {
    expect((await search("")).json).toEqual({
      query: "",
      num_results: 0,
      num_pages: 1,
      page: 1,
      page_size: 25,
      results: [],
    });
    expect(names(await search("?q="))).toEqual([]);
    expect(names(await search("?q=_"))).toEqual([]);
    expect(names(await search("?q=%25"))).toEqual(["olga/percent"]);
    expect(names(await search("?q=HELLO-PUB"))).toEqual(["olga/hello-public"]);
    // The namespace is part of the name searched: docker search <host>/olga lists olga's.
    expect(names(await search("?q=olga/other"))).toEqual(["olga/other"]);
  });

  it("refuses a query longer than a repository name could be", async () => {
    const answer = await search(`?q=${"a".repeat(300)}`);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: expect.stringMatching(/too long/) });
  });
});

describe("GET /v1/_ping", () => {
  it("answers as Quay's does, so docker's v1 endpoint check passes", async () => {
    const res = await request("GET", "/v1/_ping");
    expect(res.status).toBe(200);
    expect(await res.json()).toBe(true);
    expect(res.headers.get("X-Docker-Registry-Version")).toBe("0.6.0");
    expect(res.headers.get("X-Docker-Registry-Standalone")).toBe("0");
  });
});
