/**
 * Auto-prune policies (Quay `endpoints/api/policy.py`): every route for an organization, the
 * signed-in user and a repository, answering the documented commands of Quay's "Auto-pruning"
 * guide unchanged (same paths with their trailing slash, same bodies, same JSON), and every
 * refusal: bad method, value and pattern (ReDoS shapes included), duplicates, another scope's
 * policy, and who may not. The feature switched off hides every route.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { MAX_POLICIES } from "../../../src/registry/autoprune-policies";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { BASE } from "../helpers/registry";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ORG = "/organization/pruners/autoprunepolicy/";
const USER = "/user/autoprunepolicy/";
const REPO = "/repository/pruners/app/autoprunepolicy/";
/** Quay's docs: a repository of another user, on which the caller holds admin. */
const OTHER_REPO = "/repository/dora/tools/autoprunepolicy/";

let admin: string;
let ana: string; // admin of `pruners`
let ben: string; // a member of `pruners` (team role member) with write on pruners/app
let cid: string; // outsider
let dora: string; // owns dora/tools and gave ana admin on it

const create = async (path: string, body: unknown, token = ana) => {
  const res = await api("POST", path, { token, body });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.uuid as string;
};
const list = async (path: string, token = ana) => (await api("GET", path, { token })).json.policies;

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["ana", "ben", "cid", "dora"]) await makeUser(admin, name);
  [ana, ben, cid, dora] = await Promise.all([tokenFor("ana"), tokenFor("ben"), tokenFor("cid"), tokenFor("dora")]);
  expect((await api("POST", "/organization", { token: ana, body: { name: "pruners" } })).status).toBe(201);
  expect((await api("POST", "/organization", { token: ana, body: { name: "others" } })).status).toBe(201);
  await joinTeam("pruners", "devs", "member", "ben");
  for (const [token, namespace, repository] of [
    [ana, "pruners", "app"],
    [ana, "pruners", "lib"],
    [dora, "dora", "tools"],
  ] as const) {
    const res = await api("POST", "/repository", {
      token,
      body: { namespace, repository, visibility: "private", description: "" },
    });
    expect(res.status).toBe(201);
  }
  expect(
    (await api("PUT", "/repository/pruners/app/permissions/user/ben", { token: ana, body: { role: "write" } })).status,
  ).toBe(200);
  expect(
    (await api("PUT", "/repository/dora/tools/permissions/user/ana", { token: dora, body: { role: "admin" } })).status,
  ).toBe(200);
});

describe("the documented commands, answered unchanged", () => {
  it("organization: create, list, update, get and delete as Quay's guide shows them", async () => {
    const count = await create(ORG, { method: "number_of_tags", value: 10 });
    expect(count).toMatch(UUID);
    const age = await create(ORG, { method: "creation_date", value: "7d" });
    const matching = await create(ORG, {
      method: "creation_date",
      value: "7d",
      tagPattern: "^v*",
      tagPatternMatches: true,
    });
    expect(await list(ORG)).toEqual([
      { uuid: count, method: "number_of_tags", value: 10, tagPattern: null, tagPatternMatches: true },
      { uuid: age, method: "creation_date", value: "7d", tagPattern: null, tagPatternMatches: true },
      { uuid: matching, method: "creation_date", value: "7d", tagPattern: "^v*", tagPatternMatches: true },
    ]);
    // `PUT …/{policy_uuid}` "does not return output".
    const put = await api("PUT", `${ORG}${matching}`, {
      token: ana,
      body: { method: "creation_date", value: "4d", tagPattern: "^v*", tagPatternMatches: true },
    });
    expect(put.status).toBe(204);
    expect(put.json).toBeNull();
    const one = await api("GET", `${ORG}${matching}`, { token: ana });
    expect(one.status).toBe(200);
    expect(one.json).toEqual({
      uuid: matching,
      method: "creation_date",
      value: "4d",
      tagPattern: "^v*",
      tagPatternMatches: true,
    });
    for (const uuid of [count, age, matching]) {
      const deleted = await api("DELETE", `${ORG}${uuid}`, { token: ana });
      expect(deleted.status).toBe(200);
      expect(deleted.json).toEqual({ uuid });
    }
    expect(await list(ORG)).toEqual([]);
    expectQuayError(await api("GET", `${ORG}${count}`, { token: ana }), 404, "not_found");
  });

  it("the current user: create, list, get one, update and delete", async () => {
    const uuid = await create(USER, { method: "number_of_tags", value: 10 }, cid);
    expect(await list(USER, cid)).toEqual([
      { uuid, method: "number_of_tags", value: 10, tagPattern: null, tagPatternMatches: true },
    ]);
    expect((await api("GET", `${USER}${uuid}`, { token: cid })).json).toEqual({
      uuid,
      method: "number_of_tags",
      value: 10,
      tagPattern: null,
      tagPatternMatches: true,
    });
    // Quay's docs show no PUT for the user's namespace; Quay serves one.
    expect(
      (
        await api("PUT", `${USER}${uuid}`, {
          token: cid,
          body: { method: "creation_date", value: "2w", tagPattern: "-dev$", tagPatternMatches: false },
        })
      ).status,
    ).toBe(204);
    expect((await api("GET", `${USER}${uuid}`, { token: cid })).json).toEqual({
      uuid,
      method: "creation_date",
      value: "2w",
      tagPattern: "-dev$",
      tagPatternMatches: false,
    });
    expect((await api("DELETE", `${USER}${uuid}`, { token: cid })).json).toEqual({ uuid });
    expect(await list(USER, cid)).toEqual([]);
  });

  it('repository: create, list, update (value "5" as the guide sends it), get and delete', async () => {
    const count = await create(REPO, { method: "number_of_tags", value: 2 });
    const age = await create(REPO, { method: "creation_date", value: "7d" });
    const excluding = await create(REPO, {
      method: "creation_date",
      value: "7d",
      tagPattern: "^test.*",
      tagPatternMatches: false,
    });
    expect(
      (
        await api("PUT", `${REPO}${count}`, {
          token: ana,
          body: { method: "number_of_tags", value: "5", tagPattern: "^test.*", tagPatternMatches: true },
        })
      ).status,
    ).toBe(204);
    expect(await list(REPO)).toEqual([
      { uuid: count, method: "number_of_tags", value: 5, tagPattern: "^test.*", tagPatternMatches: true },
      { uuid: age, method: "creation_date", value: "7d", tagPattern: null, tagPatternMatches: true },
      { uuid: excluding, method: "creation_date", value: "7d", tagPattern: "^test.*", tagPatternMatches: false },
    ]);
    expect((await api("GET", `${REPO}${age}`, { token: ana })).json).toEqual({
      uuid: age,
      method: "creation_date",
      value: "7d",
      tagPattern: null,
      tagPatternMatches: true,
    });
    for (const uuid of [count, age, excluding])
      expect((await api("DELETE", `${REPO}${uuid}`, { token: ana })).json).toEqual({ uuid });
    expect(await list(REPO)).toEqual([]);
  });

  it("another user's repository, by its admin", async () => {
    const uuid = await create(OTHER_REPO, { method: "number_of_tags", value: 2 });
    const patterned = await create(OTHER_REPO, {
      method: "creation_date",
      value: "7d",
      tagPattern: "^v*",
      tagPatternMatches: true,
    });
    expect(
      (
        await api("PUT", `${OTHER_REPO}${patterned}`, {
          token: ana,
          body: { method: "creation_date", value: "4d", tagPattern: "^test.", tagPatternMatches: true },
        })
      ).status,
    ).toBe(204);
    expect((await api("GET", `${OTHER_REPO}${patterned}`, { token: ana })).json).toEqual({
      uuid: patterned,
      method: "creation_date",
      value: "4d",
      tagPattern: "^test.",
      tagPatternMatches: true,
    });
    expect((await list(OTHER_REPO, dora)).map((p: { uuid: string }) => p.uuid)).toEqual([uuid, patterned]);
    for (const id of [uuid, patterned])
      expect((await api("DELETE", `${OTHER_REPO}${id}`, { token: ana })).json).toEqual({ uuid: id });
  });

  it("answers with and without the trailing slash", async () => {
    const uuid = await create("/organization/pruners/autoprunepolicy", { method: "number_of_tags", value: 3 });
    expect((await list("/organization/pruners/autoprunepolicy")).map((p: { uuid: string }) => p.uuid)).toEqual([uuid]);
    expect((await api("GET", `${ORG}${uuid}/`, { token: ana })).json.uuid).toBe(uuid);
    expect((await api("DELETE", `${ORG}${uuid}`, { token: ana })).status).toBe(200);
  });
});

describe("refused policies (Quay's 400 invalid_request)", () => {
  const CASES: Array<[string, Record<string, unknown>, RegExp]> = [
    ["no method", { value: 10 }, /^Missing the following parameters: method, value$/],
    ["no value", { method: "number_of_tags" }, /^Missing the following parameters: method, value$/],
    ["an unknown method", { method: "by_size", value: 10 }, /^Invalid method provided$/],
    ["zero tags", { method: "number_of_tags", value: 0 }, /^Invalid value given for method type$/],
    ["a negative count", { method: "number_of_tags", value: -3 }, /^Invalid value given for method type$/],
    ["a fractional count", { method: "number_of_tags", value: 2.5 }, /^Invalid value given for method type$/],
    ["a count in words", { method: "number_of_tags", value: "ten" }, /^Invalid value given for method type$/],
    ["a span for a count", { method: "number_of_tags", value: "7d" }, /^Invalid value given for method type$/],
    ["a number for a span", { method: "creation_date", value: 7 }, /^Invalid value given for method type$/],
    ["an unknown unit", { method: "creation_date", value: "7x" }, /^Invalid value given for method type$/],
    ["a span without a number", { method: "creation_date", value: "d" }, /^Invalid value given for method type$/],
    ["an empty pattern", { method: "creation_date", value: "7d", tagPattern: "   " }, /^tag_pattern cannot be empty$/],
    ["a pattern that is not a string", { method: "creation_date", value: "7d", tagPattern: 5 }, /tagPattern/],
    [
      "tagPatternMatches that is not a boolean",
      { method: "creation_date", value: "7d", tagPattern: "^v", tagPatternMatches: "yes" },
      /tagPatternMatches/,
    ],
    ["a value that is neither number nor string", { method: "number_of_tags", value: true }, /value/],
    [
      "an invalid pattern",
      { method: "number_of_tags", value: 3, tagPattern: "(abc" },
      /^Invalid tagPattern: missing \)/,
    ],
    [
      "(a+)+",
      { method: "number_of_tags", value: 3, tagPattern: "(a+)+" },
      /^Invalid tagPattern: a repeated group may not contain a quantifier/,
    ],
    [
      "(a|a)*",
      { method: "number_of_tags", value: 3, tagPattern: "^(a|a)*$" },
      /^Invalid tagPattern: a repeated group may not contain/,
    ],
    [
      "(.*)*",
      { method: "creation_date", value: "1d", tagPattern: "(.*)*x" },
      /^Invalid tagPattern: a repeated group may not contain/,
    ],
    [
      "a backreference",
      { method: "creation_date", value: "1d", tagPattern: "(a)\\1" },
      /^Invalid tagPattern: backreferences are not allowed/,
    ],
    [
      "a lookahead",
      { method: "creation_date", value: "1d", tagPattern: "^(?!keep)" },
      /^Invalid tagPattern: lookaround assertions are not allowed/,
    ],
    [
      "a long pattern",
      { method: "creation_date", value: "1d", tagPattern: "a".repeat(257) },
      /^Invalid tagPattern: longer than 256 characters/,
    ],
  ];

  it.each(CASES)("%s", async (_label, body, message) => {
    for (const path of [ORG, USER, REPO]) {
      const before = await list(path);
      expectQuayError(await api("POST", path, { token: ana, body }), 400, "invalid_request", message);
      expect(await list(path)).toEqual(before);
    }
  });

  it("refuses invalid values on update, leaving the policy as it was", async () => {
    const uuid = await create(REPO, { method: "number_of_tags", value: 4 });
    expectQuayError(
      await api("PUT", `${REPO}${uuid}`, {
        token: ana,
        body: { method: "number_of_tags", value: 4, tagPattern: "(x+)*" },
      }),
      400,
      "invalid_request",
      /^Invalid tagPattern/,
    );
    expectQuayError(
      await api("PUT", `${REPO}${uuid}`, { token: ana, body: { value: 4 } }),
      400,
      "invalid_request",
      /^Missing the following parameters/,
    );
    expect((await api("GET", `${REPO}${uuid}`, { token: ana })).json).toMatchObject({ value: 4, tagPattern: null });
    await api("DELETE", `${REPO}${uuid}`, { token: ana });
  });

  it("refuses a duplicate (same method, value, pattern and matching), in Quay's words", async () => {
    const uuid = await create(ORG, { method: "number_of_tags", value: 7, tagPattern: "^v", tagPatternMatches: false });
    expectQuayError(
      await api("POST", ORG, {
        token: ana,
        body: { method: "number_of_tags", value: 7, tagPattern: " ^v ", tagPatternMatches: false },
      }),
      400,
      "invalid_request",
      "Existing policy with same values for this namespace, duplicate policies are not permitted",
    );
    // The same values in another scope, or with the other matching, are no duplicates.
    const other = await create(ORG, { method: "number_of_tags", value: 7, tagPattern: "^v", tagPatternMatches: true });
    const inRepository = await create(REPO, {
      method: "number_of_tags",
      value: 7,
      tagPattern: "^v",
      tagPatternMatches: false,
    });
    expectQuayError(
      await api("POST", REPO, {
        token: ana,
        body: { method: "number_of_tags", value: "7", tagPattern: "^v", tagPatternMatches: false },
      }),
      400,
      "invalid_request",
      "Existing policy with same values for this repository, duplicate policies are not permitted",
    );
    for (const [path, id] of [
      [ORG, uuid],
      [ORG, other],
      [REPO, inRepository],
    ] as const)
      await api("DELETE", `${path}${id}`, { token: ana });
  });

  it(`holds at most ${MAX_POLICIES} policies per namespace`, async () => {
    const made: string[] = [];
    for (let n = 1; n <= MAX_POLICIES; n++) made.push(await create(USER, { method: "number_of_tags", value: n }, ben));
    expectQuayError(
      await api("POST", USER, { token: ben, body: { method: "number_of_tags", value: 1000 } }),
      400,
      "invalid_request",
      /at most 25 auto-prune policies/,
    );
    for (const uuid of made) await api("DELETE", `${USER}${uuid}`, { token: ben });
  });
});

describe("whose policy it is", () => {
  it("another scope's policy is 404 on every route, and stays", async () => {
    const mine = await create(USER, { method: "number_of_tags", value: 5 }, cid);
    const org = await create(ORG, { method: "number_of_tags", value: 5 });
    const repo = await create(REPO, { method: "number_of_tags", value: 5 });
    const elsewhere: Array<[string, string, string]> = [
      [USER, org, "ana"], // an organization's policy through the user's routes (ana administers it)
      ["/organization/others/autoprunepolicy/", org, "ana"], // another organization of the same admin
      ["/repository/pruners/lib/autoprunepolicy/", repo, "ana"], // another repository of the namespace
      [ORG, repo, "ana"], // a repository's policy through its namespace's routes
      [REPO, org, "ana"],
      [USER, mine, "ana"], // another user's
    ];
    for (const [path, uuid] of elsewhere) {
      expectQuayError(await api("GET", `${path}${uuid}`, { token: ana }), 404, "not_found");
      expectQuayError(
        await api("PUT", `${path}${uuid}`, { token: ana, body: { method: "number_of_tags", value: 1 } }),
        404,
        "not_found",
      );
      expectQuayError(await api("DELETE", `${path}${uuid}`, { token: ana }), 404, "not_found");
    }
    expect((await list(USER, cid)).map((p: { value: number }) => p.value)).toEqual([5]);
    expect((await list(ORG)).map((p: { uuid: string }) => p.uuid)).toEqual([org]);
    expect((await list(REPO)).map((p: { uuid: string }) => p.uuid)).toEqual([repo]);
    expect(await list("/organization/others/autoprunepolicy/")).toEqual([]);
    expect(await list(USER)).toEqual([]);
    await api("DELETE", `${USER}${mine}`, { token: cid });
    await api("DELETE", `${ORG}${org}`, { token: ana });
    await api("DELETE", `${REPO}${repo}`, { token: ana });
  });

  it("an unknown uuid is 404 for the one who may administer", async () => {
    for (const path of [ORG, USER, REPO])
      expectQuayError(
        await api("GET", `${path}00000000-0000-4000-8000-000000000000`, { token: ana }),
        404,
        "not_found",
      );
  });

  it("a repository that does not exist is 404 for its namespace's admin", async () => {
    expectQuayError(await api("GET", "/repository/pruners/nothing/autoprunepolicy/", { token: ana }), 404, "not_found");
  });
});

describe("who may not", () => {
  const body = { method: "number_of_tags", value: 9 };

  it("organizations: a member, an outsider and the superuser get 403, as for an organization that does not exist", async () => {
    const uuid = await create(ORG, body);
    for (const token of [ben, cid, admin]) {
      for (const org of ["pruners", "no-such-org"]) {
        const base = `/organization/${org}/autoprunepolicy/`;
        expectQuayError(await api("GET", base, { token }), 403, "insufficient_scope");
        expectQuayError(await api("POST", base, { token, body: { ...body, value: 8 } }), 403, "insufficient_scope");
        expectQuayError(await api("GET", `${base}${uuid}`, { token }), 403, "insufficient_scope");
        expectQuayError(await api("PUT", `${base}${uuid}`, { token, body }), 403, "insufficient_scope");
        expectQuayError(await api("DELETE", `${base}${uuid}`, { token }), 403, "insufficient_scope");
      }
    }
    expect((await list(ORG)).map((p: { uuid: string; value: number }) => [p.uuid, p.value])).toEqual([[uuid, 9]]);
    await api("DELETE", `${ORG}${uuid}`, { token: ana });
  });

  it("repositories: a writer, an outsider and the superuser get 403, as for a repository that does not exist", async () => {
    const uuid = await create(REPO, body);
    for (const token of [ben, cid, admin]) {
      for (const base of [REPO, "/repository/pruners/no-such-app/autoprunepolicy/"]) {
        expectQuayError(await api("GET", base, { token }), 403, "insufficient_scope");
        expectQuayError(await api("POST", base, { token, body: { ...body, value: 8 } }), 403, "insufficient_scope");
        expectQuayError(await api("GET", `${base}${uuid}`, { token }), 403, "insufficient_scope");
        expectQuayError(await api("PUT", `${base}${uuid}`, { token, body }), 403, "insufficient_scope");
        expectQuayError(await api("DELETE", `${base}${uuid}`, { token }), 403, "insufficient_scope");
      }
    }
    expect((await list(REPO)).map((p: { value: number }) => p.value)).toEqual([9]);
    await api("DELETE", `${REPO}${uuid}`, { token: ana });
  });

  it("needs org:admin, user:admin or repo:admin on the token (403), and a credential (401)", async () => {
    const without = await tokenFor("ana", ["repo:read", "repo:write", "repo:create", "user:read"]);
    for (const path of [ORG, USER, REPO]) {
      expectQuayError(await api("GET", path, { token: without }), 403, "insufficient_scope");
      expectQuayError(await api("POST", path, { token: without, body }), 403, "insufficient_scope");
      expectQuayError(await api("GET", path), 401, "invalid_token");
      expectQuayError(await api("POST", path, { body }), 401, "invalid_token");
      expectQuayError(await api("GET", path, { token: "not-a-token" }), 401, "invalid_token");
    }
    for (const path of [ORG, USER, REPO]) expect(await list(path)).toEqual([]);
  });
});

describe("FEATURE_AUTO_PRUNE off", () => {
  /** The Worker with FEATURE_AUTO_PRUNE = "false", as an operator would configure it. */
  async function withoutFeature(method: string, path: string, body?: unknown) {
    const ctx = createExecutionContext();
    const headers: Record<string, string> = { Authorization: `Bearer ${ana}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await createApp().fetch(
      new Request(`${BASE}/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      { ...env, FEATURE_AUTO_PRUNE: "false" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return { status: res.status, json: (await res.json()) as { error_type: string } };
  }

  it("hides every route (404), as Quay registers none of them", async () => {
    const uuid = await create(ORG, { method: "number_of_tags", value: 11 });
    for (const path of [ORG, USER, REPO]) {
      for (const [method, target, body] of [
        ["GET", path, undefined],
        ["POST", path, { method: "number_of_tags", value: 12 }],
        ["GET", `${path}${uuid}`, undefined],
        ["PUT", `${path}${uuid}`, { method: "number_of_tags", value: 12 }],
        ["DELETE", `${path}${uuid}`, undefined],
      ] as const) {
        const res = await withoutFeature(method, target, body);
        expect([res.status, res.json.error_type], `${method} ${target}`).toEqual([404, "not_found"]);
      }
    }
    expect((await list(ORG)).map((p: { value: number }) => p.value)).toEqual([11]);
    await api("DELETE", `${ORG}${uuid}`, { token: ana });
  });
});

describe("GET /api/v1/openapi.json", () => {
  it("describes every auto-prune route with Quay's operation ids and scopes", async () => {
    const { paths } = (await api("GET", "/openapi.json")).json;
    const expected: Array<[string, string, string, string]> = [];
    for (const [path, kind, scope] of [
      ["/api/v1/organization/{orgname}/autoprunepolicy", "Organization", "org:admin"],
      ["/api/v1/user/autoprunepolicy", "User", "user:admin"],
      ["/api/v1/repository/{repository}/autoprunepolicy", "Repository", "repo:admin"],
    ] as const) {
      expected.push(
        [path, "get", `list${kind}AutoPrunePolicies`, scope],
        [path, "post", `create${kind}AutoPrunePolicy`, scope],
      );
      for (const [method, verb] of [
        ["get", "get"],
        ["put", "update"],
        ["delete", "delete"],
      ] as const) {
        expected.push([`${path}/{policy_uuid}`, method, `${verb}${kind}AutoPrunePolicy`, scope]);
      }
    }
    for (const [path, method, operationId, scope] of expected) {
      expect(paths[path]?.[method], `${method} ${path}`).toMatchObject({
        operationId,
        security: [{ oauth2_implicit: [scope] }, { bearer: [scope] }],
      });
    }
  });
});
