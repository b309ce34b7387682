/**
 * POST /oauth/access_token (Quay `exchange_code_for_token`): the authorization code's exchange,
 * each refusal of RFC 6749 §5.2, and a code used twice revoking the token it gave.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { basic } from "../helpers/accounts";
import { advanceClock } from "../helpers/clock";
import { recordEvents } from "../helpers/events";
import { api, initializeAdmin } from "../helpers/api";
import { request } from "../helpers/registry";
import { browser, personMaker } from "../helpers/signed-in";

const REDIRECT = "https://client.example/oauth/cb";
type App = { client_id: string; client_secret: string };
let app: App;
let other: App;
let quinn: Record<string, string>;

beforeAll(async () => {
  const admin = await initializeAdmin();
  const person = personMaker(admin);
  const owner = await person("owen");
  await api("POST", "/organization/", { token: owner.token, body: { name: "exch" } });
  const make = async (name: string) =>
    (
      await api("POST", "/organization/exch/applications", {
        token: owner.token,
        body: { name, redirect_uri: REDIRECT },
      })
    ).json as App;
  app = await make("first");
  other = await make("second");
  const { password } = await person("quinn");
  quinn = await browser("quinn", password);
});

/** A fresh code for quinn approving `client` (through the consent form's POST). */
async function codeFor(client: App = app, extra: Record<string, string> = {}): Promise<string> {
  const res = await request("POST", "/oauth/authorizeapp", {
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: quinn.Cookie! },
    body: new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      scope: "repo:read user:read",
      response_type: "code",
      _csrf_token: quinn["X-CSRF-Token"]!,
      ...extra,
    }).toString(),
    redirect: "manual",
  });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("Location")!).searchParams.get("code")!;
}

async function exchange(fields: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await request("POST", "/oauth/access_token", {
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
}

const fieldsFor = (code: string, extra: Record<string, string> = {}) => ({
  grant_type: "authorization_code",
  code,
  client_id: app.client_id,
  client_secret: app.client_secret,
  redirect_uri: REDIRECT,
  ...extra,
});

function expectRefusal(answer: { status: number; json: any; headers: Headers }, error: string, status = 400) {
  expect(answer.status).toBe(status);
  expect(answer.json.error).toBe(error);
  expect(typeof answer.json.error_description).toBe("string");
  expect(answer.headers.get("Cache-Control")).toBe("no-store");
}

describe("POST /oauth/access_token", () => {
  it("exchanges a code with the client id and secret for a Bearer token of the code's scopes", async () => {
    const answer = await exchange(fieldsFor(await codeFor()));
    expect(answer.status).toBe(200);
    expect(answer.headers.get("Cache-Control")).toBe("no-store");
    expect(answer.headers.get("Pragma")).toBe("no-cache");
    expect(answer.json).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9]{40}$/),
      token_type: "Bearer",
      expires_in: 315576000,
      scope: "repo:read user:read",
    });
    const me = await api("GET", "/user/", { token: answer.json.access_token });
    expect(me.json.username).toBe("quinn");
    // The token is one of quinn's authorizations of this application.
    const mine = await request("GET", "/api/v1/user/authorizations", { headers: { Cookie: quinn.Cookie! } });
    const names = ((await mine.json()) as { authorizations: { application: { name: string } }[] }).authorizations;
    expect(names.map((a) => a.application.name)).toContain("first");
  });

  it("takes the client's credentials as HTTP Basic too, and a matching scope", async () => {
    const { client_id: _, client_secret: __, ...rest } = fieldsFor(await codeFor());
    const answer = await exchange(
      { ...rest, scope: "user:read,repo:read" },
      { Authorization: basic(app.client_id, app.client_secret) },
    );
    expect(answer.status).toBe(200);
    expect(answer.json.scope).toBe("repo:read user:read");
  });

  it("refuses a code used twice and revokes the token its first use gave", async () => {
    const code = await codeFor();
    const first = await exchange(fieldsFor(code));
    expect((await api("GET", "/user/", { token: first.json.access_token })).status).toBe(200);
    expectRefusal(await exchange(fieldsFor(code)), "invalid_grant");
    expect((await api("GET", "/user/", { token: first.json.access_token })).status).toBe(401);
    expectRefusal(await exchange(fieldsFor(code)), "invalid_grant");
  });

  it("reports the token's creation from the exchange and its revocation on the code's reuse, as the approving user", async () => {
    const code = await codeFor();
    const recorder = recordEvents();
    const first = await exchange(fieldsFor(code));
    await exchange(fieldsFor(code));
    const created = await recorder.published("create_oauth_api_token");
    expect(created).toHaveLength(1);
    expect(created[0]!.namespace).toBe("quinn");
    expect(created[0]!.actor).toMatchObject({ kind: "user", name: "quinn" });
    expect(created[0]!.data).toMatchObject({
      application: { clientId: app.client_id, name: "first" },
      scope: "repo:read user:read",
    });
    const revoked = await recorder.published("revoke_oauth_api_token");
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.data).toMatchObject({ application: { clientId: app.client_id }, scope: "repo:read user:read" });
    expect(first.status).toBe(200);
  });

  it("refuses two exchanges of one code racing: at most one token lives", async () => {
    const code = await codeFor();
    const answers = await Promise.all([exchange(fieldsFor(code)), exchange(fieldsFor(code))]);
    const tokens = answers.filter((a) => a.status === 200).map((a) => a.json.access_token as string);
    expect(answers.some((a) => a.json.error === "invalid_grant")).toBe(true);
    let live = 0;
    for (const token of tokens) if ((await api("GET", "/user/", { token })).status === 200) live++;
    expect(live).toBe(0);
  });

  it("refuses a wrong, missing or unknown client with invalid_client (401 and a challenge under Basic)", async () => {
    const code = await codeFor();
    expectRefusal(await exchange(fieldsFor(code, { client_secret: "WRONG" })), "invalid_client");
    expectRefusal(await exchange(fieldsFor(code, { client_secret: "" })), "invalid_client");
    expectRefusal(await exchange(fieldsFor(code, { client_id: "NOSUCHCLIENT" })), "invalid_client");
    expectRefusal(await exchange(fieldsFor(code, { client_secret: other.client_secret })), "invalid_client");
    const { client_id: _, client_secret: __, ...rest } = fieldsFor(code);
    const viaBasic = await exchange(rest, { Authorization: basic(app.client_id, "WRONG") });
    expectRefusal(viaBasic, "invalid_client", 401);
    expect(viaBasic.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
    expectRefusal(await exchange(rest, { Authorization: "Basic !!!" }), "invalid_client", 401);
    // None of those spent the code.
    expect((await exchange(fieldsFor(code))).status).toBe(200);
  });

  it("refuses another application's code, an unknown code and an expired one with invalid_grant", async () => {
    const code = await codeFor(other);
    expectRefusal(await exchange(fieldsFor(code)), "invalid_grant");
    expectRefusal(await exchange(fieldsFor("A".repeat(40))), "invalid_grant");
    const late = await codeFor();
    advanceClock(10 * 60 * 1000 + 1000);
    expectRefusal(await exchange(fieldsFor(late)), "invalid_grant");
  });

  it("refuses a redirect_uri other than the one the code went to", async () => {
    const code = await codeFor(app, { redirect_uri: `${REDIRECT}/deeper` });
    expectRefusal(await exchange(fieldsFor(code)), "invalid_grant");
    expectRefusal(await exchange(fieldsFor(code, { redirect_uri: "https://evil.example/" })), "invalid_grant");
    expectRefusal(await exchange(fieldsFor(code, { redirect_uri: "" })), "invalid_request");
    expect((await exchange(fieldsFor(code, { redirect_uri: `${REDIRECT}/deeper` }))).status).toBe(200);
  });

  it("refuses a scope other than the code's with invalid_scope", async () => {
    const code = await codeFor();
    expectRefusal(await exchange(fieldsFor(code, { scope: "repo:read" })), "invalid_scope");
    expectRefusal(await exchange(fieldsFor(code, { scope: "repo:read user:read super:user" })), "invalid_scope");
    expectRefusal(await exchange(fieldsFor(code, { scope: "nonsense" })), "invalid_scope");
  });

  it("refuses malformed requests with invalid_request or unsupported_grant_type", async () => {
    const code = await codeFor();
    expectRefusal(await exchange(fieldsFor(code, { grant_type: "" })), "invalid_request");
    expectRefusal(await exchange(fieldsFor(code, { grant_type: "password" })), "unsupported_grant_type");
    expectRefusal(await exchange(fieldsFor(code, { grant_type: "refresh_token" })), "unsupported_grant_type");
    expectRefusal(await exchange(fieldsFor("", {})), "invalid_request");
    const twice = await request("POST", "/oauth/access_token", {
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `${new URLSearchParams(fieldsFor(code))}&code=${code}`,
    });
    expectRefusal({ status: twice.status, headers: twice.headers, json: await twice.json() }, "invalid_request");
    const asJson = await request("POST", "/oauth/access_token", {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(fieldsFor(code)),
    });
    expectRefusal({ status: asJson.status, headers: asJson.headers, json: await asJson.json() }, "invalid_request");
    const huge = await request("POST", "/oauth/access_token", {
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `${new URLSearchParams(fieldsFor(code))}&pad=${"x".repeat(70_000)}`,
    });
    expectRefusal({ status: huge.status, headers: huge.headers, json: await huge.json() }, "invalid_request", 413);
    // The code is still good after all of those.
    expect((await exchange(fieldsFor(code))).status).toBe(200);
  });

  it("refuses GET", async () => {
    const res = await request("GET", "/oauth/access_token");
    expect(res.status).toBe(404);
  });
});
