/**
 * Tokens of an organization's OAuth application (Quay
 * `endpoints/api/organization_application_tokens.py`): `createOrganizationApplicationToken`,
 * `listOrganizationApplicationTokens`, `deleteOrganizationApplicationToken`. A token acts as its
 * creator within its scopes, on /api/v1 and on the registry (`$oauthtoken`); its value is shown once.
 */
import { sql } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findUser } from "../../../src/identity/users";
import {
  basic,
  db,
  grantedActions,
  grantedActionsOrStatus,
  joinTeam,
  makeUser,
  pushAs,
  tokenFor,
} from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";

let admin: string;
let olga: string;
let clientId: string;
const TOKENS = () => `/organization/acme/applications/${clientId}/tokens`;

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["olga", "gus", "eve"]) await makeUser(admin, name);
  olga = await tokenFor("olga");
  expect((await api("POST", "/organization", { token: olga, body: { name: "acme" } })).status).toBe(201);
  await joinTeam("acme", "builders", "member", "gus");
  clientId = (await api("POST", "/organization/acme/applications", { token: olga, body: { name: "ci" } })).json
    .client_id;
  await pushAs("olga", "acme/app");
});

afterEach(() => {
  vi.restoreAllMocks();
});

const create = (body: unknown, token = olga) => api("POST", TOKENS(), { token, body });

describe("createOrganizationApplicationToken", () => {
  it("mints a token for the caller with Quay's fields; the value only here; create_oauth_api_token in the organization", async () => {
    const recorder = recordEvents();
    const before = Date.now();
    const res = await create({ scope: "repo:read,repo:write repo:read", expiration: 3600 });
    expect(res.status).toBe(200);
    // Quay `organization_application_tokens.py` token_view: uuid, scope, expires_at, created,
    // created_by, last_accessed, and token (creation only).
    expect(res.json).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      scope: "repo:read repo:write",
      expires_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      created: expect.stringMatching(/Z$/),
      created_by: "olga",
      last_accessed: null,
      token: expect.stringMatching(/^[A-Za-z0-9]{40}$/),
    });
    const expiresAt = Date.parse(res.json.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1000);
    const olgaId = (await findUser(db(), "olga"))!.id;
    expect((await recorder.published()).map((e) => [e.kind, e.namespace, e.data])).toEqual([
      [
        "create_oauth_api_token",
        "acme",
        {
          user: { kind: "user", name: "olga", id: olgaId },
          application: { clientId, name: "ci" },
          scope: "repo:read repo:write",
        },
      ],
    ]);
    // Hashed at rest: the value is nowhere in the table.
    const stored = await db().run(sql`select count(*) as n from access_tokens where token_hash = ${res.json.token}`);
    expect((stored.results[0] as { n: number }).n).toBe(0);
  });

  it("the token acts as its creator within its scopes, on /api/v1 and on the registry", async () => {
    const write = (await create({ scope: "repo:write" })).json.token as string;
    const read = (await create({ scope: "repo:read" })).json.token as string;
    expect((await api("GET", "/repository/acme/app", { token: write })).status).toBe(200);
    expectQuayError(await api("GET", "/user/", { token: write }), 403, "insufficient_scope");
    expect(await grantedActions(basic("$oauthtoken", write), "acme/app")).toEqual(["pull", "push", "delete"]);
    expect(await grantedActions(basic("$oauthtoken", read), "acme/app")).toEqual(["pull"]);
  });

  it("defaults to ten years", async () => {
    const res = await create({ scope: "repo:read" });
    const years = (Date.parse(res.json.expires_at) - Date.parse(res.json.created)) / (365.25 * 86_400_000);
    expect(years).toBeCloseTo(10, 3);
  });

  it("refuses Quay's invalid bodies (400): unknown scopes, no scope, a non-positive expiration", async () => {
    const bad = await create({ scope: "repo:read repo:fly" });
    expectQuayError(bad, 400, "invalid_request", "Invalid scope: repo:read repo:fly");
    expect(bad.json.message).toBe("Invalid scope: repo:read repo:fly");
    expectQuayError(await create({ scope: "" }), 400, "invalid_request", "Invalid scope: ");
    expectQuayError(await create({}), 400, "invalid_request");
    expectQuayError(await create({ scope: "repo:read", expiration: 0 }), 400, "invalid_request", /positive/);
    expectQuayError(await create({ scope: "repo:read", expiration: "1h" }), 400, "invalid_request");
  });

  it("refuses scopes beyond the caller's own credential (403; differs from Quay)", async () => {
    const narrow = await tokenFor("olga", ["org:admin", "repo:read"]);
    const res = await create({ scope: "repo:read user:admin" }, narrow);
    expectQuayError(res, 403, "insufficient_scope", "Cannot grant scopes the caller does not hold: user:admin");
    expect((await create({ scope: "repo:read" }, narrow)).status).toBe(200);
  });

  it("refuses once the application holds 1000 unexpired tokens", async () => {
    const other = (await api("POST", "/organization/acme/applications", { token: olga, body: { name: "busy" } })).json;
    const appId = (await db().run(sql`select id from oauth_applications where client_id = ${other.client_id}`))
      .results[0] as { id: number };
    const olgaId = (await findUser(db(), "olga"))!.id;
    await db().run(sql`insert into access_tokens (token_hash, kind, user_id, application_id, scopes, uuid)
      with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000)
      select 'filler-' || i, 'oauth', ${olgaId}, ${appId.id}, 'repo:read', 'filler-' || i from n`);
    const res = await api("POST", `/organization/acme/applications/${other.client_id}/tokens`, {
      token: olga,
      body: { scope: "repo:read" },
    });
    expectQuayError(
      res,
      400,
      "invalid_request",
      "Token limit reached: maximum 1000 non-expired tokens per application",
    );
  });
});

describe("listOrganizationApplicationTokens and deleteOrganizationApplicationToken", () => {
  it("lists the application's tokens without their values, newest first", async () => {
    const made = (await create({ scope: "repo:read" })).json;
    const res = await api("GET", TOKENS(), { token: olga });
    expect(res.status).toBe(200);
    const { token: _value, ...listed } = made;
    expect(res.json.tokens[0]).toEqual(listed);
    for (const token of res.json.tokens) expect(token).not.toHaveProperty("token");
    expect(res.json).not.toHaveProperty("next_page");
  });

  it("revokes a token by uuid (204): it stops working; revoke_oauth_api_token; 404 for unknown uuids", async () => {
    const made = (await create({ scope: "repo:read" })).json;
    expect((await api("GET", "/repository/acme/app", { token: made.token })).status).toBe(200);
    const recorder = recordEvents();
    expect((await api("DELETE", `${TOKENS()}/${made.uuid}`, { token: olga })).status).toBe(204);
    expect((await recorder.published()).map((e) => [e.kind, e.namespace, e.data])).toEqual([
      [
        "revoke_oauth_api_token",
        "acme",
        { application: { clientId, name: "ci" }, uuid: made.uuid, scope: "repo:read" },
      ],
    ]);
    expectQuayError(await api("GET", "/repository/acme/app", { token: made.token }), 401, "invalid_token");
    expect(await grantedActionsOrStatus(basic("$oauthtoken", made.token), "acme/app")).toBe(401);
    expectQuayError(await api("DELETE", `${TOKENS()}/${made.uuid}`, { token: olga }), 404, "not_found");
    const listed = (await api("GET", TOKENS(), { token: olga })).json.tokens as Array<{ uuid: string }>;
    expect(listed.map((t) => t.uuid)).not.toContain(made.uuid);
  });

  it("pages fifty at a time with next_page", async () => {
    for (let i = 0; i < 50; i++) await create({ scope: "repo:read" });
    const first = await api("GET", TOKENS(), { token: olga });
    expect(first.json.tokens).toHaveLength(50);
    const second = await api("GET", `${TOKENS()}?next_page=${first.json.next_page}`, { token: olga });
    const uuids = [...first.json.tokens, ...second.json.tokens].map((t: { uuid: string }) => t.uuid);
    expect(new Set(uuids).size).toBe(uuids.length);
    expect(second.json.tokens.length).toBeGreaterThan(0);
  });
});

describe("who may", () => {
  it("refuses the anonymous (401), members and outsiders (403), tokens without org:admin (403), foreign client ids (404)", async () => {
    const made = (await create({ scope: "repo:read" })).json;
    const gus = await tokenFor("gus");
    const eve = await tokenFor("eve");
    const narrow = await tokenFor("olga", ["repo:admin", "user:admin"]);
    const calls = [
      ["GET", TOKENS(), undefined],
      ["POST", TOKENS(), { scope: "repo:read" }],
      ["DELETE", `${TOKENS()}/${made.uuid}`, undefined],
    ] as const;
    for (const [method, path, body] of calls) {
      expectQuayError(await api(method, path, { body }), 401, "invalid_token");
      for (const token of [gus, eve, narrow])
        expectQuayError(await api(method, path, { token, body }), 403, "insufficient_scope");
      expectQuayError(
        await api(method, path.replace(clientId, "NOSUCHCLIENT"), { token: olga, body }),
        404,
        "not_found",
      );
    }
    await api("POST", "/organization", { token: await tokenFor("eve"), body: { name: "evil" } });
    expectQuayError(
      await api("GET", `/organization/evil/applications/${clientId}/tokens`, { token: eve }),
      404,
      "not_found",
    );
    expect((await api("GET", "/repository/acme/app", { token: made.token })).status).toBe(200);
  });
});
