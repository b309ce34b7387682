/**
 * Issue #12, item 1: one parse of a repository name. A single-component name `owner` was stored
 * under namespace `owne` while permissions were checked for `owner`, so the owner of an
 * organization `owne` got pull, push and delete on it. With Quay's FEATURE_LIBRARY_SUPPORT `foo`
 * means `library/foo` on /v2, in token scopes and in the API; without it such names are refused.
 */
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { repositories } from "../../../src/db/schema";
import { findRepository } from "../../../src/registry/repositories";
import { canonicalRepositoryName, parseRepositoryName, splitName } from "../../../src/registry/repository-name";
import { basic, db, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { BASE, errorCode, request } from "../helpers/registry";

const LIBRARY = { librarySupport: true, libraryNamespace: "library" };

let admin: string;
const passwords: Record<string, string> = {};

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["owner", "mallory", "lib"]) passwords[name] = await makeUser(admin, name);
  // `library` is an organization administered by `lib`, as an operator would set it up.
  expect(
    (
      await api("POST", "/organization/", {
        token: await tokenFor("lib"),
        body: { name: "library", email: "library@example.com" },
      })
    ).status,
  ).toBe(201);
});

describe("parseRepositoryName", () => {
  it("gives every name a namespace, or refuses it", () => {
    expect(parseRepositoryName("owner", LIBRARY)).toEqual({ ok: true, name: "library/owner" });
    expect(parseRepositoryName("team/app", LIBRARY)).toEqual({ ok: true, name: "team/app" });
    expect(parseRepositoryName("a/b/c", LIBRARY)).toEqual({ ok: true, name: "a/b/c" });
    expect(parseRepositoryName("owner", { ...LIBRARY, librarySupport: false })).toEqual({
      ok: false,
      reason: "implicit_library",
    });
    expect(parseRepositoryName("Owner", LIBRARY)).toEqual({ ok: false, reason: "invalid" });
    expect(parseRepositoryName("/owner", LIBRARY)).toEqual({ ok: false, reason: "invalid" });
    expect(parseRepositoryName(undefined, LIBRARY)).toEqual({ ok: false, reason: "invalid" });
    // The length limit counts the canonical name: 250 characters plus `library/` is too long.
    expect(canonicalRepositoryName("a".repeat(250), LIBRARY)).toBeNull();
    expect(canonicalRepositoryName("a".repeat(247), LIBRARY)).toBe(`library/${"a".repeat(247)}`);
  });

  it("splitName never guesses a namespace", () => {
    expect(splitName("team/app/x")).toEqual(["team", "app/x"]);
    expect(() => splitName("owner")).toThrow(/canonical/);
  });
});

describe("a single-component name on /v2", () => {
  it("is library/<name>: the owner of `owner` gets nothing on it, and `owne`'s owner cannot reach it", async () => {
    // The attack: `owner` pushes `<host>/owner:1`; `owne` makes an organization `owne` with a default
    // permission for themselves and asks for everything on `owner`.
    const owner = await v2Token(basic("owner", passwords.owner!), "repository:owner:pull,push,delete");
    expect(decodeJwt(owner.token).access).toEqual([{ type: "repository", name: "library/owner", actions: [] }]);
    const refused = await pushImageWith(owner.token, "owner", "1");
    expect(refused.status).toBe(401);
    expect(await findRepository(db(), "library/owner")).toBeUndefined();
    const rows = await db().select({ name: repositories.name }).from(repositories).all();
    expect(rows.filter((r) => r.name === "owner" || r.name.startsWith("owne/"))).toEqual([]);

    // The attacker's organization `owne`, with a default permission giving them admin on every new repository.
    const mallory = await tokenFor("mallory");
    expect(
      (await api("POST", "/organization/", { token: mallory, body: { name: "owne", email: "owne@example.com" } }))
        .status,
    ).toBe(201);
    const prototype = await api("POST", "/organization/owne/prototypes", {
      token: mallory,
      body: { role: "admin", delegate: { name: "mallory", kind: "user" } },
    });
    expect(prototype.status).toBe(200);
    const attacker = await v2Token(basic("mallory", passwords.mallory!), "repository:owner:pull,push,delete");
    expect(attacker.actions).toEqual([]);
  });

  it("is pushed and pulled as library/<name> by the library's admins, under either spelling", async () => {
    const lib = await v2Token(basic("lib", passwords.lib!), "repository:tool:pull,push,delete");
    expect(decodeJwt(lib.token).access).toEqual([
      { type: "repository", name: "library/tool", actions: ["pull", "push", "delete"] },
    ]);
    const pushed = await pushImageWith(lib.token, "tool", "1");
    expect(pushed.status, await pushed.clone().text()).toBe(201);
    const stored = (await findRepository(db(), "library/tool"))!;
    expect(stored).toMatchObject({ name: "library/tool", namespace: "library" });
    // Both spellings reach the same manifest with the same token.
    const short = await request("GET", "/v2/tool/manifests/1", {
      token: lib.token,
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    const long = await request("GET", "/v2/library/tool/manifests/1", {
      token: lib.token,
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(short.status).toBe(200);
    expect(long.headers.get("Docker-Content-Digest")).toBe(short.headers.get("Docker-Content-Digest"));
    // The API reads it under the short name too (Quay's parse_namespace_repository).
    const view = await api("GET", "/repository/tool", { token: await tokenFor("lib") });
    expect(view.json).toMatchObject({ namespace: "library", name: "tool" });
  });

  it("stores every repository under the namespace its name begins with", async () => {
    const rows = await db()
      .select({ name: repositories.name, namespace: repositories.namespace })
      .from(repositories)
      .all();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.namespace).toBe(row.name.split("/")[0]);
  });
});

describe("without library support", () => {
  const app = createApp();
  const off = { ...env, FEATURE_LIBRARY_SUPPORT: "false" };
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

  it("refuses a single-component name: NAME_INVALID on /v2, 400 on the API, no access in a token", async () => {
    const lib = await v2Token(basic("lib", passwords.lib!), "repository:tool:pull");
    const pulled = await app.fetch(
      new Request(`${BASE}/v2/tool/manifests/1`, { headers: { Authorization: `Bearer ${lib.token}` } }),
      off,
      ctx,
    );
    expect(pulled.status).toBe(400);
    expect(await errorCode(pulled)).toBe("NAME_INVALID");

    const token = await app.fetch(
      new Request(`${BASE}/v2/auth?scope=repository:tool:pull`, {
        headers: { Authorization: basic("lib", passwords.lib!) },
      }),
      off,
      ctx,
    );
    expect(decodeJwt(((await token.json()) as { token: string }).token).access).toEqual([]);

    const view = await app.fetch(
      new Request(`${BASE}/api/v1/repository/tool`, { headers: { Authorization: `Bearer ${await tokenFor("lib")}` } }),
      off,
      ctx,
    );
    expectQuayError({ status: view.status, json: await view.json() }, 400, "invalid_request");
    // Two-component names are untouched.
    const full = await app.fetch(
      new Request(`${BASE}/api/v1/repository/library/tool`, {
        headers: { Authorization: `Bearer ${await tokenFor("lib")}` },
      }),
      off,
      ctx,
    );
    expect(full.status).toBe(200);
  });
});
