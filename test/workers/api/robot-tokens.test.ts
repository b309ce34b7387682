/**
 * Robots' Management-API tokens (Quay's `endpoints/api/robot_application_tokens.py`): minted from a
 * signed-in session for a user's own robots and an organization's (its admins), bounded by what
 * the creator may mint, authenticating on /api/v1 as the robot within the robot's own permissions,
 * until they expire or are revoked, and gone with their robot.
 */
import { env } from "cloudflare:workers";
import { count, eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { robotApiTokens } from "../../../src/db/schema";
import { DomainError } from "../../../src/errors/domain";
import { createRobotApiToken, TOKENS_PAGE_SIZE } from "../../../src/identity/robot-tokens";
import { findRobot } from "../../../src/identity/robots";
import { findUser } from "../../../src/identity/users";
import { db, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { advanceClock, freezeClock } from "../helpers/clock";
import { fixtureEvents, recordEvents } from "../helpers/events";
import { BASE, request } from "../helpers/registry";

type Session = { Cookie: string; "X-CSRF-Token": string };
let rita: Session;
let superuser: Session;
let member: Session;
let ritaOAuth: string;
let adminOAuth: string;

async function signIn(username: string, password: string): Promise<Session> {
  const res = await request("POST", "/api/v1/signin", {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status).toBe(200);
  const Cookie = res.headers.get("Set-Cookie")!.split(";")[0]!;
  const csrf = await request("GET", "/csrf_token", { headers: { Cookie } });
  return { Cookie, "X-CSRF-Token": ((await csrf.json()) as { csrf_token: string }).csrf_token };
}

const as = (session: Session, method: string, path: string, body?: unknown) =>
  api(method, path, { headers: session, body });

const USER = "/user/robots/ci";
const ORG = "/organization/tokorg/robots/deployer";
const TOKEN = /^qro_[A-Za-z0-9]{60}$/;

beforeAll(async () => {
  const admin = await initializeAdmin("admin-password-1");
  adminOAuth = admin;
  for (const name of ["rita", "mo"]) {
    await api("POST", "/superuser/users", { token: admin, body: { username: name, email: `${name}@example.com` } });
    await api("PUT", `/superuser/users/${name}`, { token: admin, body: { password: `${name}-password-1` } });
  }
  ritaOAuth = await tokenFor("rita");
  const setup: Array<[string, string, unknown?]> = [
    ["PUT", USER],
    ["POST", "/organization", { name: "tokorg" }],
    ["PUT", ORG],
    ["POST", "/repository", { namespace: "tokorg", repository: "app", visibility: "private", description: "" }],
    ["POST", "/repository", { namespace: "tokorg", repository: "other", visibility: "private", description: "" }],
    ["PUT", "/repository/tokorg/app/permissions/user/tokorg+deployer", { role: "read" }],
    ["PUT", "/organization/tokorg/team/viewers", { role: "member" }],
    ["PUT", "/organization/tokorg/team/viewers/members/mo"],
  ];
  for (const [method, path, body] of setup) {
    const res = await api(method, path, { token: ritaOAuth, body });
    expect(res.status, `${method} ${path}: ${JSON.stringify(res.json)}`).toBeLessThan(300);
  }
  rita = await signIn("rita", "rita-password-1");
  member = await signIn("mo", "mo-password-1");
  superuser = await signIn("admin", "admin-password-1");
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** A new token of the organization's robot with `scope`, by rita's session; its value. */
async function orgToken(scope: string, expiration?: number): Promise<string> {
  const res = await as(rita, "POST", `${ORG}/tokens`, { name: "t", scope, expiration });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json.token as string;
}

/** A call through a Worker whose settings differ from the test's by `vars`. */
async function withSettings(
  vars: Record<string, string>,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
) {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const res = await createApp().fetch(
    new Request(`${BASE}/api/v1${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    { ...env, ...vars },
    ctx,
  );
  return { status: res.status, json: (await res.json()) as any };
}

describe("mintable scopes", () => {
  it("lists Quay's scopes in Quay's order; super:user only for a superuser", async () => {
    const everyone = ["repo:read", "repo:write", "repo:admin", "repo:create", "user:read", "org:admin", "user:admin"];
    expect((await as(rita, "GET", `${USER}/mintable-scopes`)).json).toEqual({ scopes: everyone });
    expect((await as(rita, "GET", `${ORG}/mintable-scopes`)).json).toEqual({ scopes: everyone });
    await as(superuser, "PUT", "/user/robots/ops");
    expect((await as(superuser, "GET", "/user/robots/ops/mintable-scopes")).json.scopes).toEqual([
      "repo:read",
      "repo:write",
      "repo:admin",
      "repo:create",
      "user:read",
      "org:admin",
      "super:user",
      "user:admin",
    ]);
  });
});

describe("creating and listing", () => {
  it("creates a token with Quay's JSON, its value shown once; the list shows it without", async () => {
    freezeClock();
    const res = await as(rita, "POST", `${USER}/tokens`, {
      name: "  CI robot token ",
      scope: "repo:read,repo:read user:read",
      expiration: 3600.7,
    });
    expect(res.status).toBe(200);
    // Quay's _token_view: uuid, name, scope, expires_at, created, created_by, last_accessed (+ token).
    expect(res.json).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "CI robot token",
      scope: "repo:read user:read",
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      created: expect.stringMatching(/Z$/),
      created_by: "rita",
      last_accessed: null,
      token: expect.stringMatching(TOKEN),
    });
    expect(Date.parse(res.json.expires_at) - Date.parse(res.json.created)).toBe(3600_000);
    const listed = await as(rita, "GET", `${USER}/tokens`);
    expect(listed.status).toBe(200);
    const { token: _value, ...shown } = res.json;
    expect(listed.json).toEqual({ tokens: [shown] });
  });

  it("gives 30 days by default and caps a lifetime at 90 days", async () => {
    for (const [expiration, days] of [
      [undefined, 30],
      [365 * 86400, 90],
    ] as const) {
      const res = await as(rita, "POST", `${ORG}/tokens`, { name: "life", scope: "repo:read", expiration });
      expect(Date.parse(res.json.expires_at) - Date.parse(res.json.created)).toBe(days * 86400_000);
    }
  });

  it("lists newest first, 50 a page, with Quay's next_page", async () => {
    await as(superuser, "PUT", "/user/robots/many");
    const admin = (await findUser(db(), "admin"))!;
    const robot = (await findRobot(db(), admin, "many"))!;
    const request = { name: "n", scope: "repo:read", expirationS: 60 };
    for (let i = 0; i <= TOKENS_PAGE_SIZE; i++)
      await createRobotApiToken(db(), robot, admin, { ...request, name: `n${i}` }, null, fixtureEvents());
    const first = await as(superuser, "GET", "/user/robots/many/tokens");
    expect(first.json.tokens).toHaveLength(TOKENS_PAGE_SIZE);
    expect(first.json.tokens[0].name).toBe(`n${TOKENS_PAGE_SIZE}`);
    const second = await as(superuser, "GET", `/user/robots/many/tokens?next_page=${first.json.next_page}`);
    expect(second.json).toEqual({ tokens: [expect.objectContaining({ name: "n0" })] });
    // A position from another robot's listing is refused.
    expectQuayError(
      await as(superuser, "GET", `/user/robots/ops/tokens?next_page=${first.json.next_page}`),
      400,
      "invalid_request",
    );
  });

  it("refuses a token over API_TOKEN_MAXIMUM_TOKEN_COUNT with Quay's message", async () => {
    await as(rita, "PUT", "/user/robots/capped");
    const body = { name: "c", scope: "repo:read" };
    const limit = { API_TOKEN_MAXIMUM_TOKEN_COUNT: "1" };
    expect((await withSettings(limit, "POST", "/user/robots/capped/tokens", rita, body)).status).toBe(200);
    const refused = await withSettings(limit, "POST", "/user/robots/capped/tokens", rita, body);
    expectQuayError(refused, 400, "invalid_request", "Token limit reached: maximum 1 non-expired tokens per robot");
    expect(refused.json.message).toBe("Token limit reached: maximum 1 non-expired tokens per robot");
    expect((await as(rita, "GET", "/user/robots/capped/tokens")).json.tokens).toHaveLength(1);
  });

  it("holds a robot to API_TOKEN_MAXIMUM_TOKEN_COUNT live tokens, expired ones not counted", async () => {
    const rows = await findUser(db(), "rita");
    const robot = (await findRobot(db(), rows!, "ci"))!;
    const request = { name: "limited", scope: "repo:read", expirationS: 60 };
    const live = (await db()
      .select({ n: count() })
      .from(robotApiTokens)
      .where(eq(robotApiTokens.robotId, robot.user.id))
      .get())!.n;
    await createRobotApiToken(db(), robot, rows!, request, live + 1, fixtureEvents());
    const refused = createRobotApiToken(db(), robot, rows!, request, live + 1, fixtureEvents());
    await expect(refused).rejects.toThrow(DomainError);
    await expect(refused).rejects.toThrow(`Token limit reached: maximum ${live + 1} non-expired tokens per robot`);
    const after = await db()
      .select({ n: count() })
      .from(robotApiTokens)
      .where(eq(robotApiTokens.robotId, robot.user.id))
      .get();
    expect(after!.n, "the refused token is not left behind").toBe(live + 1);
    advanceClock(30 * 86400_000 + 1000);
    await createRobotApiToken(db(), robot, rows!, request, 1, fixtureEvents());
  });
});

describe("refusals", () => {
  it("answers anyone but a signed-in session Quay's 401, tokens included", async () => {
    const robotToken = await orgToken("org:admin");
    for (const path of [`${USER}/tokens`, `${ORG}/tokens`, `${ORG}/mintable-scopes`]) {
      expectQuayError(await api("GET", path), 401, "invalid_token");
      for (const token of [ritaOAuth, robotToken])
        expectQuayError(
          await api("GET", path, { token }),
          401,
          "invalid_token",
          "Method requires login and no valid login could be loaded.",
        );
    }
  });

  it("lets only the organization's admins in (403), and needs the session's CSRF token", async () => {
    expectQuayError(await as(member, "GET", `${ORG}/tokens`), 403, "insufficient_scope");
    expectQuayError(
      await as(member, "POST", `${ORG}/tokens`, { name: "x", scope: "repo:read" }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await as(member, "GET", "/organization/no-such-org/robots/deployer/tokens"),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("POST", `${ORG}/tokens`, { headers: { Cookie: rita.Cookie }, body: { name: "x", scope: "repo:read" } }),
      403,
      "insufficient_scope",
    );
  });

  it("answers 404 for an unknown robot or token", async () => {
    expectQuayError(await as(rita, "GET", "/user/robots/missing/tokens"), 404, "not_found");
    expectQuayError(await as(rita, "GET", "/user/robots/missing/mintable-scopes"), 404, "not_found");
    expectQuayError(await as(rita, "GET", "/organization/tokorg/robots/missing/tokens"), 404, "not_found");
    expectQuayError(await as(rita, "DELETE", `${ORG}/tokens/00000000-0000-0000-0000-000000000000`), 404, "not_found");
    // Another robot's token is no token of this one.
    const other = await as(rita, "POST", `${USER}/tokens`, { name: "mine", scope: "repo:read" });
    expectQuayError(await as(rita, "DELETE", `${ORG}/tokens/${other.json.uuid}`), 404, "not_found");
  });

  it("refuses a bad body with Quay's messages, and a scope the creator may not mint with 403", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ scope: "repo:read" }, /'name' is a required property/],
      [{ name: "x" }, /'scope' is a required property/],
      [{ name: "   ", scope: "repo:read" }, /^'name' cannot be empty$/],
      [{ name: "x".repeat(256), scope: "repo:read" }, /name/],
      [{ name: "x", scope: "repo:read", expiration: 0 }, /expiration/],
      [{ name: "x", scope: "repo:read", expiration: "3600" }, /expiration/],
      [{ name: "x", scope: "repo:read bogus" }, /^Invalid scope: repo:read bogus$/],
      [{ name: "x", scope: " , " }, /^Invalid scope:/],
      [{ name: "x", scope: "direct_user_login" }, /^Invalid scope:/],
    ];
    for (const [body, message] of cases)
      expectQuayError(await as(rita, "POST", `${ORG}/tokens`, body), 400, "invalid_request", message);
    expectQuayError(
      await as(rita, "POST", `${ORG}/tokens`, { name: "x", scope: "repo:read super:user" }),
      403,
      "insufficient_scope",
    );
  });
});

describe("using a token", () => {
  it("acts as the robot on /api/v1: its permissions within the token's scopes", async () => {
    const reader = await orgToken("repo:read user:read");
    const repo = await api("GET", "/repository/tokorg/app", { token: reader });
    expect(repo.status).toBe(200);
    expect(repo.json.name).toBe("app");
    // The robot has no grant on `other`, whatever the token says; nor write on `app`.
    expect((await api("GET", "/repository/tokorg/other", { token: reader })).status).toBe(404);
    const admin = await orgToken("repo:admin");
    expectQuayError(
      await api("PUT", "/repository/tokorg/app", { token: admin, body: { description: "by robot" } }),
      403,
      "insufficient_scope",
    );
    // And never more than the token's scopes: no repo:read, no repository.
    expectQuayError(
      await api("GET", "/repository/tokorg/app", { token: await orgToken("user:read") }),
      403,
      "insufficient_scope",
    );
    // user:admin grants a robot nothing: it has no account to administer.
    const userAdmin = await orgToken("user:admin");
    expectQuayError(
      await api("PUT", "/user/", { token: userAdmin, body: { email: "x@example.com" } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("POST", "/organization", { token: userAdmin, body: { name: "robotorg" } }),
      403,
      "insufficient_scope",
    );
  });

  it("records its last use in the list", async () => {
    const res = await as(rita, "POST", `${ORG}/tokens`, { name: "used", scope: "repo:read" });
    await api("GET", "/repository/tokorg/app", { token: res.json.token });
    const listed = (await as(rita, "GET", `${ORG}/tokens`)).json.tokens.find(
      (t: { uuid: string }) => t.uuid === res.json.uuid,
    );
    expect(listed.last_accessed).toMatch(/Z$/);
  });

  it("is not a registry credential: /v2/auth refuses it as the robot's password", async () => {
    const token = await orgToken("repo:read");
    const res = await request("GET", "/v2/auth?service=registry.test&scope=repository:tokorg/app:pull", {
      headers: { Authorization: `Basic ${btoa(`tokorg+deployer:${token}`)}` },
    });
    expect(res.status).toBe(401);
  });

  it("stops working when it expires", async () => {
    freezeClock();
    const token = await orgToken("repo:read", 60);
    expect((await api("GET", "/repository/tokorg/app", { token })).status).toBe(200);
    advanceClock(60_000);
    expectQuayError(await api("GET", "/repository/tokorg/app", { token }), 401, "invalid_token");
  });

  it("stops working when revoked, with Quay's events for both", async () => {
    const recorder = recordEvents();
    const created = await as(rita, "POST", `${ORG}/tokens`, { name: "doomed", scope: "repo:read" });
    expect((await api("GET", "/repository/tokorg/app", { token: created.json.token })).status).toBe(200);
    const deleted = await as(rita, "DELETE", `${ORG}/tokens/${created.json.uuid}`);
    expect(deleted.status).toBe(204);
    expectQuayError(await api("GET", "/repository/tokorg/app", { token: created.json.token }), 401, "invalid_token");
    expectQuayError(await as(rita, "DELETE", `${ORG}/tokens/${created.json.uuid}`), 404, "not_found");
    const robot = { name: "tokorg+deployer", id: (await findUser(db(), "tokorg+deployer"))!.id };
    const ritaId = (await findUser(db(), "rita"))!.id;
    const token = { uuid: created.json.uuid, name: "doomed" };
    expect(await recorder.published("create_robot_api_token")).toEqual([
      expect.objectContaining({
        namespace: "tokorg",
        actor: { kind: "user", name: "rita", id: ritaId },
        data: { robot, token, scope: "repo:read", expiration: 30 * 86400 },
      }),
    ]);
    expect(await recorder.published("revoke_robot_api_token")).toEqual([
      expect.objectContaining({ namespace: "tokorg", data: { robot, token } }),
    ]);
  });

  it("acts with the robot's standing in its organization, as the robot in events", async () => {
    for (const [method, path, body] of [
      ["PUT", "/organization/tokorg/robots/boss", undefined],
      ["PUT", "/organization/tokorg/team/leads", { role: "admin" }],
      ["PUT", "/organization/tokorg/team/leads/members/tokorg+boss", undefined],
    ] as const)
      expect((await api(method, path, { token: ritaOAuth, body })).status).toBeLessThan(300);
    const boss = await as(rita, "POST", "/organization/tokorg/robots/boss/tokens", { name: "b", scope: "org:admin" });
    const recorder = recordEvents();
    const made = await api("PUT", "/organization/tokorg/team/robotmade", {
      token: boss.json.token,
      body: { role: "member" },
    });
    expect(made.status, JSON.stringify(made.json)).toBe(200);
    const id = (await findUser(db(), "tokorg+boss"))!.id;
    expect(await recorder.published("org_create_team")).toEqual([
      expect.objectContaining({ actor: { kind: "robot", name: "tokorg+boss", id } }),
    ]);
    // The same scope on a robot in no admin team administers nothing.
    expectQuayError(
      await api("PUT", "/organization/tokorg/team/robotmade2", {
        token: await orgToken("org:admin"),
        body: { role: "member" },
      }),
      403,
      "insufficient_scope",
    );
  });

  it("cannot mint an application's OAuth token (a ten-year credential for a robot: 403, not a dead token)", async () => {
    for (const [method, path, body] of [
      ["PUT", "/organization/tokorg/robots/chief", undefined],
      ["PUT", "/organization/tokorg/team/chiefs", { role: "admin" }],
      ["PUT", "/organization/tokorg/team/chiefs/members/tokorg+chief", undefined],
    ] as const)
      expect((await api(method, path, { token: ritaOAuth, body })).status).toBeLessThan(300);
    const app = await api("POST", "/organization/tokorg/applications", { token: ritaOAuth, body: { name: "ci" } });
    const chief = await as(rita, "POST", "/organization/tokorg/robots/chief/tokens", {
      name: "c",
      scope: "org:admin repo:read",
      expiration: 3600,
    });
    const minted = await api("POST", `/organization/tokorg/applications/${app.json.client_id}/tokens`, {
      token: chief.json.token,
      body: { scope: "org:admin repo:read" },
    });
    expectQuayError(minted, 403, "insufficient_scope", /person/);
    // Its organization's administration is otherwise the robot's, as its team says.
    const listed = await api("GET", `/organization/tokorg/applications/${app.json.client_id}/tokens`, {
      token: chief.json.token,
    });
    expect(listed.status).toBe(200);
    expect(listed.json.tokens).toEqual([]);
  });

  it("does nothing for a robot of a disabled namespace", async () => {
    await api("POST", "/superuser/users", { token: adminOAuth, body: { username: "dora", email: "dora@example.com" } });
    await api("PUT", "/user/robots/rb", { token: await tokenFor("dora") });
    const dora = (await findUser(db(), "dora"))!;
    const robot = (await findRobot(db(), dora, "rb"))!;
    const request = { name: "d", scope: "user:read", expirationS: 3600 };
    const { value } = await createRobotApiToken(db(), robot, dora, request, null, fixtureEvents());
    expect((await api("GET", "/user/", { token: value })).status).toBe(200);
    await api("PUT", "/superuser/users/dora", { token: adminOAuth, body: { enabled: false } });
    expectQuayError(await api("GET", "/user/", { token: value }), 401, "invalid_token");
  });

  it("does nothing under ROBOTS_DISALLOW", async () => {
    const token = await orgToken("repo:read");
    const headers = { Authorization: `Bearer ${token}` };
    const refused = await withSettings({ ROBOTS_DISALLOW: "true" }, "GET", "/repository/tokorg/app", headers);
    expectQuayError(refused, 401, "invalid_token");
    expect((await withSettings({}, "GET", "/repository/tokorg/app", headers)).status).toBe(200);
  });

  it("dies with its namespace", async () => {
    expect((await api("POST", "/organization", { token: ritaOAuth, body: { name: "gone" } })).status).toBe(201);
    expect((await api("PUT", "/organization/gone/robots/rb", { token: ritaOAuth })).status).toBe(201);
    const created = await as(rita, "POST", "/organization/gone/robots/rb/tokens", { name: "x", scope: "user:read" });
    expect((await api("GET", "/user/", { token: created.json.token })).status).toBe(200);
    expect((await api("DELETE", "/organization/gone", { token: ritaOAuth })).status).toBe(204);
    expectQuayError(await api("GET", "/user/", { token: created.json.token }), 401, "invalid_token");
    const left = await db().select().from(robotApiTokens).where(eq(robotApiTokens.uuid, created.json.uuid)).all();
    expect(left).toEqual([]);
  });

  it("dies with its robot", async () => {
    await as(rita, "PUT", "/user/robots/shortlived");
    const created = await as(rita, "POST", "/user/robots/shortlived/tokens", { name: "x", scope: "user:read" });
    expect((await api("GET", "/user/", { token: created.json.token })).status).toBe(200);
    expect((await as(rita, "DELETE", "/user/robots/shortlived")).status).toBe(204);
    expectQuayError(await api("GET", "/user/", { token: created.json.token }), 401, "invalid_token");
    const left = await db().select().from(robotApiTokens).where(eq(robotApiTokens.uuid, created.json.uuid)).all();
    expect(left).toEqual([]);
  });
});

describe("fresh login (Quay's @require_fresh_login on every robot-token operation)", () => {
  it("refuses a session whose password was proven longer than FRESH_LOGIN_TIMEOUT ago, on all four routes", async () => {
    const fresh = await signIn("rita", "rita-password-1");
    expect((await as(fresh, "GET", `${ORG}/mintable-scopes`)).status).toBe(200);
    advanceClock(11 * 60_000);
    for (const [method, path, body] of [
      ["GET", `${ORG}/mintable-scopes`],
      ["GET", `${USER}/tokens`],
      ["POST", `${ORG}/tokens`, { name: "t", scope: "repo:read" }],
      ["DELETE", `${ORG}/tokens/00000000-0000-0000-0000-000000000000`],
    ] as const) {
      expectQuayError(await as(fresh, method, path, body), 401, "fresh_login_required");
    }
  });
});
