/**
 * Logins as events (docs/events.md, "Logins"): `login_success` where a client signs in (the
 * browser's sign-in, an application's approval with a password, a `docker login`, which asks
 * /v2/auth for no scope), `login_failure` wherever a credential is checked and refused,
 * `logout_success`, and nothing for a pull's token request or a client made to wait. And what the
 * records cost /v2/auth in D1 statements.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { findUser } from "../../../src/identity/users";
import worker from "../../../src/index";
import { basic, db, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { isRead, observedEnv } from "../helpers/observed-env";
import { BASE, request } from "../helpers/registry";

const IP = "198.51.100.61";
const PASSWORD = "olga-password-1";
let appCode: string;
let robotToken: string;
let ids: Record<string, number>;

beforeAll(async () => {
  const admin = await initializeAdmin();
  await makeUser(admin, "olga");
  await api("PUT", "/superuser/users/olga", { token: admin, body: { password: PASSWORD } });
  const olga = await tokenFor("olga");
  appCode = (await api("POST", "/user/apptoken", { token: olga, body: { title: "ci" } })).json.token.token_code;
  robotToken = (await api("PUT", "/user/robots/bot", { token: olga, body: {} })).json.token;
  ids = { olga: (await findUser(db(), "olga"))!.id, "olga+bot": (await findUser(db(), "olga+bot"))!.id };
});

afterEach(() => {
  vi.restoreAllMocks();
});

const headers = (authorization: string) => ({
  Authorization: authorization,
  "CF-Connecting-IP": IP,
  "User-Agent": "podman/5",
});
const v2auth = (query: string, authorization: string) =>
  request("GET", `/v2/auth${query}`, { token: null, headers: headers(authorization) });
const LOGIN = "?account=x&service=registry.test";
const PULL = "?service=registry.test&scope=repository:olga/app:pull";

/** A login event of namespace `namespace` by `actor`, from {@link IP}. */
const login = (kind: string, namespace: string | null, actor: unknown, data: unknown) => ({
  id: expect.any(String),
  kind,
  at: expect.any(Number),
  namespace,
  repository: null,
  actor,
  ip: IP,
  data,
});
const olgaUser = () => ({ kind: "user", name: "olga", id: ids.olga });

describe("GET /v2/auth", () => {
  it("a docker login (no scope) is a login_success, for every credential kind", async () => {
    const recorder = recordEvents();
    expect((await v2auth(LOGIN, basic("olga", PASSWORD))).status).toBe(200);
    expect((await v2auth(LOGIN, basic("$app", appCode))).status).toBe(200);
    expect((await v2auth(LOGIN, basic("olga+bot", robotToken))).status).toBe(200);
    const success = (credential: string) => ({ surface: "v2auth", credential, userAgent: "podman/5" });
    expect(await recorder.published()).toEqual([
      login("login_success", "olga", olgaUser(), success("password")),
      login("login_success", "olga", { ...olgaUser(), kind: "token", token: "app" }, success("app")),
      login("login_success", "olga", { kind: "robot", name: "olga+bot", id: ids["olga+bot"] }, success("robot")),
    ]);
  });

  it("a pull's token request records nothing; refused credentials a login_failure, by no one", async () => {
    const recorder = recordEvents();
    expect((await v2auth(PULL, basic("olga", PASSWORD))).status).toBe(200);
    expect((await v2auth(PULL, basic("$app", appCode))).status).toBe(200);
    expect(await recorder.published()).toEqual([]);
    expect((await v2auth(PULL, basic("olga", "wrong-password"))).status).toBe(401);
    expect((await v2auth(LOGIN, basic("olga+bot", "x".repeat(64)))).status).toBe(401);
    const failure = (credential: string, username: string) => ({
      surface: "v2auth",
      credential,
      username,
      reason: "invalid",
      userAgent: "podman/5",
    });
    const nobody = { kind: "anonymous" };
    expect(await recorder.published()).toEqual([
      login("login_failure", null, nobody, failure("password", "olga")),
      login("login_failure", "olga", nobody, failure("robot", "olga+bot")),
    ]);
  });

  it("a client made to wait (429) is refused before any check, and records nothing", async () => {
    const limited = { ...env, LOGIN_FAILURES_PER_ACCOUNT: "1", LOGIN_FAILURES_PER_IP: "1000" };
    const app = createApp();
    const ask = async () => {
      const ctx = createExecutionContext();
      const res = await app.fetch(
        new Request(`${BASE}/v2/auth${PULL}`, { headers: headers(basic("wait", "nope")) }),
        limited,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res.status;
    };
    const recorder = recordEvents();
    expect(await ask()).toBe(401);
    expect(await ask()).toBe(429);
    expect((await recorder.published()).map((e) => e.kind)).toEqual(["login_failure"]);
  });

  it("costs a pull's token request no D1 write; a docker login one insert (and its row's deletion once sent)", async () => {
    // D1 batches sent, on the binding or the session /v2/auth reads through (observed-env.ts).
    let batches: number[] = [];
    const cost = async (query: string, authorization: string) => {
      const observed = observedEnv();
      const ctx = createExecutionContext();
      const init = { headers: headers(authorization) };
      const res = await worker.fetch(
        new Request(`${BASE}/v2/auth${query}`, init) as Parameters<typeof worker.fetch>[0],
        observed.env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(200);
      batches = [...observed.d1Batches];
      return { writes: observed.d1.filter((sql) => !isRead(sql)), queued: observed.queued.length };
    };
    // Warm the isolate's recent-match cache, as a client's earlier request would.
    await cost(PULL, basic("olga", PASSWORD));
    expect(await cost(PULL, basic("olga", PASSWORD))).toEqual({ writes: [], queued: 0 });
    const passwordLogin = await cost(LOGIN, basic("olga", PASSWORD));
    expect(passwordLogin.writes).toEqual([
      expect.stringMatching(/^insert into "event_outbox"/),
      expect.stringMatching(/^delete from "event_outbox"/),
    ]);
    expect(passwordLogin.queued).toBe(1);
    // An application token's use is written anyway (its last_accessed): the event joins that batch.
    const appLogin = await cost(LOGIN, basic("$app", appCode));
    expect(appLogin.writes.map((sql) => sql.split(" ").slice(0, 3).join(" "))).toEqual([
      'update "access_tokens" set',
      'insert into "event_outbox"',
      'delete from "event_outbox"',
    ]);
    expect(batches).toEqual([2]);
  });
});

describe("browser sign-in and sign-out", () => {
  const signin = (username: string, password: string) =>
    request("POST", "/api/v1/signin", {
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": IP, "User-Agent": "Firefox" },
      body: JSON.stringify({ username, password }),
    });

  it("signing in is a login_success; a wrong password or a token as password a login_failure", async () => {
    const recorder = recordEvents();
    const res = await signin("olga", PASSWORD);
    expect(res.status).toBe(200);
    expect((await signin("olga", "wrong-password")).status).toBe(403);
    expect((await signin("olga", appCode)).status).toBe(403);
    const failure = (credential: string, reason: string) => ({
      surface: "signin",
      credential,
      username: "olga",
      reason,
      userAgent: "Firefox",
    });
    expect(await recorder.published()).toEqual([
      login("login_success", "olga", olgaUser(), { surface: "signin", credential: "password", userAgent: "Firefox" }),
      login("login_failure", null, { kind: "anonymous" }, failure("password", "invalid")),
      login("login_failure", null, { kind: "anonymous" }, failure("app", "not_accepted")),
    ]);

    const cookie = res.headers.get("Set-Cookie")!.split(";")[0]!;
    const csrf = (
      (await (await request("GET", "/csrf_token", { headers: { Cookie: cookie } })).json()) as {
        csrf_token: string;
      }
    ).csrf_token;
    recorder.sent.length = 0;
    const signout = () =>
      api("POST", "/signout", { headers: { Cookie: cookie, "X-CSRF-Token": csrf, "CF-Connecting-IP": IP } });
    expect((await signout()).status).toBe(200);
    // Signed out already: the cookie names no session, nothing ends.
    expect((await signout()).status).toBe(200);
    expect(await recorder.published()).toEqual([login("logout_success", "olga", olgaUser(), { surface: "signin" })]);
  });
});

describe("other places a credential is checked", () => {
  it("POST /oauth/authorizeapp with Basic: a password logs in, a token is refused", async () => {
    const approve = (authorization: string) =>
      request("POST", "/oauth/authorizeapp", {
        headers: { ...headers(authorization), "Content-Type": "application/x-www-form-urlencoded" },
        body: "client_id=unknown&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
        redirect: "manual",
      });
    const recorder = recordEvents();
    // The password is right; the approval itself is then refused (no session's CSRF token).
    expect((await approve(basic("olga", PASSWORD))).status).toBe(403);
    expect((await approve(basic("olga", appCode))).status).toBe(403);
    expect((await approve(basic("olga", "wrong-password"))).status).toBe(401);
    const failure = (credential: string, reason: string) => ({
      surface: "authorizeapp",
      credential,
      username: "olga",
      reason,
      userAgent: "podman/5",
    });
    expect(await recorder.published()).toEqual([
      login("login_success", "olga", olgaUser(), {
        surface: "authorizeapp",
        credential: "password",
        userAgent: "podman/5",
      }),
      login("login_failure", null, { kind: "anonymous" }, failure("app", "not_accepted")),
      login("login_failure", null, { kind: "anonymous" }, failure("password", "invalid")),
    ]);
  });

  it("GET /v1/search with Basic: a search is no login; refused credentials are a login_failure", async () => {
    const recorder = recordEvents();
    const search = (authorization: string) => request("GET", "/v1/search?q=app", { headers: headers(authorization) });
    expect((await search(basic("olga", PASSWORD))).status).toBe(200);
    expect((await search(basic("olga", "wrong-password"))).status).toBe(401);
    expect(await recorder.published()).toEqual([
      login(
        "login_failure",
        null,
        { kind: "anonymous" },
        {
          surface: "v1",
          credential: "password",
          username: "olga",
          reason: "invalid",
          userAgent: "podman/5",
        },
      ),
    ]);
  });
});
