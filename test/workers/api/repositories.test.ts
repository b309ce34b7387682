import { beforeAll, describe, expect, it } from "vitest";
import { repositories } from "../../../src/db/schema";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { basic, db, makeUser, pushBlobWith, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { errorCode, registryToken, request, sha256 } from "../helpers/registry";

let admin: string;
let olga: string;
let olgaPassword: string;
let gus: string;
let gusPassword: string;

/** A registry token of olga's (the namespace owner) with pull and push on `name`. */
const olgaPush = async (name: string) =>
  (await v2Token(basic("olga", olgaPassword), `repository:${name}:pull,push,delete`)).token;

beforeAll(async () => {
  admin = await initializeAdmin();
  olgaPassword = await makeUser(admin, "olga");
  gusPassword = await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  gus = await tokenFor("gus");
});

describe("POST /api/v1/repository", () => {
  it("creates a repository in the caller's namespace with Quay's answer, and /v2 knows it at once", async () => {
    const res = await api("POST", "/repository", {
      token: olga,
      body: { repository: "made", visibility: "private", description: "A *new* one." },
    });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ namespace: "olga", name: "made", kind: "image" });
    const view = await api("GET", "/repository/olga/made", { token: olga });
    expect(view.json).toMatchObject({
      namespace: "olga",
      name: "made",
      description: "A *new* one.",
      is_public: false,
      tags: {},
    });
    const tags = await request("GET", "/v2/olga/made/tags/list", { token: await olgaPush("olga/made") });
    expect(tags.status).toBe(200);
  });

  it("takes a namespace, nested names, repo_kind, and public visibility", async () => {
    const nested = await api("POST", "/repository", {
      token: olga,
      body: { namespace: "olga", repository: "team/app", visibility: "public", description: "" },
    });
    expect(nested.json).toEqual({ namespace: "olga", name: "team/app", kind: "image" });
    const app = await api("POST", "/repository", {
      token: olga,
      body: { repository: "chart", visibility: "private", description: "", repo_kind: "application" },
    });
    expect(app.json).toEqual({ namespace: "olga", name: "chart", kind: "application" });
    const plain = await api("POST", "/repository", {
      token: olga,
      body: { repository: "nullkind", visibility: "private", description: "", repo_kind: null },
    });
    expect(plain.json.kind).toBe("image");
    expect((await api("GET", "/repository/olga/team/app")).json).toMatchObject({
      namespace: "olga",
      name: "team/app",
      is_public: true,
    });
  });

  it("refuses without a token, without repo:create, and in a namespace the caller may not create in", async () => {
    const body = { repository: "x", visibility: "private", description: "" };
    expectQuayError(await api("POST", "/repository", { body }), 401, "invalid_token");
    expectQuayError(
      await api("POST", "/repository", { token: await tokenFor("olga", ["repo:admin", "user:admin"]), body }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("POST", "/repository", { token: gus, body: { ...body, namespace: "olga" } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("POST", "/repository", { token: gus, body: { ...body, namespace: "nobody" } }),
      403,
      "insufficient_scope",
    );
  });

  it("refuses bad bodies, invalid and reserved names, and an existing name", async () => {
    const post = (body: unknown) => api("POST", "/repository", { token: olga, body });
    expectQuayError(await post({ repository: "x", visibility: "private" }), 400, "invalid_request", /description/);
    expectQuayError(
      await post({ repository: "x", visibility: "hidden", description: "" }),
      400,
      "invalid_request",
      /visibility/,
    );
    expectQuayError(await post({ visibility: "private", description: "" }), 400, "invalid_request", /repository/);
    expectQuayError(
      await post({ repository: "x", visibility: "private", description: "", repo_kind: "helm" }),
      400,
      "invalid_request",
    );
    expectQuayError(await post("{not json"), 400, "invalid_request", "Malformed JSON body");
    for (const name of ["Upper", "-dash", ".dot", "a//b", "a/", "sp ace", "a..b", "x".repeat(256)]) {
      expectQuayError(
        await post({ repository: name, visibility: "private", description: "" }),
        400,
        "invalid_request",
        /^Invalid repository name$/,
      );
    }
    for (const name of ["build", "trigger", "tag", "notification", "app/tag", "tag/app"]) {
      expectQuayError(
        await post({ repository: name, visibility: "private", description: "" }),
        400,
        "invalid_request",
        /is reserved/,
      );
    }
    await post({ repository: "twice", visibility: "private", description: "" });
    expectQuayError(
      await post({ repository: "twice", visibility: "public", description: "" }),
      400,
      "invalid_request",
      "Repository already exists",
    );
  });
});

describe("GET /api/v1/repository/{repository}", () => {
  it("shows Quay's JSON with the alive tags: size, RFC 2822 date, digest; includeTags=false and includeStats", async () => {
    const push = await olgaPush("olga/shown");
    expect((await pushImageWith(push, "olga/shown", "v1")).status).toBe(201);
    expect((await pushImageWith(push, "olga/shown", "gone")).status).toBe(201);
    expect((await request("DELETE", "/v2/olga/shown/manifests/gone", { token: push })).status).toBe(202);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [],
    });
    expect(
      (
        await request("PUT", "/v2/olga/shown/manifests/multi", {
          token: push,
          body: index,
          headers: { "Content-Type": "application/vnd.oci.image.index.v1+json" },
        })
      ).status,
    ).toBe(201);

    const res = await api("GET", "/repository/olga/shown", { token: olga });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json)).toEqual([
      "namespace",
      "name",
      "kind",
      "description",
      "is_public",
      "is_organization",
      "is_starred",
      "status_token",
      "trust_enabled",
      "tag_expiration_s",
      "is_free_account",
      "state",
      "tags",
      "can_write",
      "can_admin",
    ]);
    expect(res.json).toMatchObject({
      namespace: "olga",
      name: "shown",
      kind: "image",
      description: null,
      is_public: false,
      is_organization: false,
      is_starred: false,
      status_token: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      trust_enabled: false,
      tag_expiration_s: 1_209_600,
      is_free_account: true,
      state: "NORMAL",
      can_write: true,
      can_admin: true,
    });
    expect(Object.keys(res.json.tags).sort()).toEqual(["multi", "v1"]);
    const v1 = res.json.tags.v1;
    const manifest = await request("GET", "/v2/olga/shown/manifests/v1", { token: push });
    const body = (await manifest.json()) as { config: { size: number }; layers: { size: number }[] };
    expect(v1).toEqual({
      name: "v1",
      // Quay's manifest_layers_size: the layers only (issue #14; the config was counted before).
      size: body.layers[0]!.size,
      last_modified: expect.stringMatching(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} -0000$/),
      manifest_digest: manifest.headers.get("Docker-Content-Digest"),
    });
    expect(res.json.tags.multi).toMatchObject({
      // Quay: a manifest list has no layers of its own, so null (issue #14; its own size before).
      size: null,
      manifest_digest: await sha256(index),
    });

    const bare = await api("GET", "/repository/olga/shown?includeTags=false&includeStats=true", { token: olga });
    expect(bare.json).not.toHaveProperty("tags");
    expect(bare.json.stats).toHaveLength(91);
    expect(bare.json.stats[0]).toEqual({ date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), count: 0 });
    expectQuayError(
      await api("GET", "/repository/olga/shown?includeTags=maybe", { token: olga }),
      400,
      "invalid_request",
    );
  });

  it("answers 404 to whoever may not pull it, missing or private alike; 403 for a token without repo:read", async () => {
    await api("POST", "/repository", {
      token: olga,
      body: { repository: "secret", visibility: "private", description: "" },
    });
    expectQuayError(await api("GET", "/repository/olga/secret", { token: gus }), 404, "not_found");
    expectQuayError(await api("GET", "/repository/olga/secret"), 404, "not_found");
    expectQuayError(await api("GET", "/repository/olga/missing", { token: olga }), 404, "not_found");
    expectQuayError(await api("GET", "/repository/olga", { token: olga }), 404, "not_found");
    expectQuayError(
      await api("GET", "/repository/olga/secret", { token: await tokenFor("olga", ["user:admin"]) }),
      403,
      "insufficient_scope",
    );
  });

  it("tells readers and writers what they may do (can_write, can_admin)", async () => {
    await api("POST", "/repository", {
      token: olga,
      body: { repository: "shared", visibility: "private", description: "" },
    });
    await api("PUT", "/repository/olga/shared/permissions/user/gus", { token: olga, body: { role: "read" } });
    expect((await api("GET", "/repository/olga/shared", { token: gus })).json).toMatchObject({
      can_write: false,
      can_admin: false,
    });
    await api("PUT", "/repository/olga/shared/permissions/user/gus", { token: olga, body: { role: "write" } });
    expect((await api("GET", "/repository/olga/shared", { token: gus })).json).toMatchObject({
      can_write: true,
      can_admin: false,
    });
  });
});

describe("PUT /api/v1/repository/{repository} and POST …/changevisibility", () => {
  it("sets the description for writers (repo:write) and refuses readers, scopes and bodies", async () => {
    await api("POST", "/repository", {
      token: olga,
      body: { repository: "described", visibility: "private", description: "old" },
    });
    const put = await api("PUT", "/repository/olga/described", { token: olga, body: { description: "new" } });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ success: true });
    expect((await api("GET", "/repository/olga/described", { token: olga })).json.description).toBe("new");

    expectQuayError(
      await api("PUT", "/repository/olga/described", { token: gus, body: { description: "x" } }),
      403,
      "insufficient_scope",
    );
    await api("PUT", "/repository/olga/described/permissions/user/gus", { token: olga, body: { role: "read" } });
    expectQuayError(
      await api("PUT", "/repository/olga/described", { token: gus, body: { description: "x" } }),
      403,
      "insufficient_scope",
    );
    await api("PUT", "/repository/olga/described/permissions/user/gus", { token: olga, body: { role: "write" } });
    expect(
      (
        await api("PUT", "/repository/olga/described", {
          token: await tokenFor("gus", ["repo:write"]),
          body: { description: "by gus" },
        })
      ).status,
    ).toBe(200);
    expectQuayError(
      await api("PUT", "/repository/olga/described", {
        token: await tokenFor("olga", ["repo:read"]),
        body: { description: "x" },
      }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("PUT", "/repository/olga/described", { body: { description: "x" } }),
      401,
      "invalid_token",
    );
    expectQuayError(await api("PUT", "/repository/olga/described", { token: olga, body: {} }), 400, "invalid_request");
    expectQuayError(
      await api("PUT", "/repository/olga/nothing", { token: olga, body: { description: "x" } }),
      404,
      "not_found",
    );
  });

  it("makes a repository public (anonymous pulls then work) and private again, admins only", async () => {
    const push = await olgaPush("olga/flip");
    expect((await pushImageWith(push, "olga/flip", "v1")).status).toBe(201);
    expect((await v2Token(null, "repository:olga/flip:pull")).actions).toEqual([]);

    await api("PUT", "/repository/olga/flip/permissions/user/gus", { token: olga, body: { role: "write" } });
    expectQuayError(
      await api("POST", "/repository/olga/flip/changevisibility", { token: gus, body: { visibility: "public" } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("POST", "/repository/olga/flip/changevisibility", {
        token: await tokenFor("olga", ["repo:write"]),
        body: { visibility: "public" },
      }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("POST", "/repository/olga/flip/changevisibility", { token: olga, body: { visibility: "open" } }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("POST", "/repository/olga/nope/changevisibility", { token: olga, body: { visibility: "public" } }),
      404,
      "not_found",
    );

    const made = await api("POST", "/repository/olga/flip/changevisibility", {
      token: olga,
      body: { visibility: "public" },
    });
    expect(made.json).toEqual({ success: true });
    const anonymous = await v2Token(null, "repository:olga/flip:pull,push");
    expect(anonymous.actions).toEqual(["pull"]);
    expect((await request("GET", "/v2/olga/flip/manifests/v1", { token: anonymous.token })).status).toBe(200);
    expect((await api("GET", "/repository/olga/flip")).json).toMatchObject({
      is_public: true,
      can_write: false,
      can_admin: false,
    });

    await api("POST", "/repository/olga/flip/changevisibility", { token: olga, body: { visibility: "private" } });
    expect((await v2Token(null, "repository:olga/flip:pull")).actions).toEqual([]);
  });

  it("routes nested names and their sub-paths to the right endpoint", async () => {
    await api("POST", "/repository", {
      token: olga,
      body: { repository: "deep/er/app", visibility: "private", description: "" },
    });
    expect(
      (await api("PUT", "/repository/olga/deep/er/app/permissions/user/gus", { token: olga, body: { role: "read" } }))
        .json,
    ).toMatchObject({ role: "read", name: "gus" });
    expect(
      (await api("GET", "/repository/olga/deep/er/app/permissions/user/", { token: olga })).json.permissions,
    ).toHaveProperty("gus");
    expect(
      (
        await api("POST", "/repository/olga/deep/er/app/changevisibility", {
          token: olga,
          body: { visibility: "public" },
        })
      ).json,
    ).toEqual({ success: true });
    expect((await api("GET", "/repository/olga/deep/er/app", { token: gus })).json).toMatchObject({
      name: "deep/er/app",
      is_public: true,
    });
    expect((await api("DELETE", "/repository/olga/deep/er/app/permissions/user/gus", { token: olga })).status).toBe(
      204,
    );
    expect((await api("GET", "/repository/olga/deep/er/app", { token: olga })).status).toBe(200);
  });
});

describe("GET /api/v1/repository", () => {
  it("needs namespace, starred or public", async () => {
    expectQuayError(
      await api("GET", "/repository", { token: olga }),
      400,
      "invalid_request",
      "namespace, starred or public are required for this API call",
    );
    expectQuayError(await api("GET", "/repository?starred=true"), 400, "invalid_request");
    expectQuayError(
      await api("GET", "/repository?public=true", { token: await tokenFor("olga", ["user:admin"]) }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("GET", "/repository?public=yes", { token: olga }), 400, "invalid_request");
  });

  it("lists what the caller can see, in pages of 100 with an opaque next_page", async () => {
    const ns = "pager";
    await makeUser(admin, ns);
    const rows = [
      ...Array.from({ length: 60 }, (_, i) => ({
        name: `${ns}/${i < 30 ? "r" : "s"}${String(i % 30).padStart(3, "0")}`,
        namespace: ns,
        visibility: "private" as const,
      })),
      ...Array.from({ length: 45 }, (_, i) => ({
        name: `${ns}/t${String(i).padStart(3, "0")}`,
        namespace: ns,
        visibility: "public" as const,
      })),
    ];
    // D1 binds at most 100 parameters per statement.
    for (let i = 0; i < rows.length; i += 20)
      await db()
        .insert(repositories)
        .values(rows.slice(i, i + 20));
    const owner = await tokenFor(ns);
    const first = await api("GET", `/repository?namespace=${ns}`, { token: owner });
    expect(first.status).toBe(200);
    expect(first.json.repositories).toHaveLength(100);
    expect(first.json.repositories[0]).toEqual({
      namespace: ns,
      name: "r000",
      description: null,
      is_public: false,
      kind: "image",
      state: "NORMAL",
      // namespacequota.py get_repo_quota_for_view (FEATURE_QUOTA_MANAGEMENT): no quota configured.
      quota_report: { quota_bytes: 0, configured_quota: null },
      is_starred: false,
    });
    expect(typeof first.json.next_page).toBe("string");
    expect(first.json.next_page).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await api("GET", `/repository?namespace=${ns}&next_page=${first.json.next_page}`, { token: owner });
    expect(second.json.repositories.map((r: { name: string }) => r.name)).toEqual([
      "t040",
      "t041",
      "t042",
      "t043",
      "t044",
    ]);
    expect(second.json).not.toHaveProperty("next_page");
    expectQuayError(
      await api("GET", `/repository?namespace=${ns}&next_page=garbage`, { token: owner }),
      400,
      "invalid_request",
      "Invalid next_page token",
    );

    // Others see only the public ones; anonymous callers too, without is_starred.
    const seen = await api("GET", `/repository?namespace=${ns}`, { token: gus });
    expect(seen.json.repositories).toHaveLength(45);
    const anonymous = await api("GET", `/repository?namespace=${ns}&public=true`);
    expect(anonymous.json.repositories).toHaveLength(45);
    expect(anonymous.json.repositories[0]).not.toHaveProperty("is_starred");
    const everything = await api("GET", "/repository?public=true", { token: gus });
    expect(everything.json.repositories.length).toBeGreaterThan(0);
    expect(
      everything.json.repositories.some(
        (r: { is_public: boolean; namespace: string }) => r.namespace === ns && !r.is_public,
      ),
    ).toBe(false);
  });

  it("adds last_modified and popularity when asked, and filters by repo_kind", async () => {
    const push = await olgaPush("olga/dated");
    const before = Math.floor(Date.now() / 1000);
    expect((await pushImageWith(push, "olga/dated", "v1")).status).toBe(201);
    const list = await api("GET", "/repository?namespace=olga&last_modified=true&popularity=true", { token: olga });
    const dated = list.json.repositories.find((r: { name: string }) => r.name === "dated");
    expect(dated.last_modified).toBeGreaterThanOrEqual(before);
    expect(dated.last_modified).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(dated.popularity).toBe(0);
    const empty = list.json.repositories.find((r: { name: string }) => r.name === "made");
    expect(empty.last_modified).toBeNull();
    const apps = await api("GET", "/repository?namespace=olga&repo_kind=application", { token: olga });
    expect(apps.json.repositories.map((r: { name: string }) => r.name)).toEqual(["chart"]);
    expect(list.json.repositories.some((r: { name: string }) => r.name === "chart")).toBe(false);
  });
});

describe("creating by push", () => {
  it("creates a private repository for its namespace's owner; anonymous and other users get no push", async () => {
    expect((await pushImageWith(await olgaPush("olga/pushed"), "olga/pushed", "v1")).status).toBe(201);
    expect((await api("GET", "/repository/olga/pushed", { token: olga })).json).toMatchObject({
      is_public: false,
      can_admin: true,
    });
    expect((await v2Token(basic("gus", gusPassword), "repository:olga/new:pull,push")).actions).toEqual([]);
    expect((await v2Token(null, "repository:olga/new:pull,push")).actions).toEqual([]);
    // Even a token claiming push does not let an anonymous caller create.
    const forged = await registryToken([{ type: "repository", name: "olga/forged", actions: ["pull", "push"] }], {
      kind: "anonymous",
    });
    const res = await pushBlobWith(forged, "olga/forged", "bytes");
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("DENIED");
    expect((await api("GET", "/repository/olga/forged", { token: olga })).status).toBe(404);
  });

  it("refuses a reserved name on /v2 with NAME_INVALID, and /v2/auth grants no push for it", async () => {
    expect((await v2Token(basic("olga", olgaPassword), "repository:olga/app/tag:pull,push")).actions).toEqual(["pull"]);
    const token = await registryToken([{ type: "repository", name: "olga/build", actions: ["pull", "push"] }], "olga");
    const res = await pushBlobWith(token, "olga/build", "bytes");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]).toMatchObject({
      code: "NAME_INVALID",
      message: 'invalid repository name: "build" is reserved',
    });
    const manifest = await request("PUT", "/v2/olga/trigger/manifests/v1", {
      token: null,
      body: "{}",
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(await errorCode(manifest)).toBe("NAME_INVALID");
  });
});
