import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { users } from "../../../src/db/schema";
import { basic, db, pushAs, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { registryToken, request } from "../helpers/registry";

let admin: string;
let frank: string;
let frankPassword: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  const made = await api("POST", "/superuser/users", {
    token: admin,
    body: { username: "frank", email: "frank@example.com" },
  });
  frankPassword = made.json.password;
  frank = await tokenFor("frank", ["user:admin", "user:read", "org:admin", "repo:admin"]);
});

describe("organizations", () => {
  it("creates one whose creator lands in the owners team with the admin role", async () => {
    const res = await api("POST", "/organization/", {
      token: frank,
      body: { name: "acme", email: "ops@acme.example" },
    });
    expect(res.status).toBe(201);
    expect(res.json).toBe("Created");
    const view = await api("GET", "/organization/acme", { token: frank });
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({
      name: "acme",
      email: "ops@acme.example",
      is_admin: true,
      is_member: true,
      ordered_teams: ["owners"],
    });
    expect(view.json.teams.owners).toMatchObject({ name: "owners", role: "admin", member_count: 1 });
    const outsider = await api("GET", "/organization/acme", { token: admin });
    expect(outsider.json).toMatchObject({ name: "acme", is_admin: false, is_member: false });
    expect(outsider.json).not.toHaveProperty("teams");
    expect(outsider.json.email).toBe("");
  });

  it("refuses a name a user or organization already has, a bad name, and a token without user:admin", async () => {
    expectQuayError(
      await api("POST", "/organization/", { token: frank, body: { name: "admin" } }),
      400,
      "invalid_request",
      "The username already exists",
    );
    expectQuayError(
      await api("POST", "/organization/", { token: frank, body: { name: "acme" } }),
      400,
      "invalid_request",
      "The username already exists",
    );
    expectQuayError(
      await api("POST", "/organization/", { token: frank, body: { name: "A!" } }),
      400,
      "invalid_request",
    );
    const reader = await tokenFor("frank", ["user:read"]);
    expectQuayError(
      await api("POST", "/organization/", { token: reader, body: { name: "acme2" } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("GET", "/organization/nope", { token: frank }), 404, "not_found");
  });

  it("gives its owners every action on its repositories, and nobody else any", async () => {
    await pushAs("frank", "acme/app");
    const scope = "?scope=repository:acme/app:pull,push,delete&scope=registry:catalog:*";
    const owner = await request("GET", `/v2/auth${scope}`, {
      token: null,
      headers: { Authorization: basic("frank", frankPassword) },
    });
    const claims = decodeJwt(((await owner.json()) as { token: string }).token);
    expect(claims.access).toEqual([
      { type: "repository", name: "acme/app", actions: ["pull", "push", "delete"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
    const other = await request("GET", `/v2/auth${scope}`, {
      token: null,
      headers: { Authorization: basic("admin", "admin-password-1") },
    });
    expect(
      (decodeJwt(((await other.json()) as { token: string }).token).access as { actions: string[] }[])[0]!.actions,
    ).toEqual([]);

    const catalog = await request("GET", "/v2/_catalog", {
      token: await registryToken([{ type: "registry", name: "catalog", actions: ["*"] }], "frank"),
    });
    expect(((await catalog.json()) as { repositories: string[] }).repositories).toContain("acme/app");
    const notOwner = await request("GET", "/v2/_catalog", {
      token: await registryToken([{ type: "registry", name: "catalog", actions: ["*"] }], "admin"),
    });
    expect(((await notOwner.json()) as { repositories: string[] }).repositories).not.toContain("acme/app");
  });

  it("keeps its only admin from being deleted", async () => {
    const res = await api("DELETE", "/superuser/users/frank", { token: admin });
    expectQuayError(res, 400, "invalid_request", "Cannot delete frank: the only admin of organization acme");
  });
});

describe("the organization API of teams and settings", () => {
  let gina: string;
  let hugo: string;

  beforeAll(async () => {
    for (const name of ["gina", "hugo", "ines"])
      await api("POST", "/superuser/users", { token: admin, body: { username: name, email: `${name}@example.com` } });
    gina = await tokenFor("gina", ["org:admin", "user:admin", "user:read", "repo:admin"]);
    hugo = await tokenFor("hugo", ["org:admin", "user:read"]);
    await api("POST", "/organization/", { token: gina, body: { name: "globex", email: "it@globex.example" } });
    await api("PUT", "/organization/globex/robots/deploy", { token: gina });
    await api("PUT", "/organization/globex/team/readers", {
      token: gina,
      body: { role: "member", description: "Read only" },
    });
    await api("PUT", "/organization/globex/team/builders", { token: gina, body: { role: "creator" } });
    await api("PUT", "/organization/globex/team/readers/members/hugo", { token: gina });
    await api("PUT", "/organization/globex/team/readers/members/globex+deploy", { token: gina });
    await pushAs("gina", "globex/web");
    await pushAs("gina", "globex/api");
    // What a first push may grant the pusher is not the subject here.
    await api("DELETE", "/repository/globex/web/permissions/user/gina", { token: gina });
    await api("DELETE", "/repository/globex/api/permissions/user/gina", { token: gina });
    await api("PUT", "/repository/globex/web/permissions/team/readers", { token: gina, body: { role: "read" } });
    await api("PUT", "/repository/globex/web/permissions/user/hugo", { token: gina, body: { role: "write" } });
    await api("PUT", "/repository/globex/api/permissions/user/ines", { token: gina, body: { role: "read" } });
    await api("PUT", "/repository/globex/api/permissions/user/globex+deploy", { token: gina, body: { role: "read" } });
  });

  it("shows its admins Quay's whole view: settings, and teams in creation order with real counts", async () => {
    const view = await api("GET", "/organization/globex", { token: gina });
    expect(view.json).toEqual({
      name: "globex",
      email: "it@globex.example",
      avatar: expect.objectContaining({ name: "globex", kind: "user" }),
      is_admin: true,
      is_member: true,
      teams: {
        owners: expect.objectContaining({
          name: "owners",
          role: "admin",
          member_count: 1,
          repo_count: 0,
          can_view: true,
        }),
        readers: {
          name: "readers",
          description: "Read only",
          role: "member",
          avatar: expect.objectContaining({ name: "readers", kind: "team" }),
          can_view: true,
          repo_count: 1,
          member_count: 2,
          is_synced: false,
        },
        builders: expect.objectContaining({ role: "creator", member_count: 0, repo_count: 0, can_view: true }),
      },
      ordered_teams: ["owners", "readers", "builders"],
      invoice_email: false,
      invoice_email_address: null,
      tag_expiration_s: 1_209_600,
      is_free_account: true,
      // organization.py org_view with FEATURE_QUOTA_MANAGEMENT: no quota set, nothing stored yet.
      quotas: [],
      quota_report: {
        quota_bytes: 0,
        configured_quota: null,
        running_backfill: "complete",
        backfill_status: "complete",
      },
    });
  });

  it("shows members its teams (can_view for their own), outsiders and weaker tokens only the public part", async () => {
    const member = await api("GET", "/organization/globex", { token: hugo });
    expect(member.json).toMatchObject({
      name: "globex",
      email: "",
      is_admin: false,
      is_member: true,
      ordered_teams: ["owners", "readers", "builders"],
    });
    expect(member.json.teams.readers.can_view).toBe(true);
    expect(member.json.teams.owners.can_view).toBe(false);
    for (const hidden of ["invoice_email", "invoice_email_address", "tag_expiration_s", "is_free_account"])
      expect(member.json).not.toHaveProperty(hidden);

    const publicPart = {
      name: "globex",
      email: "",
      avatar: expect.objectContaining({ name: "globex" }),
      is_admin: false,
      is_member: false,
    };
    expect((await api("GET", "/organization/globex")).json).toEqual(publicPart);
    expect((await api("GET", "/organization/globex", { token: await tokenFor("ines", ["org:admin"]) })).json).toEqual(
      publicPart,
    );
    // Quay caps a token's organization role by its scopes: without org:admin (or repo:create) none.
    expect((await api("GET", "/organization/globex", { token: await tokenFor("gina", ["user:read"]) })).json).toEqual(
      publicPart,
    );
    const creatorCap = await api("GET", "/organization/globex", { token: await tokenFor("gina", ["repo:create"]) });
    expect(creatorCap.json).toMatchObject({ is_admin: false, is_member: true, email: "" });
  });

  it("changes email, invoicing and the time machine window (Quay's options only)", async () => {
    const res = await api("PUT", "/organization/globex", {
      token: gina,
      body: {
        email: "Admin@Globex.example",
        invoice_email: true,
        invoice_email_address: "billing@globex.example",
        tag_expiration_s: 604_800,
      },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      name: "globex",
      email: "admin@globex.example",
      invoice_email: true,
      invoice_email_address: "billing@globex.example",
      tag_expiration_s: 604_800,
      ordered_teams: ["owners", "readers", "builders"],
    });
    expect((await api("GET", "/organization/globex", { token: gina })).json).toMatchObject({
      email: "admin@globex.example",
      tag_expiration_s: 604_800,
    });
    for (const seconds of [0, 86_400, 1_209_600, 2_419_200]) {
      expect(
        (await api("PUT", "/organization/globex", { token: gina, body: { tag_expiration_s: seconds } })).json
          .tag_expiration_s,
      ).toBe(seconds);
    }
    expect((await api("PUT", "/organization/globex", { token: gina, body: {} })).json.tag_expiration_s).toBe(2_419_200);
    expect(
      (await api("PUT", "/organization/globex", { token: gina, body: { invoice_email_address: null } })).json
        .invoice_email_address,
    ).toBeNull();

    const odd = await api("PUT", "/organization/globex", { token: gina, body: { tag_expiration_s: 3600 } });
    expectQuayError(odd, 400, "invalid_request", "Invalid tag expiration option");
    expect(odd.json.message).toBe("Invalid tag expiration option");
    expectQuayError(
      await api("PUT", "/organization/globex", { token: gina, body: { tag_expiration_s: -1 } }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("PUT", "/organization/globex", { token: gina, body: { tag_expiration_s: "1d" } }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("PUT", "/organization/globex", { token: gina, body: { email: "hugo@example.com" } }),
      400,
      "invalid_request",
      "E-mail address already used",
    );
    expectQuayError(
      await api("PUT", "/organization/globex", { token: gina, body: { email: "not an email" } }),
      400,
      "invalid_request",
    );
  });

  it("lists human members with their teams and direct repositories, and outside collaborators", async () => {
    const members = await api("GET", "/organization/globex/members", { token: gina });
    expect(members.status).toBe(200);
    expect(members.json).toEqual({
      members: [
        {
          name: "gina",
          kind: "user",
          avatar: expect.objectContaining({ name: "gina", kind: "user" }),
          teams: [{ name: "owners", avatar: expect.objectContaining({ kind: "team" }) }],
          repositories: [],
        },
        {
          name: "hugo",
          kind: "user",
          avatar: expect.objectContaining({ name: "hugo" }),
          teams: [{ name: "readers", avatar: expect.objectContaining({ name: "readers" }) }],
          repositories: ["web"],
        },
      ],
    });
    const collaborators = await api("GET", "/organization/globex/collaborators", { token: gina });
    expect(collaborators.json).toEqual({
      collaborators: [
        { kind: "user", name: "ines", avatar: expect.objectContaining({ name: "ines" }), repositories: ["api"] },
      ],
    });
  });

  it("answers settings, members and collaborators to its admins only, with org:admin", async () => {
    for (const [method, path, body] of [
      ["PUT", "/organization/globex", { tag_expiration_s: 0 }],
      ["GET", "/organization/globex/members", undefined],
      ["GET", "/organization/globex/collaborators", undefined],
    ] as const) {
      expectQuayError(await api(method, path, { body }), 401, "invalid_token");
      expectQuayError(await api(method, path, { token: hugo, body }), 403, "insufficient_scope");
      expectQuayError(
        await api(method, path, { token: await tokenFor("gina", ["user:admin", "repo:admin"]), body }),
        403,
        "insufficient_scope",
      );
      expectQuayError(
        await api(method, path.replace("globex", "nothere"), { token: gina, body }),
        403,
        "insufficient_scope",
      );
    }
  });

  it("lists the signed-in user's organizations in GET /api/v1/user/", async () => {
    const own = await api("GET", "/user/", { token: gina });
    expect(own.json.organizations).toEqual([
      {
        name: "globex",
        avatar: expect.objectContaining({ name: "globex", kind: "org" }),
        can_create_repo: true,
        public: false,
        is_org_admin: true,
        preferred_namespace: false,
      },
    ]);
    const hugoView = await api("GET", "/user/", { token: hugo });
    expect(hugoView.json.organizations).toEqual([
      expect.objectContaining({ name: "globex", can_create_repo: false, is_org_admin: false }),
    ]);
    await api("PUT", "/organization/globex/team/builders/members/hugo", { token: gina });
    expect((await api("GET", "/user/", { token: hugo })).json.organizations[0]).toMatchObject({
      can_create_repo: true,
      is_org_admin: false,
    });
    // A user:read token holds no organization role (Quay's scope cap), though it lists the membership.
    expect(
      (await api("GET", "/user/", { token: await tokenFor("gina", ["user:read"]) })).json.organizations[0],
    ).toMatchObject({ name: "globex", is_org_admin: false, can_create_repo: false });
    expect((await api("GET", "/user/", { token: await tokenFor("ines", ["user:read"]) })).json.organizations).toEqual(
      [],
    );
  });

  it("keeps the only person administering each organization from being deleted, robots not counting", async () => {
    await api("POST", "/organization/", { token: gina, body: { name: "twin" } });
    await api("PUT", "/organization/globex/team/owners/members/globex+deploy", { token: gina });
    await api("PUT", "/organization/globex/team/second", { token: gina, body: { role: "admin" } });
    await api("PUT", "/organization/globex/team/second/members/gina", { token: gina });
    expectQuayError(
      await api("DELETE", "/superuser/users/gina", { token: admin }),
      400,
      "invalid_request",
      "Cannot delete gina: the only admin of organization globex, twin",
    );
    await api("PUT", "/organization/twin/team/owners/members/ines", { token: gina });
    expectQuayError(
      await api("DELETE", "/superuser/users/gina", { token: admin }),
      400,
      "invalid_request",
      "Cannot delete gina: the only admin of organization globex",
    );
  });

  it("hides an organization being deleted", async () => {
    await api("POST", "/organization/", { token: gina, body: { name: "doomed" } });
    await db().update(users).set({ deletingSince: Date.now() }).where(eq(users.username, "doomed"));
    expectQuayError(await api("GET", "/organization/doomed", { token: gina }), 404, "not_found");
    expectQuayError(
      await api("PUT", "/organization/doomed/team/x", { token: gina, body: { role: "member" } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("GET", "/organization/doomed/members", { token: gina }), 403, "insufficient_scope");
    expect(
      ((await api("GET", "/user/", { token: gina })).json.organizations as Array<{ name: string }>).map((o) => o.name),
    ).toEqual(["globex", "twin"]);
  });
});
