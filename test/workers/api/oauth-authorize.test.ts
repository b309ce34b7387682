/**
 * GET /oauth/authorize (Quay `request_authorization_code`), POST /oauth/denyapp, and
 * POST /oauth/authorizeapp with `response_type=code`: the checks of the request, where each kind
 * of visitor goes, and that nothing is redirected to a URI the application did not register.
 */
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { oauthAuthorizationCodes } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/lib/encoding";
import { db, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin, answerOf } from "../helpers/api";
import { BASE, request } from "../helpers/registry";
import { browser, personMaker } from "../helpers/signed-in";

const REDIRECT = "https://app.example/cb";
let app: { client_id: string; client_secret: string };
let petra: Record<string, string>; // a signed-in browser: Cookie, X-CSRF-Token, its address

beforeAll(async () => {
  const admin = await initializeAdmin();
  const person = personMaker(admin);
  const owner = await person("oona");
  await api("POST", "/organization/", { token: owner.token, body: { name: "authz" } });
  app = (
    await api("POST", "/organization/authz/applications", {
      token: owner.token,
      body: { name: "Deploy bot", redirect_uri: REDIRECT, application_uri: "https://app.example/" },
    })
  ).json;
  const { password } = await person("petra");
  petra = await browser("petra", password);
});

const authorizeUrl = (params: Record<string, string>) => `/oauth/authorize?${new URLSearchParams(params)}`;
const asked = (extra: Record<string, string> = {}) => ({
  client_id: app.client_id,
  redirect_uri: REDIRECT,
  scope: "repo:read user:read",
  response_type: "code",
  state: "st-1",
  ...extra,
});
const cookieOnly = () => ({ Cookie: petra.Cookie! });

function open(params: Record<string, string>, headers: Record<string, string> = {}) {
  return request("GET", authorizeUrl(params), { headers: { Accept: "text/html", ...headers }, redirect: "manual" });
}
function details(params: Record<string, string>, headers: Record<string, string> = cookieOnly()) {
  return request("GET", authorizeUrl(params), {
    headers: { Accept: "application/json", ...headers },
    redirect: "manual",
  }).then(answerOf);
}
function post(path: string, fields: Record<string, string>, headers: Record<string, string> = cookieOnly()) {
  return request("POST", path, {
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

describe("GET /oauth/authorize", () => {
  it("answers an unknown client or a redirect URI the application did not register with an error page, never a redirect", async () => {
    for (const params of [
      asked({ client_id: "NOSUCHCLIENT0000000" }),
      asked({ client_id: "" }),
      asked({ redirect_uri: "https://evil.example/cb" }),
      asked({ redirect_uri: "https://app.example/cbx" }),
      asked({ redirect_uri: "" }),
    ]) {
      for (const headers of [{}, cookieOnly()]) {
        const res = await open(params, headers);
        expect(res.status).toBe(400);
        expect(res.headers.get("Location")).toBeNull();
        expect(res.headers.get("Content-Type")).toMatch(/text\/html/);
        expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
        await res.body?.cancel();
      }
    }
    expectQuayError(await details(asked({ client_id: "NOSUCHCLIENT0000000" })), 400, "invalid_request", /client_id/);
    expectQuayError(
      await details(asked({ redirect_uri: "https://evil.example/" })),
      400,
      "invalid_request",
      /redirect/i,
    );
  });

  it("redirects scope and response_type errors to the checked URI, with the state", async () => {
    const bad = await open(asked({ scope: "repo:read nonsense" }), cookieOnly());
    expect(bad.status).toBe(302);
    expect(bad.headers.get("Location")).toBe(`${REDIRECT}?error=invalid_scope&state=st-1`);
    const other = await open(asked({ response_type: "id_token" }));
    expect(other.headers.get("Location")).toBe(`${REDIRECT}?error=unsupported_response_type&state=st-1`);
    expectQuayError(await details(asked({ scope: "" })), 400, "invalid_request", /scope/);
  });

  it("sends a visitor who is not signed in to /signin and back here", async () => {
    const res = await open(asked());
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location")!, BASE);
    expect(location.pathname).toBe("/signin");
    expect(location.searchParams.get("redirect")).toBe(authorizeUrl(asked()));
    expectQuayError(await details(asked(), {}), 401, "invalid_token");
  });

  it("serves the consent screen to a signed-in user, and its data as JSON on the same URL", async () => {
    const res = await open(asked(), cookieOnly());
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    expect(await res.text()).toContain('<div id="root"');

    const answer = await details(asked({ scope: "repo:read,user:admin" }));
    expect(answer.status).toBe(200);
    expect(answer.headers.get("Cache-Control")).toBe("no-store");
    expect(answer.json).toMatchObject({
      application: { name: "Deploy bot", url: "https://app.example/", organization: { name: "authz" } },
      client_id: app.client_id,
      redirect_uri: REDIRECT,
      scope: "repo:read user:admin",
      response_type: "code",
      state: "st-1",
      has_dangerous_scopes: true,
      already_authorized: false,
      csrf_token: petra["X-CSRF-Token"],
    });
    expect(answer.json.application.avatar.color).toMatch(/^#/);
    expect(answer.json.scopes.map((s: { scope: string; title: string }) => [s.scope, s.title])).toEqual([
      ["repo:read", "View all visible repositories"],
      ["user:admin", "Administer User"],
    ]);
  });

  it("redirects at once a user who already authorized these scopes (or more), with a token or a code", async () => {
    const { Cookie } = petra;
    const approve = await post("/oauth/authorizeapp", {
      ...asked({ scope: "repo:read repo:write user:read", response_type: "token" }),
      _csrf_token: petra["X-CSRF-Token"]!,
    });
    expect(approve.status).toBe(302);
    expect((await details(asked())).json.already_authorized).toBe(true);

    const token = await open(asked({ response_type: "token", scope: "user:read" }), { Cookie: Cookie! });
    expect(token.status).toBe(302);
    const location = new URL(token.headers.get("Location")!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    const fragment = new URLSearchParams(location.hash.slice(1));
    expect((await api("GET", "/user/", { token: fragment.get("access_token")! })).json.username).toBe("petra");

    const code = await open(asked({ scope: "repo:write" }), { Cookie: Cookie! });
    const query = new URL(code.headers.get("Location")!).searchParams;
    expect(query.get("state")).toBe("st-1");
    expect(query.get("code")).toMatch(/^[A-Za-z0-9]{40}$/);

    // A scope never granted still asks.
    expect((await open(asked({ scope: "repo:admin" }), { Cookie: Cookie! })).status).toBe(200);
  });
});

describe("POST /oauth/authorizeapp with response_type=code", () => {
  it("issues a one-time code bound to the client, the redirect URI, the scopes and the user, kept hashed", async () => {
    const res = await post("/oauth/authorizeapp", {
      ...asked({ redirect_uri: `${REDIRECT}/deeper?x=1` }),
      _csrf_token: petra["X-CSRF-Token"]!,
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const location = new URL(res.headers.get("Location")!);
    expect(`${location.origin}${location.pathname}`).toBe(`${REDIRECT}/deeper`);
    expect([...location.searchParams.keys()]).toEqual(["x", "code", "state"]);
    expect(location.hash).toBe("");
    const code = location.searchParams.get("code")!;
    const row = await db()
      .select()
      .from(oauthAuthorizationCodes)
      .where(eq(oauthAuthorizationCodes.codeHash, await sha256Hex(code)))
      .get();
    expect(row).toMatchObject({ redirectUri: `${REDIRECT}/deeper?x=1`, scopes: "repo:read user:read", usedAt: null });
    expect(row!.expiresAt - row!.createdAt).toBe(10 * 60 * 1000);
    expect(JSON.stringify(row)).not.toContain(code);
  });

  it("refuses without the session's CSRF token", async () => {
    const res = await post("/oauth/authorizeapp", { ...asked(), _csrf_token: "wrong" });
    expectQuayError(await answerOf(res), 403, "insufficient_scope", /CSRF/);
  });
});

describe("POST /oauth/denyapp", () => {
  it("sends the user back to the checked redirect URI with error=access_denied and the state", async () => {
    const res = await post("/oauth/denyapp", { ...asked(), _csrf_token: petra["X-CSRF-Token"]! });
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe(`${REDIRECT}?error=access_denied&state=st-1`);
  });

  it("redirects nowhere for an unknown client or URI, and refuses without CSRF or session", async () => {
    const csrf = petra["X-CSRF-Token"]!;
    const evil = await post("/oauth/denyapp", {
      ...asked({ redirect_uri: "https://evil.example/" }),
      _csrf_token: csrf,
    });
    expectQuayError(await answerOf(evil), 400, "invalid_request", /redirect/i);
    const unknown = await post("/oauth/denyapp", { ...asked({ client_id: "NOPE" }), _csrf_token: csrf });
    expectQuayError(await answerOf(unknown), 400, "invalid_request");
    expectQuayError(await answerOf(await post("/oauth/denyapp", asked())), 403, "insufficient_scope");
    expectQuayError(
      await answerOf(await post("/oauth/denyapp", { ...asked(), _csrf_token: csrf }, {})),
      401,
      "invalid_token",
    );
  });
});

describe("an application's token scopes", () => {
  it("an OAuth token of another app does not count as this app's authorization", async () => {
    const { json } = await details(asked({ scope: "org:admin" }));
    expect(json.already_authorized).toBe(false);
    // tokenFor mints tokens with no application: they authorize nothing.
    await tokenFor("petra", ["org:admin"]);
    expect((await details(asked({ scope: "org:admin" }))).json.already_authorized).toBe(false);
  });
});
