import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { accessTokens, oauthApplications, teamMembers, teams } from "../../../src/db/schema";
import { findOrganization } from "../../../src/identity/organizations";
import { issueToken } from "../../../src/identity/tokens";
import { findUser } from "../../../src/identity/users";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";

const db = () => database(env.DB);
let olga: string; // owns acme and beta
let olgaNoOrgAdmin: string;
let mallory: string; // org:admin scope, but no standing in acme
let milo: string; // a plain member of acme

/** A user `username` (created by the superuser on first use) and a new OAuth token of theirs. */
async function userWithToken(
  admin: string,
  username: string,
  scopes: Parameters<typeof issueToken>[1]["scopes"],
): Promise<string> {
  if (!(await findUser(db(), username)))
    await api("POST", "/superuser/users", { token: admin, body: { username, email: `${username}@example.com` } });
  return issueToken(db(), { kind: "oauth", userId: (await findUser(db(), username))!.id, scopes });
}

beforeAll(async () => {
  const admin = await initializeAdmin();
  olga = await userWithToken(admin, "olga", ["org:admin", "user:admin", "user:read"]);
  olgaNoOrgAdmin = await userWithToken(admin, "olga", ["user:admin", "user:read", "repo:admin"]);
  mallory = await userWithToken(admin, "mallory", ["org:admin", "user:admin"]);
  milo = await userWithToken(admin, "milo", ["org:admin", "user:read"]);
  expect((await api("POST", "/organization/", { token: olga, body: { name: "acme" } })).status).toBe(201);
  expect((await api("POST", "/organization/", { token: olga, body: { name: "beta" } })).status).toBe(201);
  // No team API yet: make milo a plain member of acme directly.
  const acme = await findOrganization(db(), "acme");
  const team = await db()
    .insert(teams)
    .values({ organizationId: acme!.id, name: "readers", role: "member" })
    .returning()
    .get();
  await db()
    .insert(teamMembers)
    .values({ teamId: team.id, userId: (await findUser(db(), "milo"))!.id });
});

const CLIENT_ID = /^[A-Z0-9]{20}$/;
const SECRET = /^[A-Z0-9]{40}$/;

describe("organization applications", () => {
  it("creates an application and answers Quay's app_view with the secret", async () => {
    const res = await api("POST", "/organization/acme/applications", {
      token: olga,
      body: {
        name: "deployer",
        redirect_uri: "https://deploy.example/cb",
        application_uri: "https://deploy.example",
        description: "Deploys",
        avatar_email: "ops@deploy.example",
      },
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      name: "deployer",
      description: "Deploys",
      application_uri: "https://deploy.example",
      client_id: expect.stringMatching(CLIENT_ID),
      client_secret: expect.stringMatching(SECRET),
      redirect_uri: "https://deploy.example/cb",
      avatar_email: "ops@deploy.example",
    });
    // Stored sealed, never in the clear.
    const row = await db()
      .select()
      .from(oauthApplications)
      .where(eq(oauthApplications.clientId, res.json.client_id))
      .get();
    expect(row!.sealedClientSecret).not.toContain(res.json.client_secret);

    const minimal = await api("POST", "/organization/acme/applications/", { token: olga, body: { name: "another" } });
    expect(minimal.json).toEqual({
      name: "another",
      description: "",
      application_uri: "",
      client_id: expect.stringMatching(CLIENT_ID),
      client_secret: expect.stringMatching(SECRET),
      redirect_uri: "",
      avatar_email: null,
    });
    expect(minimal.json.client_id).not.toBe(res.json.client_id);
  });

  it("lists an organization's applications by name, and reads one", async () => {
    const created = await api("POST", "/organization/beta/applications", {
      token: olga,
      body: { name: "zeta", avatar_email: "" },
    });
    expect(created.json.avatar_email).toBeNull();
    const alpha = await api("POST", "/organization/beta/applications", { token: olga, body: { name: "alpha" } });
    const list = await api("GET", "/organization/beta/applications", { token: olga });
    expect(list.status).toBe(200);
    expect(list.json).toEqual({ applications: [alpha.json, created.json] });

    const one = await api("GET", `/organization/beta/applications/${alpha.json.client_id}`, { token: olga });
    expect(one.status).toBe(200);
    expect(one.json).toEqual(alpha.json);
    // Another organization's client id, or an unknown one, is not found here.
    expectQuayError(
      await api("GET", `/organization/acme/applications/${alpha.json.client_id}`, { token: olga }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("GET", "/organization/beta/applications/NOSUCHCLIENT", { token: olga }),
      404,
      "not_found",
    );
  });

  it("updates every field as Quay's UpdateApp, keeping the client id and secret", async () => {
    const app = (
      await api("POST", "/organization/acme/applications", {
        token: olga,
        body: { name: "old", description: "d", avatar_email: "a@example.com" },
      })
    ).json;
    const res = await api("PUT", `/organization/acme/applications/${app.client_id}`, {
      token: olga,
      body: { name: "new", redirect_uri: "https://new.example/cb", application_uri: "https://new.example" },
    });
    expect(res.status).toBe(200);
    // Absent optional fields take Quay's defaults again.
    expect(res.json).toEqual({
      ...app,
      name: "new",
      redirect_uri: "https://new.example/cb",
      application_uri: "https://new.example",
      description: "",
      avatar_email: null,
    });
    expect((await api("GET", `/organization/acme/applications/${app.client_id}`, { token: olga })).json).toEqual(
      res.json,
    );

    const missing = await api("PUT", `/organization/acme/applications/${app.client_id}`, {
      token: olga,
      body: { name: "x", redirect_uri: "" },
    });
    expectQuayError(missing, 400, "invalid_request", /application_uri/);
    expectQuayError(
      await api("PUT", "/organization/acme/applications/NOSUCHCLIENT", {
        token: olga,
        body: { name: "x", redirect_uri: "", application_uri: "" },
      }),
      404,
      "not_found",
    );
  });

  it("resets the client secret; tokens already minted keep working", async () => {
    const app = (await api("POST", "/organization/acme/applications", { token: olga, body: { name: "resettable" } }))
      .json;
    const row = await db().select().from(oauthApplications).where(eq(oauthApplications.clientId, app.client_id)).get();
    const minted = await issueToken(db(), {
      kind: "oauth",
      userId: (await findUser(db(), "olga"))!.id,
      scopes: ["user:read"],
      applicationId: row!.id,
    });

    const res = await api("POST", `/organization/acme/applications/${app.client_id}/resetclientsecret`, {
      token: olga,
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ...app, client_secret: expect.stringMatching(SECRET) });
    expect(res.json.client_secret).not.toBe(app.client_secret);
    expect(
      (await api("GET", `/organization/acme/applications/${app.client_id}`, { token: olga })).json.client_secret,
    ).toBe(res.json.client_secret);
    expect((await api("GET", "/user/", { token: minted })).status).toBe(200);
    expectQuayError(
      await api("POST", "/organization/acme/applications/NOSUCHCLIENT/resetclientsecret", { token: olga }),
      404,
      "not_found",
    );
  });

  it("deletes an application and the tokens it minted, and no other token", async () => {
    const app = (await api("POST", "/organization/acme/applications", { token: olga, body: { name: "doomed" } })).json;
    const row = await db().select().from(oauthApplications).where(eq(oauthApplications.clientId, app.client_id)).get();
    const olgaId = (await findUser(db(), "olga"))!.id;
    const minted = await issueToken(db(), {
      kind: "oauth",
      userId: olgaId,
      scopes: ["user:read"],
      applicationId: row!.id,
    });
    const unrelated = await issueToken(db(), { kind: "oauth", userId: olgaId, scopes: ["user:read"] });

    const res = await api("DELETE", `/organization/acme/applications/${app.client_id}`, { token: olga });
    expect(res.status).toBe(204);
    expect(res.json).toBeNull();
    expectQuayError(
      await api("GET", `/organization/acme/applications/${app.client_id}`, { token: olga }),
      404,
      "not_found",
    );
    const names = (await api("GET", "/organization/acme/applications", { token: olga })).json.applications.map(
      (a: { name: string }) => a.name,
    );
    expect(names).not.toContain("doomed");
    expect(await db().select().from(accessTokens).where(eq(accessTokens.applicationId, row!.id)).all()).toEqual([]);
    expectQuayError(await api("GET", "/user/", { token: minted }), 401, "invalid_token");
    expect((await api("GET", "/user/", { token: unrelated })).status).toBe(200);
    expectQuayError(
      await api("DELETE", `/organization/acme/applications/${app.client_id}`, { token: olga }),
      404,
      "not_found",
    );
  });

  it("answers Quay's Unauthorized (403) to anyone but the organization's admins, before looking anything up", async () => {
    const app = (await api("POST", "/organization/acme/applications", { token: olga, body: { name: "guarded" } })).json;
    const calls: [string, string, unknown?][] = [
      ["GET", "/organization/acme/applications"],
      ["POST", "/organization/acme/applications", { name: "sneaky" }],
      ["GET", `/organization/acme/applications/${app.client_id}`],
      ["PUT", `/organization/acme/applications/${app.client_id}`, { name: "x", redirect_uri: "", application_uri: "" }],
      ["DELETE", `/organization/acme/applications/${app.client_id}`],
      ["POST", `/organization/acme/applications/${app.client_id}/resetclientsecret`],
      // An unknown organization or client id answers the same: nothing to probe.
      ["GET", "/organization/nosuchorg/applications"],
      ["GET", "/organization/acme/applications/NOSUCHCLIENT"],
    ];
    for (const [method, path, body] of calls) {
      for (const token of [mallory, milo])
        expectQuayError(await api(method, path, { token, body }), 403, "insufficient_scope", "Unauthorized");
      // Olga administers acme, but this token lacks the scope.
      // Quay's Unauthorized() words (issue #14; Wharf named the missing scope before).
      expectQuayError(
        await api(method, path, { token: olgaNoOrgAdmin, body }),
        403,
        "insufficient_scope",
        "Unauthorized",
      );
      expectQuayError(await api(method, path, { body }), 401, "invalid_token");
    }
    expect((await api("GET", `/organization/acme/applications/${app.client_id}`, { token: olga })).json).toEqual(app);
    expectQuayError(
      await api("GET", "/organization/nosuchorg/applications", { token: olga }),
      403,
      "insufficient_scope",
      "Unauthorized",
    );
  });

  it("refuses bad bodies with invalid_request", async () => {
    const create = (body: unknown) => api("POST", "/organization/acme/applications", { token: olga, body });
    expectQuayError(await create({}), 400, "invalid_request", /name/);
    expectQuayError(await create({ name: "" }), 400, "invalid_request", "name: name is required");
    expectQuayError(await create({ name: "x".repeat(256) }), 400, "invalid_request", /name/);
    expectQuayError(await create({ name: 7 }), 400, "invalid_request", /name/);
    expectQuayError(await create({ name: "x", avatar_email: "not-an-email" }), 400, "invalid_request", /avatar_email/);
    expectQuayError(
      await create({ name: "x", redirect_uri: "https://x.example/".padEnd(256, "x") }),
      400,
      "invalid_request",
      /redirect_uri/,
    );
    expectQuayError(await create("{not json"), 400, "invalid_request", "Malformed JSON body");
  });
});
