/**
 * Immutability policies (Quay `endpoints/api/immutability_policy.py`, `data/model/immutability.py`):
 * every operation for an organization and a repository with Quay's JSON, what a policy does to
 * tags pushed, created or moved after it (and to those already there), and every refusal: empty,
 * long, invalid and unsafe patterns, duplicates, another scope's policy, and who may not.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { joinTeam, makeUser, pushImageWith, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { errorCode, registryToken } from "../helpers/registry";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ORG = "/organization/vault/immutabilitypolicy/";
const repoPolicies = (name: string) => `/repository/${name}/immutabilitypolicy/`;

let ana: string; // admin of `vault`
let ben: string; // a member of `vault` with write on vault/app
let cid: string; // outsider

async function push(name: string, tag: string): Promise<Response> {
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push", "delete"] }], "ana");
  return pushImageWith(token, name, tag);
}
async function pushed(name: string, tag: string): Promise<string> {
  const res = await push(name, tag);
  expect(res.status).toBe(201);
  return res.headers.get("Docker-Content-Digest")!;
}
/** Whether the alive tag is immutable, from the tag API. */
async function immutable(name: string, tag: string): Promise<boolean> {
  const res = await api("GET", `/repository/${name}/tag/?onlyActiveTags=true&specificTag=${tag}`, { token: ana });
  expect(res.json.tags).toHaveLength(1);
  return res.json.tags[0].immutable;
}
const create = async (path: string, body: unknown, token = ana) => {
  const res = await api("POST", path, { token, body });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.uuid as string;
};

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["ana", "ben", "cid"]) await makeUser(admin, name);
  [ana, ben, cid] = await Promise.all([tokenFor("ana"), tokenFor("ben"), tokenFor("cid")]);
  expect((await api("POST", "/organization", { token: ana, body: { name: "vault" } })).status).toBe(201);
  expect((await api("POST", "/organization", { token: ana, body: { name: "other" } })).status).toBe(201);
  await joinTeam("vault", "devs", "member", "ben");
  for (const repository of ["app", "lib", "rules"]) {
    const body = { namespace: "vault", repository, visibility: "private", description: "" };
    expect((await api("POST", "/repository", { token: ana, body })).status).toBe(201);
  }
  const grant = { token: ana, body: { role: "write" } };
  expect((await api("PUT", "/repository/vault/app/permissions/user/ben", grant)).status).toBe(200);
});

describe("organization policies", () => {
  it("create, list, get, update and delete in Quay's JSON, with Quay's log kinds", async () => {
    const events = recordEvents();
    const uuid = await create(ORG, { tagPattern: "  ^v[0-9]+\\.[0-9]+$  " });
    expect(uuid).toMatch(UUID);
    // Quay's get_view: uuid, tagPattern (stripped), tagPatternMatches (default true).
    const view = { uuid, tagPattern: "^v[0-9]+\\.[0-9]+$", tagPatternMatches: true };
    expect((await api("GET", ORG, { token: ana })).json).toEqual({ policies: [view] });
    expect((await api("GET", `${ORG}${uuid}`, { token: ana })).json).toEqual(view);

    const put = await api("PUT", `${ORG}${uuid}`, {
      token: ana,
      body: { tagPattern: "stable", tagPatternMatches: false },
    });
    expect(put.status).toBe(204);
    expect((await api("GET", `${ORG}${uuid}`, { token: ana })).json).toEqual({
      uuid,
      tagPattern: "stable",
      tagPatternMatches: false,
    });
    const deleted = await api("DELETE", `${ORG}${uuid}`, { token: ana });
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ uuid });
    expect((await api("GET", ORG, { token: ana })).json).toEqual({ policies: [] });
    expectQuayError(await api("GET", `${ORG}${uuid}`, { token: ana }), 404, "not_found");
    expectQuayError(await api("DELETE", `${ORG}${uuid}`, { token: ana }), 404, "not_found");

    const kinds = (await events.published()).map((e) => e.kind).filter((k) => k.endsWith("_immutability_policy"));
    expect(kinds).toEqual(["create_immutability_policy", "update_immutability_policy", "delete_immutability_policy"]);
  });

  it("refuses bad patterns with Quay's messages, and duplicates", async () => {
    const refused = async (body: unknown, message: string | RegExp) =>
      expectQuayError(await api("POST", ORG, { token: ana, body }), 400, "invalid_request", message);
    await refused({ tagPattern: "   " }, "tag_pattern is required and must be a non-empty string");
    await refused({ tagPattern: "a".repeat(257) }, "tag_pattern must be 256 characters or less");
    await refused({ tagPattern: "v[0-9" }, /^Invalid regex pattern: /);
    // Safe to run anywhere: shapes a backtracking engine would take exponential time on are refused.
    await refused({ tagPattern: "(a+)+$" }, /^Invalid regex pattern: /);
    await refused({ tagPattern: "(x)\\1" }, /^Invalid regex pattern: /);
    await refused({}, /tagPattern/);
    await refused({ tagPattern: "ok", tagPatternMatches: "yes" }, /tagPatternMatches/);
    const uuid = await create(ORG, { tagPattern: "dup" });
    await refused({ tagPattern: "dup", tagPatternMatches: false }, "A policy with the same tag_pattern already exists");
    const other = await create(ORG, { tagPattern: "other" });
    const clash = await api("PUT", `${ORG}${other}`, { token: ana, body: { tagPattern: "dup" } });
    expectQuayError(clash, 400, "invalid_request", "A policy with the same tag_pattern already exists");
    for (const id of [uuid, other]) await api("DELETE", `${ORG}${id}`, { token: ana });
  });

  it("is for the organization's admins with org:admin: 401, then 403 whether or not it exists", async () => {
    expectQuayError(await api("GET", ORG), 401, "invalid_token");
    expectQuayError(await api("GET", ORG, { token: ben }), 403, "insufficient_scope");
    expectQuayError(await api("POST", ORG, { token: ben, body: { tagPattern: "x" } }), 403, "insufficient_scope");
    expectQuayError(await api("GET", ORG, { token: cid }), 403, "insufficient_scope");
    expectQuayError(
      await api("GET", "/organization/nowhere/immutabilitypolicy/", { token: cid }),
      403,
      "insufficient_scope",
    );
    const repoOnly = await tokenFor("ana", ["repo:admin", "repo:read"]);
    expectQuayError(await api("GET", ORG, { token: repoOnly }), 403, "insufficient_scope");
    const theirs = await create("/organization/other/immutabilitypolicy/", { tagPattern: "x" });
    expectQuayError(await api("GET", `${ORG}${theirs}`, { token: ana }), 404, "not_found");
  });

  it("marks the tags it covers in every repository of the organization, and tags pushed after it", async () => {
    await pushed("vault/lib", "v1.0");
    await pushed("vault/rules", "v2.0");
    await pushed("vault/rules", "latest");
    const events = recordEvents();
    const uuid = await create(ORG, { tagPattern: "v[0-9]" });
    expect(await immutable("vault/lib", "v1.0")).toBe(true);
    expect(await immutable("vault/rules", "v2.0")).toBe(true);
    expect(await immutable("vault/rules", "latest")).toBe(false);
    const marked = await events.published("tags_made_immutable_by_policy");
    expect(marked.map((e) => [e.repository?.name, e.data.count, e.data.tags]).sort()).toEqual([
      ["vault/lib", 1, ["v1.0"]],
      ["vault/rules", 1, ["v2.0"]],
    ]);

    await pushed("vault/lib", "v3.1");
    expect(await immutable("vault/lib", "v3.1")).toBe(true);
    // Matched from the start, as Python's re.match: "x-v1" is not covered.
    await pushed("vault/lib", "x-v1");
    expect(await immutable("vault/lib", "x-v1")).toBe(false);
    // A covered tag cannot be overwritten by a push (DENIED), moved or deleted through the API.
    const again = await push("vault/lib", "v3.1");
    expect(again.status).toBe(403);
    expect(await errorCode(again)).toBe("DENIED");
    expectQuayError(await api("DELETE", "/repository/vault/lib/tag/v3.1", { token: ana }), 400, "invalid_request");
    // Deleting the policy leaves the tags immutable, as in Quay.
    await api("DELETE", `${ORG}${uuid}`, { token: ana });
    expect(await immutable("vault/lib", "v1.0")).toBe(true);
    await pushed("vault/lib", "v9.9");
    expect(await immutable("vault/lib", "v9.9")).toBe(false);
  });
});

describe("repository policies", () => {
  const REPO = repoPolicies("vault/app");

  it("create, list, get, update and delete in Quay's JSON", async () => {
    const uuid = await create(REPO, { tagPattern: "^prod-", tagPatternMatches: true });
    const view = { uuid, tagPattern: "^prod-", tagPatternMatches: true };
    expect((await api("GET", REPO, { token: ana })).json).toEqual({ policies: [view] });
    expect((await api("GET", `${REPO}${uuid}`, { token: ana })).json).toEqual(view);
    expect((await api("PUT", `${REPO}${uuid}`, { token: ana, body: { tagPattern: "^release-" } })).status).toBe(204);
    expect((await api("GET", `${REPO}${uuid}`, { token: ana })).json.tagPattern).toBe("^release-");
    expect((await api("DELETE", `${REPO}${uuid}`, { token: ana })).json).toEqual({ uuid });
    expectQuayError(await api("PUT", `${REPO}${uuid}`, { token: ana, body: { tagPattern: "x" } }), 404, "not_found");
    // Another repository's policy is not this one's.
    const libs = await create(repoPolicies("vault/lib"), { tagPattern: "lib" });
    expectQuayError(await api("GET", `${REPO}${libs}`, { token: ana }), 404, "not_found");
  });

  it("with tagPatternMatches false makes every tag but the matching ones immutable, on API tag writes too", async () => {
    await pushed("vault/app", "keep");
    const digest = await pushed("vault/app", "dev-1");
    const uuid = await create(REPO, { tagPattern: "dev-", tagPatternMatches: false });
    expect(await immutable("vault/app", "keep")).toBe(true);
    expect(await immutable("vault/app", "dev-1")).toBe(false);
    const made = await api("PUT", "/repository/vault/app/tag/copy", { token: ana, body: { manifest_digest: digest } });
    expect(made.status).toBe(201);
    expect(await immutable("vault/app", "copy")).toBe(true);
    expect(
      (await api("PUT", "/repository/vault/app/tag/dev-2", { token: ana, body: { manifest_digest: digest } })).status,
    ).toBe(201);
    expect(await immutable("vault/app", "dev-2")).toBe(false);
    await api("DELETE", `${REPO}${uuid}`, { token: ana });
  });

  it("covers a tag restored from the time machine, as any tag pointed anew", async () => {
    const digest = await pushed("vault/rules", "rel-a");
    expect((await api("DELETE", "/repository/vault/rules/tag/rel-a", { token: ana })).status).toBe(204);
    const uuid = await create(repoPolicies("vault/rules"), { tagPattern: "rel-" });
    const restored = await api("POST", "/repository/vault/rules/tag/rel-a/restore", {
      token: ana,
      body: { manifest_digest: digest },
    });
    expect(restored.status).toBe(200);
    expect(await immutable("vault/rules", "rel-a")).toBe(true);
    await api("DELETE", `${repoPolicies("vault/rules")}${uuid}`, { token: ana });
  });

  it("is for the repository's admins with repo:admin: 401, 403 whether or not it exists, then 404", async () => {
    expectQuayError(await api("GET", REPO), 401, "invalid_token");
    expectQuayError(await api("GET", REPO, { token: ben }), 403, "insufficient_scope");
    expectQuayError(await api("POST", REPO, { token: ben, body: { tagPattern: "x" } }), 403, "insufficient_scope");
    expectQuayError(await api("GET", REPO, { token: cid }), 403, "insufficient_scope");
    expectQuayError(await api("GET", repoPolicies("vault/missing"), { token: cid }), 403, "insufficient_scope");
    expectQuayError(await api("GET", repoPolicies("vault/missing"), { token: ana }), 404, "not_found");
    const readOnly = await tokenFor("ana", ["repo:read", "repo:write"]);
    expectQuayError(await api("GET", REPO, { token: readOnly }), 403, "insufficient_scope");
  });
});
