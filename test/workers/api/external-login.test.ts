/**
 * Sign-in with an external OpenID Connect provider (Quay's externallogin, /oauth2/{id}/callback,
 * callback/attach, detachexternal) against a fake provider.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { recordLogs } from "../helpers/action-logs";
import { initializeAdmin } from "../helpers/api";
import { FakeOidcProvider, serveProviders } from "../helpers/oidc-provider";
import { BASE } from "../helpers/registry";
import { personMaker } from "../helpers/signed-in";

const ISSUER = "https://sso.test/realms/main";
const IMPOSTOR = "https://impostor.test";
const CLIENT_SECRET = "the-client-secret-1";
const PROVIDERS = [
  { id: "sso", title: "Company SSO", issuer: ISSUER, client_id: "wharf-ui", scopes: ["profile", "email"] },
  { id: "impostor", title: "Impostor", issuer: IMPOSTOR, client_id: "wharf-ui" },
];
const oidcEnv = {
  ...env,
  OIDC_PROVIDERS: JSON.stringify(PROVIDERS),
  OIDC_CLIENT_SECRETS: JSON.stringify({ sso: CLIENT_SECRET }),
};
const closedEnv = { ...oidcEnv, FEATURE_USER_CREATION: "false" } as Record<string, unknown>;

const app = createApp();
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

async function call(
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: unknown; env?: object } = {},
) {
  const headers = new Headers(init.headers);
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  const req = new Request(`${BASE}${path}`, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    redirect: "manual",
  });
  return app.fetch(req, (init.env ?? oidcEnv) as Env, ctx);
}

/** The `name=value` of the response's cookie `name`, or null. */
function cookieNamed(res: Response, name: string): string | null {
  const found = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return found ? found.split(";")[0]! : null;
}

let idp: FakeOidcProvider;

/** A browser asking to sign in with `sso`: the authorization URL and its state cookie. */
async function start(
  kind = "login",
  headers: Record<string, string> = {},
  extra: object = {},
  envOf: object = oidcEnv,
) {
  const res = await call("POST", "/api/v1/externallogin/sso", { body: { kind, ...extra }, headers, env: envOf });
  expect(res.status, await res.clone().text()).toBe(200);
  const { auth_url } = (await res.json()) as { auth_url: string };
  return { authUrl: auth_url, stateCookie: cookieNamed(res, "wharf_oidc_state")! };
}

/** The provider sends the browser back with a code for `claims`. */
async function complete(
  begun: { authUrl: string; stateCookie: string },
  claims: Record<string, unknown>,
  options: { path?: string; state?: string; cookies?: string[]; envOf?: object } = {},
) {
  const { code, state } = idp.authorize(begun.authUrl, claims);
  const query = new URLSearchParams({ code, state: options.state ?? state });
  const cookie = [begun.stateCookie, ...(options.cookies ?? [])].filter(Boolean).join("; ");
  return call("GET", `${options.path ?? "/oauth2/sso/callback"}?${query}`, {
    headers: { Cookie: cookie },
    env: options.envOf,
  });
}

/** Who the session cookie of `res` signs in as. */
async function whoami(res: Response): Promise<string | null> {
  const cookie = cookieNamed(res, "wharf_session");
  if (!cookie) return null;
  const me = await call("GET", "/api/v1/user/", { headers: { Cookie: cookie } });
  return me.status === 200 ? ((await me.json()) as { username: string }).username : null;
}

let admin: string;

beforeAll(async () => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
  idp = await new FakeOidcProvider(ISSUER).init();
  const impostor = await new FakeOidcProvider(IMPOSTOR).init();
  impostor.discoveryIssuer = "https://someone-else.test";
  serveProviders(idp, impostor);
  admin = await initializeAdmin();
});
afterAll(() => vi.restoreAllMocks());

describe("external login", () => {
  it("answers the provider's authorization URL with state, nonce and PKCE, the state bound to a cookie", async () => {
    const { authUrl, stateCookie } = await start();
    const url = new URL(authUrl);
    expect(url.origin + url.pathname).toBe(`${ISSUER}/auth`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: "code",
      client_id: "wharf-ui",
      redirect_uri: `${BASE}/oauth2/sso/callback`,
      scope: "openid profile email",
      code_challenge_method: "S256",
    });
    for (const p of ["state", "nonce", "code_challenge"]) expect(url.searchParams.get(p)).toMatch(/^[\w-]{43}$/);
    expect(stateCookie).toMatch(/^wharf_oidc_state=/);
    expect(stateCookie).not.toContain(url.searchParams.get("state"));
  });

  it("refuses an unknown provider with 404, and cli logins", async () => {
    expect((await call("POST", "/api/v1/externallogin/nope", { body: { kind: "login" } })).status).toBe(404);
    expect((await call("GET", "/oauth2/nope/callback?code=a&state=b")).status).toBe(404);
    expect((await call("POST", "/api/v1/externallogin/sso", { body: { kind: "cli" } })).status).toBe(400);
    expect((await call("POST", "/api/v1/externallogin/sso", { body: { kind: "other" } })).status).toBe(400);
  });

  it("creates an account for a new subject, signs it in, and signs the same subject in again", async () => {
    const logs = recordLogs();
    const claims = {
      sub: "subject-alice",
      preferred_username: "Alice.Smith@corp.example",
      email: "alice@corp.example",
      email_verified: true,
    };
    const first = await complete(await start(), claims);
    expect(first.status).toBe(302);
    expect(first.headers.get("Location")).toBe(`${BASE}/repository/`);
    expect(cookieNamed(first, "wharf_oidc_state")).toBe("wharf_oidc_state=");
    expect(await whoami(first)).toBe("alice.smith");
    // The account's creation and the sign-in are recorded, as a password sign-in is.
    await logs.deliver();
    const sent = JSON.stringify(logs.sent);
    expect(sent).toContain('"user_create"');
    expect(sent).toMatch(/"login_success".*"credential":"oidc"|"credential":"oidc".*"login_success"/);
    // The client secret went to the token endpoint with the code verifier.
    expect(idp.tokenRequests.at(-1)!.get("client_secret")).toBe(CLIENT_SECRET);
    const again = await complete(await start("login", {}, { redirect: "/organization/" }), claims);
    expect(again.headers.get("Location")).toBe(`${BASE}/organization/`);
    expect(await whoami(again)).toBe("alice.smith");
    const user = await call("GET", "/api/v1/superuser/users/alice.smith", {
      headers: { Authorization: `Bearer ${admin}` },
    });
    expect(await user.json()).toMatchObject({ username: "alice.smith", email: "alice@corp.example" });
  });

  it("makes a taken name unique, and keeps an unverified address out of the account", async () => {
    const res = await complete(await start(), {
      sub: "subject-other-alice",
      preferred_username: "alice.smith",
      email: "alice2@corp.example",
      email_verified: false,
    });
    expect(await whoami(res)).toBe("alice.smith1");
    const user = await call("GET", "/api/v1/superuser/users/alice.smith1", {
      headers: { Authorization: `Bearer ${admin}` },
    });
    expect(((await user.json()) as { email: string | null }).email ?? null).toBeNull();
  });

  it("never names a new account after a superuser that has not signed up yet", async () => {
    // SUPER_USERS lists "chief" and "chief1", neither registered: a provider's user claiming the
    // name would otherwise become a superuser on first sign-in (sign-up refuses such a name too).
    const bossEnv = { ...oidcEnv, SUPER_USERS: "admin chief chief1" };
    const res = await complete(
      await start("login", {}, {}, bossEnv),
      { sub: "subject-would-be-chief", preferred_username: "Chief" },
      { envOf: bossEnv },
    );
    expect(res.status).toBe(302);
    expect(await whoami(res)).toBe("chief2");
    const me = await call("GET", "/api/v1/user/", {
      headers: { Cookie: cookieNamed(res, "wharf_session")! },
      env: bossEnv,
    });
    expect(await me.json()).not.toHaveProperty("super_user", true);
  });

  it("refuses a new subject whose verified address belongs to an account, in Quay's words", async () => {
    const res = await complete(await start(), { sub: "subject-x", email: "admin@example.com", email_verified: true });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("is already associated with an existing Wharf account");
    expect(cookieNamed(res, "wharf_session")).toBeNull();
  });

  it("follows only same-origin redirects", async () => {
    for (const redirect of ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]) {
      const res = await complete(await start("login", {}, { redirect }), { sub: "subject-alice" });
      expect(res.headers.get("Location"), redirect).toBe(`${BASE}/repository/`);
    }
  });

  it("refuses forged and tampered callbacks, signing nobody in", async () => {
    const claims = { sub: "subject-alice" };
    const refusals: [string, Response][] = [
      // An attacker's own code and state, in a browser that never started a sign-in (login CSRF).
      ["no state cookie", await complete({ ...(await start()), stateCookie: "" }, claims)],
      ["another state", await complete(await start(), claims, { state: "A".repeat(43) })],
      ["a forged cookie", await complete({ ...(await start()), stateCookie: "wharf_oidc_state=Zm9yZ2Vk" }, claims)],
      ["another nonce", await complete(await start(), { ...claims, nonce: "not-the-nonce" })],
      ["another audience", await complete(await start(), { ...claims, aud: "another-client" })],
      ["expired", await complete(await start(), { ...claims, exp: Math.floor(Date.now() / 1000) - 120 })],
      ["another issuer", await complete(await start(), { ...claims, iss: "https://elsewhere.test" })],
      [
        "several audiences without azp",
        await complete(await start(), { ...claims, aud: ["wharf-ui", "another-client"] }),
      ],
      ["the attach path", await complete(await start(), claims, { path: "/oauth2/sso/callback/attach" })],
    ];
    for (const [why, res] of refusals) {
      expect(res.status, why).toBe(400);
      expect(res.headers.get("Content-Type"), why).toMatch(/^text\/html/);
      expect(cookieNamed(res, "wharf_session"), why).toBeNull();
    }
    // The provider's own refusal, and a callback without a code.
    const begun = await start();
    const declined = await call("GET", "/oauth2/sso/callback?error=access_denied&error_description=<b>no</b>", {
      headers: { Cookie: begun.stateCookie },
    });
    expect(declined.status).toBe(400);
    expect(await declined.text()).toContain("&lt;b&gt;no&lt;/b&gt;");
  });

  it("shows a provider's error words only to the browser that started the sign-in", async () => {
    // Anyone can link to the callback: its page, on the registry's own origin, must not say what
    // the link's author wrote (a phishing sentence with a web address to "sign in again" at).
    const lure = "Your account is locked: sign in again at https://evil.example/";
    const query = new URLSearchParams({ error: "access_denied", error_description: lure });
    const forged = await call("GET", `/oauth2/sso/callback?${query}`);
    expect(forged.status).toBe(400);
    const page = await forged.text();
    expect(page).not.toContain("evil.example");
    expect(page).toContain("Company SSO did not complete the sign-in");
    // An unknown error code is no text either.
    const odd = await call("GET", `/oauth2/sso/callback?${new URLSearchParams({ error: lure })}`);
    expect(await odd.text()).not.toContain("evil.example");
  });

  it("answers a provider whose discovery names another issuer with a clear error", async () => {
    const res = await call("POST", "/api/v1/externallogin/impostor", { body: { kind: "login" } });
    expect(res.status).toBe(520);
    expect(((await res.json()) as { error_message: string }).error_message).toContain(
      "Could not load the OpenID configuration of Impostor",
    );
  });

  it("refuses new accounts without FEATURE_USER_CREATION, yet signs linked subjects in", async () => {
    const refused = await complete(
      await start("login", {}, {}, closedEnv),
      { sub: "subject-new" },
      { envOf: closedEnv },
    );
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("User creation is disabled");
    const linked = await complete(
      await start("login", {}, {}, closedEnv),
      { sub: "subject-alice" },
      { envOf: closedEnv },
    );
    expect(await whoami(linked)).toBe("alice.smith");
  });

  it("read-only (REGISTRY_STATE=readonly): makes no account for a new subject, yet signs linked subjects in", async () => {
    const readOnlyEnv = { ...oidcEnv, REGISTRY_STATE: "readonly" };
    const refused = await complete(
      await start("login", {}, {}, readOnlyEnv),
      { sub: "subject-read-only", preferred_username: "ronnie" },
      { envOf: readOnlyEnv },
    );
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("System is currently read-only");
    expect(cookieNamed(refused, "wharf_session")).toBeNull();
    const lookup = await call("GET", "/api/v1/users/ronnie");
    expect(lookup.status).toBe(404);
    const linked = await complete(
      await start("login", {}, {}, readOnlyEnv),
      { sub: "subject-alice" },
      { envOf: readOnlyEnv },
    );
    expect(await whoami(linked)).toBe("alice.smith");
  });
});

describe("attaching and detaching", () => {
  let bob: Record<string, string>;
  beforeAll(async () => {
    await personMaker(admin)("bob");
    const signin = await call("POST", "/api/v1/signin", { body: { username: "bob", password: "bob-password-1" } });
    const cookie = cookieNamed(signin, "wharf_session")!;
    const csrf = (await (await call("GET", "/csrf_token", { headers: { Cookie: cookie } })).json()) as {
      csrf_token: string;
    };
    bob = { Cookie: cookie, "X-CSRF-Token": csrf.csrf_token };
  });

  /** Bob's action-log entries of `kind`. */
  const bobsLog = async (kind: string) => {
    const res = await call("GET", "/api/v1/user/logs", { headers: bob });
    expect(res.status).toBe(200);
    return ((await res.json()) as { logs: { kind: string }[] }).logs.filter((e) => e.kind === kind);
  };

  it("needs a signed-in browser to attach", async () => {
    expect((await call("POST", "/api/v1/externallogin/sso", { body: { kind: "attach" } })).status).toBe(401);
  });

  it("links the provider's subject to the signed-in account, which it then signs in", async () => {
    const logs = recordLogs();
    const begun = await start("attach", bob);
    expect(new URL(begun.authUrl).searchParams.get("redirect_uri")).toBe(`${BASE}/oauth2/sso/callback/attach`);
    const res = await complete(
      begun,
      { sub: "subject-bob", preferred_username: "robert" },
      {
        path: "/oauth2/sso/callback/attach",
        cookies: [bob.Cookie!],
      },
    );
    expect(res.status, await res.clone().text()).toBe(302);
    expect(res.headers.get("Location")).toBe(`${BASE}/user/bob`);
    // A new way to sign in to the account is in its log (Wharf's kind; Quay logs none).
    await logs.deliver();
    expect(await bobsLog("external_login_attach")).toMatchObject([
      { metadata: { service: "sso", service_username: "robert" }, performer: { name: "bob" } },
    ]);
    const login = await complete(await start(), { sub: "subject-bob" });
    expect(await whoami(login)).toBe("bob");
    // Quay's user view lists the account's external logins.
    const me = (await (await call("GET", "/api/v1/user/", { headers: bob })).json()) as { logins: unknown[] };
    expect(me.logins).toEqual([
      { service: "sso", service_identifier: "subject-bob", metadata: { service_username: "robert" } },
    ]);
  });

  it("refuses attaching a subject linked to another account, or from another browser", async () => {
    const taken = await complete(
      await start("attach", bob),
      { sub: "subject-alice", preferred_username: "alice" },
      {
        path: "/oauth2/sso/callback/attach",
        cookies: [bob.Cookie!],
      },
    );
    expect(taken.status).toBe(400);
    expect(await taken.text()).toContain("Company SSO account alice is already attached to a Wharf account");
    // The state of bob's attach, completed in a browser without bob's session.
    const stranger = await complete(
      await start("attach", bob),
      { sub: "subject-carol" },
      { path: "/oauth2/sso/callback/attach" },
    );
    expect(stranger.status).toBe(400);
  });

  it("detaches, after which the subject no longer signs the account in", async () => {
    const logs = recordLogs();
    const res = await call("POST", "/api/v1/detachexternal/sso", { headers: bob });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true });
    // Detaching what is not attached changes nothing and logs nothing.
    expect((await call("POST", "/api/v1/detachexternal/sso", { headers: bob })).status).toBe(200);
    await logs.deliver();
    expect(await bobsLog("external_login_detach")).toMatchObject([
      { metadata: { service: "sso" }, performer: { name: "bob" } },
    ]);
    const login = await complete(await start(), { sub: "subject-bob", preferred_username: "robert" });
    expect(await whoami(login)).toBe("robert");
  });

  it("keeps the only login of an account without a password", async () => {
    const login = await complete(await start(), { sub: "subject-alice" });
    const cookie = cookieNamed(login, "wharf_session")!;
    const csrf = (await (await call("GET", "/csrf_token", { headers: { Cookie: cookie } })).json()) as {
      csrf_token: string;
    };
    const res = await call("POST", "/api/v1/detachexternal/sso", {
      headers: { Cookie: cookie, "X-CSRF-Token": csrf.csrf_token },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_message: string }).error_message).toContain("Set a password");
    expect((await call("POST", "/api/v1/detachexternal/sso")).status).toBe(401);
  });
});
