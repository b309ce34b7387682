import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { accessTokens } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/lib/encoding";
import { basic, db, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { BASE, request } from "../helpers/registry";

const PASSWORD = "olga-password-1";
const REDIRECT = "https://app.example/cb";

let olga: string; // org:admin + user:admin token of olga, who owns acme
let app: { client_id: string; client_secret: string };
let cookie: string;
let csrf: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  await api("POST", "/superuser/users", { token: admin, body: { username: "olga", email: "olga@example.com" } });
  await api("PUT", "/superuser/users/olga", { token: admin, body: { password: PASSWORD } });
  olga = await tokenFor("olga", ["org:admin", "user:admin", "user:read"]);
  await api("POST", "/organization/", { token: olga, body: { name: "acme" } });
  app = (
    await api("POST", "/organization/acme/applications", { token: olga, body: { name: "ci", redirect_uri: REDIRECT } })
  ).json;
  const signin = await request("POST", "/api/v1/signin", {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: "olga", password: PASSWORD }),
  });
  cookie = signin.headers.get("Set-Cookie")!.split(";")[0]!;
  csrf = (
    (await (await request("GET", "/csrf_token", { headers: { Cookie: cookie } })).json()) as { csrf_token: string }
  ).csrf_token;
});

type Fields = Record<string, string>;
const form = (fields: Fields) => ({
  "Content-Type": "application/x-www-form-urlencoded",
  body: new URLSearchParams(fields).toString(),
});

/** POST /oauth/authorizeapp through the whole Worker; the binding would follow redirects unless told. */
async function authorize(fields: Fields, headers: Record<string, string> = {}): Promise<Response> {
  const { body, ...type } = form(fields);
  return request("POST", "/oauth/authorizeapp", { headers: { ...type, ...headers }, body, redirect: "manual" });
}

/** The same through an app whose DIRECT_OAUTH_CLIENTID_WHITELIST lists `whitelisted`. */
async function authorizeWhitelisted(
  whitelisted: string,
  fields: Fields,
  headers: Record<string, string> = {},
): Promise<Response> {
  const { body, ...type } = form(fields);
  const init = { method: "POST", headers: { ...type, ...headers }, body };
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as any;
  return createApp().fetch(
    new Request(`${BASE}/oauth/authorizeapp`, init),
    { ...env, DIRECT_OAUTH_CLIENTID_WHITELIST: whitelisted },
    ctx,
  );
}

const asSession = (extra: Fields = {}) => ({
  fields: {
    client_id: app.client_id,
    redirect_uri: REDIRECT,
    scope: "repo:read user:read",
    _csrf_token: csrf,
    ...extra,
  },
  headers: { Cookie: cookie },
});

async function quayError(res: Response) {
  return { status: res.status, json: await res.json() };
}

/** The redirect's URL, its query and its fragment (parsed as a query). */
function redirected(res: Response) {
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("Location")!);
  return { location, query: location.searchParams, fragment: new URLSearchParams(location.hash.slice(1)) };
}

describe("POST /oauth/authorizeapp", () => {
  it("mints a token for the signed-in user with the session's CSRF token, redirecting as Quay's implicit grant", async () => {
    const { fields, headers } = asSession();
    const res = await authorize(fields, headers);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const { location, query, fragment } = redirected(res);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect([...query]).toEqual([["scope", "repo:read user:read"]]);
    expect(fragment.get("access_token")).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(fragment.get("token_type")).toBe("Bearer");
    expect(fragment.get("expires_in")).toBe("315576000");
    expect(res.headers.get("Location")).toMatch(
      /^https:\/\/app\.example\/cb\?scope=repo%3Aread\+user%3Aread#access_token=[A-Za-z0-9]{40}&token_type=Bearer&expires_in=315576000$/,
    );

    const token = fragment.get("access_token")!;
    const me = await api("GET", "/user/", { token });
    expect(me.status).toBe(200);
    expect(me.json.username).toBe("olga");
    const row = await db()
      .select()
      .from(accessTokens)
      .where(eq(accessTokens.tokenHash, await sha256Hex(token)))
      .get();
    expect(row).toMatchObject({ kind: "oauth", scopes: "repo:read user:read" });
    expect(row!.applicationId).not.toBeNull();
    expect(row!.expiresAt! - Date.now()).toBeGreaterThan(315_576_000_000 - 60_000);

    // As a registry password too.
    const login = await request("GET", "/v2/auth?scope=repository:acme/app:pull", {
      token: null,
      headers: { Authorization: basic("$oauthtoken", token) },
    });
    expect(login.status).toBe(200);
    // The CSRF token may come as the header instead of the field.
    const { _csrf_token, ...withoutField } = fields;
    expect((await authorize(withoutField, { ...headers, "X-CSRF-Token": _csrf_token! })).status).toBe(302);
  });

  it("takes multipart/form-data too, and refuses other bodies", async () => {
    const { fields, headers } = asSession();
    const body = new FormData();
    for (const [k, v] of Object.entries(fields)) body.set(k, v);
    const res = await request("POST", "/oauth/authorizeapp", { headers, body, redirect: "manual" });
    expect(redirected(res).fragment.get("access_token")).toMatch(/^[A-Za-z0-9]{40}$/);
    const json = await request("POST", "/oauth/authorizeapp", {
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify(fields),
    });
    expectQuayError(await quayError(json), 400, "invalid_request", /Content-Type/);
    const huge = await authorize({ ...fields, padding: "x".repeat(70_000) }, headers);
    expectQuayError(await quayError(huge), 413, "invalid_request", "Request body too large");
  });

  it("refuses a session without its CSRF token, and no credentials at all", async () => {
    const { fields, headers } = asSession({ _csrf_token: "" });
    expectQuayError(
      await quayError(await authorize(fields, headers)),
      403,
      "insufficient_scope",
      "CSRF token was invalid or missing.",
    );
    expectQuayError(
      await quayError(await authorize({ ...fields, _csrf_token: "x".repeat(43) }, headers)),
      403,
      "insufficient_scope",
      "CSRF token was invalid or missing.",
    );
    expectQuayError(await quayError(await authorize({ ...fields, _csrf_token: csrf })), 401, "invalid_token");
  });

  it("lets a password as Basic mint without CSRF only for a whitelisted client (Quay's direct OAuth)", async () => {
    const fields = { client_id: app.client_id, redirect_uri: REDIRECT, scope: "repo:read,repo:write" };
    const direct = await authorizeWhitelisted(`OTHER ${app.client_id}`, fields, {
      Authorization: basic("olga", PASSWORD),
    });
    const { query, fragment } = redirected(direct);
    expect(query.get("scope")).toBe("repo:read repo:write");
    expect((await api("GET", "/user/", { token: fragment.get("access_token")! })).status).toBe(403); // no user:read
    // Not whitelisted: Basic has no session to check a CSRF token against.
    const refused = await authorize(fields, { Authorization: basic("olga", PASSWORD) });
    expectQuayError(await quayError(refused), 403, "insufficient_scope", "CSRF token was invalid or missing.");
    expectQuayError(
      await quayError(await authorizeWhitelisted("SOMEONEELSE", fields, { Authorization: basic("olga", PASSWORD) })),
      403,
      "insufficient_scope",
    );
    // Basic wins over a cookie: a wrong password is not rescued by the session.
    const wrong = await authorizeWhitelisted(
      app.client_id,
      { ...fields, _csrf_token: csrf },
      { Authorization: basic("olga", "wrong-password"), Cookie: cookie },
    );
    expectQuayError(await quayError(wrong), 401, "invalid_token");
    expectQuayError(
      await quayError(await authorizeWhitelisted(app.client_id, fields, { Authorization: "Basic !!!" })),
      401,
      "invalid_token",
    );
  });

  it("refuses application and OAuth tokens as Basic credentials, even for a whitelisted client", async () => {
    const code = (await api("POST", "/user/apptoken", { token: olga, body: { title: "ci" } })).json.token.token_code;
    const fields = { client_id: app.client_id, redirect_uri: REDIRECT, scope: "repo:read" };
    for (const auth of [basic("olga", code), basic("$app", code), basic("$oauthtoken", olga)]) {
      const res = await authorizeWhitelisted(app.client_id, fields, { Authorization: auth });
      expectQuayError(await quayError(res), 403, "insufficient_scope", "Only a password can authorize an application");
    }
  });

  it("never redirects to a URI the application did not register", async () => {
    const { fields, headers } = asSession();
    for (const bad of [
      { client_id: "NOSUCHCLIENT" },
      { client_id: "" },
      { redirect_uri: "https://evil.example/cb" },
      { redirect_uri: "https://app.example/c" },
      { redirect_uri: "" },
    ]) {
      const res = await authorize({ ...fields, ...bad, scope: "nonsense" }, headers);
      expect(res.headers.get("Location")).toBeNull();
      expectQuayError(await quayError(res), 400, "invalid_request", "Invalid redirect URI");
    }
    // Quay's prefix rule: a longer URI with its own query is fine, and parameters are appended.
    const longer = await authorize({ ...fields, redirect_uri: `${REDIRECT}/deeper?x=1` }, headers);
    expect(longer.headers.get("Location")).toMatch(
      /^https:\/\/app\.example\/cb\/deeper\?x=1&scope=repo%3Aread\+user%3Aread#access_token=/,
    );
    // The registry's own token page is valid for every client.
    expect(
      redirected(await authorize({ ...fields, redirect_uri: `${BASE}/oauth/localapp` }, headers)).location.pathname,
    ).toBe("/oauth/localapp");
    // An application without a registered redirect URI accepts no other.
    const bare = (await api("POST", "/organization/acme/applications", { token: olga, body: { name: "bare" } })).json;
    expectQuayError(
      await quayError(await authorize({ ...fields, client_id: bare.client_id }, headers)),
      400,
      "invalid_request",
      "Invalid redirect URI",
    );
  });

  it("compares scheme, host and port exactly and the path on segment boundaries (issue #12)", async () => {
    const { fields, headers } = asSession();
    const root = (
      await api("POST", "/organization/acme/applications", {
        token: olga,
        body: { name: "root", redirect_uri: "https://app.example.com" },
      })
    ).json;
    const refusedFor: Array<[string, string[]]> = [
      [
        root.client_id,
        [
          "https://app.example.com.evil.example/steal", // a look-alike host that starts with the registered one
          "https://app.example.com@evil.example/", // userinfo: the host is evil.example
          "https://app.example.com:x@evil.example/",
          "https://app.example.com%40evil.example/",
          "https://app.example.com\\@evil.example/", // backslashes: parsers disagree on where the host ends
          "https://app.example.com\\evil.example/",
          "https://app.example.com:8443/", // another port
          "http://app.example.com/", // another scheme
          "https://app.example.com./", // the same name, another string: not what was registered
          "https://app.example.com/#@evil.example/", // RFC 6749 §3.1.2: no fragment
          "//app.example.com/", // no scheme
          "https:app.example.com.evil.example",
          "app.example.com",
          " https://app.example.com/", // whitespace the URL parser would strip
          "https://app.exa\tmple.com/",
        ],
      ],
      [
        app.client_id,
        [
          "https://app.example/cbx", // not a segment boundary
          "https://app.example/CB",
          "https://app.example/cb/../admin", // dot segments resolve outside the registered path
          "https://app.example/cb/%2e%2e/admin",
          "https://app.example/cb/.%2E/admin",
          "https://app.example/cb%2f..%2fadmin", // encoded slashes
          "https://app.example/cb/..%2Fadmin",
          "https://app.example/cb/%5C..%5Cadmin",
          "https://app.example/cb\\..\\admin",
        ],
      ],
    ];
    for (const [clientId, uris] of refusedFor) {
      for (const redirect_uri of uris) {
        const res = await authorize({ ...fields, client_id: clientId, redirect_uri }, headers);
        expect(res.headers.get("Location"), redirect_uri).toBeNull();
        expectQuayError(await quayError(res), 400, "invalid_request", "Invalid redirect URI");
      }
    }
    // What the registered URIs do allow; the Location is the URI as parsed (lower-case host, no default port).
    const allowed: Array<[string, string, string]> = [
      [root.client_id, "https://app.example.com", "https://app.example.com/?"],
      [root.client_id, "https://APP.Example.COM:443/any/path?x=1", "https://app.example.com/any/path?x=1&"],
      [app.client_id, "https://app.example/cb", "https://app.example/cb?"],
      [app.client_id, "https://app.example/cb/x", "https://app.example/cb/x?"],
      [app.client_id, "https://app.example:443/cb/x/y?z=1", "https://app.example/cb/x/y?z=1&"],
    ];
    for (const [clientId, redirect_uri, location] of allowed) {
      const res = await authorize({ ...fields, client_id: clientId, redirect_uri }, headers);
      expect(res.status, redirect_uri).toBe(302);
      expect(
        res.headers.get("Location")!.startsWith(`${location}scope=`),
        `${redirect_uri} → ${res.headers.get("Location")}`,
      ).toBe(true);
    }
    // A registered path ending in a slash allows what is below it, not the path without the slash.
    const slash = (
      await api("POST", "/organization/acme/applications", {
        token: olga,
        body: { name: "slash", redirect_uri: "https://app.example/cb/" },
      })
    ).json;
    expect(
      (await authorize({ ...fields, client_id: slash.client_id, redirect_uri: "https://app.example/cb/x" }, headers))
        .status,
    ).toBe(302);
    expect(
      (await authorize({ ...fields, client_id: slash.client_id, redirect_uri: "https://app.example/cb" }, headers))
        .status,
    ).toBe(400);
    // A registered URI that is no absolute URL allows nothing.
    const junk = (
      await api("POST", "/organization/acme/applications", {
        token: olga,
        body: { name: "junk", redirect_uri: "app.example/cb" },
      })
    ).json;
    expect(
      (await authorize({ ...fields, client_id: junk.client_id, redirect_uri: "app.example/cb" }, headers)).status,
    ).toBe(400);
  });

  it("redirects scope and response_type errors to the validated URI, with the state", async () => {
    const { fields, headers } = asSession();
    expect((await authorize({ ...fields, scope: "repo:read nonsense" }, headers)).headers.get("Location")).toBe(
      `${REDIRECT}?error=invalid_scope`,
    );
    const { scope: _, ...noScope } = fields;
    expect((await authorize(noScope, headers)).headers.get("Location")).toBe(`${REDIRECT}?error=invalid_scope`);
    expect((await authorize({ ...fields, scope: "", state: "s1" }, headers)).headers.get("Location")).toBe(
      `${REDIRECT}?error=invalid_scope&state=s1`,
    );
    const other = await authorize({ ...fields, response_type: "id_token", state: "s2" }, headers);
    expect(other.status).toBe(302);
    expect(other.headers.get("Location")).toBe(`${REDIRECT}?error=unsupported_response_type&state=s2`);
    // Quay mints a token whatever response_type says; an empty or absent one means "token" here.
    expect(
      redirected(await authorize({ ...fields, response_type: "" }, headers)).fragment.get("access_token"),
    ).toBeTruthy();
    expect(
      redirected(await authorize({ ...fields, response_type: "token" }, headers)).fragment.get("access_token"),
    ).toBeTruthy();
  });

  it("returns the state in the query and the fragment", async () => {
    const { fields, headers } = asSession({ state: "a b&c=d/é" });
    const { query, fragment } = redirected(await authorize(fields, headers));
    expect(query.get("state")).toBe("a b&c=d/é");
    expect(fragment.get("state")).toBe("a b&c=d/é");
    expect(fragment.get("access_token")).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it("mints tokens that hold only the scopes granted", async () => {
    const { fields, headers } = asSession({ scope: "repo:read" });
    const token = redirected(await authorize(fields, headers)).fragment.get("access_token")!;
    expectQuayError(
      await api("POST", "/organization/", { token, body: { name: "sneaky" } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("GET", "/user/", { token }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/organization/acme/applications", { token }), 403, "insufficient_scope");
  });

  it("loses its tokens when the application is deleted", async () => {
    const doomed = (
      await api("POST", "/organization/acme/applications", {
        token: olga,
        body: { name: "doomed", redirect_uri: REDIRECT },
      })
    ).json;
    const { fields, headers } = asSession({ client_id: doomed.client_id });
    const token = redirected(await authorize(fields, headers)).fragment.get("access_token")!;
    expect((await api("GET", "/user/", { token })).status).toBe(200);
    expect((await api("DELETE", `/organization/acme/applications/${doomed.client_id}`, { token: olga })).status).toBe(
      204,
    );
    expectQuayError(await api("GET", "/user/", { token }), 401, "invalid_token");
  });

  it("answers unknown /oauth paths in Quay's error JSON", async () => {
    const res = await request("GET", "/oauth/nothing-here");
    expectQuayError(await quayError(res), 404, "not_found");
    expectQuayError(await quayError(await request("GET", "/oauth/authorizeapp")), 404, "not_found");
  });

  it("serves the local handler page that shows a token minted for Wharf's own UI", async () => {
    const res = await request("GET", "/oauth/localapp?scope=repo:read");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain("<h1>Access token</h1>");
  });
});
