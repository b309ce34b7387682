/**
 * Quay's search endpoints (`endpoints/api/search.py`): `GET /api/v1/entities/{prefix}`
 * (`getMatchingEntities`), `GET /api/v1/find/repositories` (`conductRepoSearch`) and
 * `GET /api/v1/find/all` (`conductSearch`). Nobody is shown a private repository, a robot or a
 * team that Quay would not show them.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { liquidMetalScore } from "../../../src/lib/liquidmetal";
import { makeUser, pushImageWith, tokenFor } from "../helpers/accounts";
import { api, avatarMatching, fixtureCall, expectQuayError, initializeAdmin } from "../helpers/api";
import { registryToken } from "../helpers/registry";

const ORG = "searchorg";
let sam: string;
let sally: string;
let sid: string;

const newRepo = (token: string, namespace: string, repository: string, visibility: string, description = "") =>
  fixtureCall(token, "POST", "/repository", { namespace, repository, visibility, description });

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["sam", "samuel", "sally", "sid"]) await makeUser(admin, name);
  sam = await tokenFor("sam");
  sally = await tokenFor("sally");
  sid = await tokenFor("sid");
  await fixtureCall(sam, "POST", "/organization/", { name: ORG });
  await fixtureCall(sam, "PUT", `/organization/${ORG}/team/builders`, { role: "member" });
  await fixtureCall(sam, "PUT", `/organization/${ORG}/team/builders/members/sally`);
  await fixtureCall(sam, "PUT", `/organization/${ORG}/robots/deployer`);
  await fixtureCall(sam, "PUT", "/user/robots/helper");
  await newRepo(sam, ORG, "public-app", "public", "the web frontend");
  await newRepo(sam, ORG, "secret-app", "private");
  await fixtureCall(sid, "POST", "/user/starred", { namespace: ORG, repository: "public-app" });
});

describe("GET /entities/{prefix}", () => {
  it("finds people for anyone, an exact name first, without organization fields when no namespace is given", async () => {
    const res = await api("GET", "/entities/sam");
    expect(res.status).toBe(200);
    // Quay endpoints/api/search.py EntitySearch user_view: name, kind, is_robot, avatar.
    expect(res.json).toEqual({
      results: [
        { name: "sam", kind: "user", is_robot: false, avatar: avatarMatching("sam", "user") },
        { name: "samuel", kind: "user", is_robot: false, avatar: avatarMatching("samuel", "user") },
      ],
    });
  });

  it("folds the prefix as Quay's unidecode does: accents and spaces go, case is ignored", async () => {
    const res = await api("GET", `/entities/${encodeURIComponent("Sá l")}`);
    expect(res.json.results.map((r: { name: string }) => r.name)).toEqual(["sally"]);
  });

  it("shows an organization's members its teams, robots, itself and who is in it", async () => {
    const teamsRes = await api("GET", `/entities/b?namespace=${ORG}&includeTeams=true`, { token: sally });
    // Quay entity_team_view: name, kind, is_org_member, avatar.
    expect(teamsRes.json.results).toEqual([
      { name: "builders", kind: "team", is_org_member: true, avatar: avatarMatching("builders", "team") },
    ]);
    const robots = await api("GET", `/entities/de?namespace=${ORG}`, { token: sally });
    expect(robots.json.results).toEqual([
      {
        name: `${ORG}+deployer`,
        kind: "user",
        is_robot: true,
        avatar: avatarMatching(`${ORG}+deployer`, "robot"),
        is_org_member: true,
      },
    ]);
    const people = await api("GET", `/entities/sa?namespace=${ORG}`, { token: sally });
    expect(people.json.results.map((r: { name: string; is_org_member: boolean }) => [r.name, r.is_org_member])).toEqual(
      [
        ["sally", true],
        ["sam", true],
        ["samuel", false],
      ],
    );
    const org = await api("GET", `/entities/search?namespace=${ORG}&includeOrgs=true`, { token: sally });
    expect(org.json.results).toEqual([
      { name: ORG, kind: "org", is_org_member: true, avatar: avatarMatching(ORG, "org") },
    ]);
  });

  it("shows outsiders, anonymous or signed in, none of an organization's teams, robots or members", async () => {
    for (const token of [undefined, sid, await tokenFor("sally", ["repo:read", "user:read"])]) {
      const path = (prefix: string) => `/entities/${prefix}?namespace=${ORG}&includeTeams=true&includeOrgs=true`;
      expect((await api("GET", path("b"), { token })).json.results).toEqual([]);
      expect((await api("GET", path("de"), { token })).json.results).toEqual([]);
      expect((await api("GET", path("search"), { token })).json.results).toEqual([]);
      const people = (await api("GET", path("sa"), { token })).json.results;
      expect(people.map((r: { is_org_member: boolean }) => r.is_org_member)).toEqual([false, false, false]);
    }
  });

  it("shows a user's robots to that user alone, with user:admin", async () => {
    const own = await api("GET", "/entities/he?namespace=sam", { token: sam });
    expect(own.json.results.map((r: { name: string }) => r.name)).toEqual(["sam+helper"]);
    expect((await api("GET", "/entities/he?namespace=sam", { token: sid })).json.results).toEqual([]);
    const readOnly = await tokenFor("sam", ["user:read", "repo:read"]);
    expect((await api("GET", "/entities/he?namespace=sam", { token: readOnly })).json.results).toEqual([]);
  });

  it("refuses a malformed flag (400) and a token that is none (401)", async () => {
    expectQuayError(await api("GET", "/entities/sa?includeTeams=maybe"), 400, "invalid_request");
    expectQuayError(await api("GET", "/entities/sa", { token: "not-a-token" }), 401, "invalid_token");
  });
});

describe("GET /find/repositories", () => {
  it("answers Quay's page of repository views, public ones for anonymous callers", async () => {
    const res = await api("GET", "/find/repositories?query=app");
    expect(res.status).toBe(200);
    // Quay endpoints/api/search.py ConductRepositorySearch: results, has_additional, page,
    // page_size, start_index; repo_result_view: kind, title, namespace (search_entity_view:
    // title, kind, avatar, name, score, href), name, description, is_public, score, href, then
    // last_modified (left out without tags), stars, popularity.
    expect(res.json).toEqual({
      results: [
        {
          kind: "repository",
          title: "repo",
          namespace: {
            title: "org",
            kind: "organization",
            avatar: avatarMatching(ORG, "org"),
            name: ORG,
            score: 1,
            href: `/organization/${ORG}`,
          },
          name: "public-app",
          description: "the web frontend",
          is_public: true,
          score: 4,
          href: `/repository/${ORG}/public-app`,
          stars: 1,
          popularity: 0,
        },
      ],
      has_additional: false,
      page: 1,
      page_size: 10,
      start_index: 0,
    });
  });

  it("adds the private repositories the caller reads, with repo:read only", async () => {
    const names = async (token?: string) =>
      (await api("GET", "/find/repositories?query=app", { token })).json.results.map((r: { name: string }) => r.name);
    expect(await names(sam)).toEqual(["public-app", "secret-app"]);
    expect(await names(sid)).toEqual(["public-app"]);
    expect(await names(await tokenFor("sam", ["user:read"]))).toEqual(["public-app"]);
  });

  it("pages by ten, clamps the page to 1…10, lists everything for an empty query, and shows last_modified once tagged", async () => {
    for (let i = 0; i < 11; i++) await newRepo(sam, "sam", `paged-${String(i).padStart(2, "0")}`, "public");
    const first = await api("GET", "/find/repositories?query=paged&page=0");
    expect(first.json).toMatchObject({ has_additional: true, page: 1, page_size: 10, start_index: 0 });
    expect(first.json.results).toHaveLength(10);
    const second = await api("GET", "/find/repositories?query=paged&page=2");
    expect(second.json).toMatchObject({ has_additional: false, page: 2, start_index: 10 });
    expect(second.json.results.map((r: { name: string }) => r.name)).toEqual(["paged-10"]);
    expect((await api("GET", "/find/repositories?query=paged&page=99")).json).toMatchObject({
      page: 10,
      start_index: 90,
    });
    expect((await api("GET", "/find/repositories")).json.results.length).toBe(10);
    expectQuayError(await api("GET", "/find/repositories?page=two"), 400, "invalid_request");

    const token = await registryToken([{ type: "repository", name: "sam/tagged", actions: ["pull", "push"] }], "sam");
    expect((await pushImageWith(token, "sam/tagged", "v1")).status).toBe(201);
    const tagged = (await api("GET", "/find/repositories?query=tagged", { token: sam })).json.results[0];
    expect(tagged.last_modified).toEqual(expect.any(Number));
  });
});

describe("GET /find/all", () => {
  it("finds nothing for an empty query", async () => {
    expect((await api("GET", "/find/all")).json).toEqual({ results: [] });
  });

  it("ranks teams, robots, repositories and namespaces by kind weight times the name's LiquidMetal score", async () => {
    const res = await api("GET", "/find/all?query=build", { token: sam });
    expect(res.status).toBe(200);
    // Quay conduct_team_search: kind, name, organization, avatar, score, href.
    expect(res.json.results).toEqual([
      {
        kind: "team",
        name: "builders",
        organization: expect.objectContaining({ kind: "organization", name: ORG, href: `/organization/${ORG}` }),
        avatar: avatarMatching("builders", "team"),
        score: 2 * liquidMetalScore("builders", "build"),
        href: `/organization/${ORG}/teams/builders`,
      },
    ]);
    const robots = await api("GET", "/find/all?query=help", { token: sam });
    // Quay search_entity_view of a robot: title, kind, avatar (none), name, score, href, short_name.
    expect(robots.json.results).toEqual([
      {
        title: "robot",
        kind: "robot",
        avatar: null,
        name: "sam+helper",
        score: liquidMetalScore("helper", "help"),
        href: "/user/sam?tab=robots&showRobot=sam+helper",
        short_name: "helper",
      },
    ]);
    const orgRobot = (await api("GET", "/find/all?query=deploy", { token: sam })).json.results;
    expect(orgRobot.map((r: { href: string }) => r.href)).toEqual([
      `/organization/${ORG}?tab=robots&showRobot=${ORG}+deployer`,
    ]);
    const mixed = (await api("GET", `/find/all?query=${ORG}`)).json.results as Array<{ kind: string; score: number }>;
    expect(mixed.map((r) => r.kind).sort()).toEqual(["organization", "repository"]);
    expect(mixed.map((r) => r.score)).toEqual([...mixed.map((r) => r.score)].sort((a, b) => b - a));
  });

  it("shows no one a team, robot or repository they may not see", async () => {
    const kinds = async (query: string, token?: string) =>
      (await api("GET", `/find/all?query=${query}`, { token })).json.results.map((r: { name: string }) => r.name);
    expect(await kinds("build", sid)).toEqual([]);
    expect(await kinds("deploy", sid)).toEqual([]);
    expect(await kinds("secret", sid)).toEqual([]);
    expect(await kinds("secret")).toEqual([]);
    expect(await kinds("secret", sam)).toEqual(["secret-app"]);
    // A member of the organization sees their own team, but not the robots only admins manage.
    expect(await kinds("build", sally)).toEqual(["builders"]);
    expect(await kinds("deploy", sally)).toEqual([]);
  });

  it("refuses a token without repo:read (403) and a token that is none (401)", async () => {
    expectQuayError(
      await api("GET", "/find/all?query=app", { token: await tokenFor("sam", ["user:read"]) }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("GET", "/find/all?query=app", { token: "not-a-token" }), 401, "invalid_token");
  });
});
