import { env } from "cloudflare:workers";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { database } from "../../../src/db/client";
import { verifyFederatedRobotToken } from "../../../src/identity/robot-federation";
import { basic, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { pushBlob, request } from "../helpers/registry";

const ISSUER = "https://idp.test/realms/ci";
const SUBJECT = "449e14f8-9eb5-4d59-a63e-b7a77c75f770";

let admin: string;
let owner: string;
let idpKey: CryptoKey;
let strangerKey: CryptoKey;
let jwks: { keys: JWK[] };

/** An OIDC token as the test's identity provider would sign it. */
async function oidcToken(claims: { iss?: string; sub?: string; exp?: number } = {}, key: CryptoKey = idpKey) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ azp: "ci" })
    .setProtectedHeader({ alg: "ES256", kid: "idp-1" })
    .setIssuer(claims.iss ?? ISSUER)
    .setSubject(claims.sub ?? SUBJECT)
    .setAudience("account")
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 300)
    .sign(key);
}

async function exchange(robot: string, token: string) {
  const res = await request("GET", "/oauth2/federation/robot/token", { headers: { Authorization: basic(robot, token) } });
  return { status: res.status, json: (await res.json()) as { token?: string; error?: string } };
}

beforeAll(async () => {
  admin = await initializeAdmin();
  await api("POST", "/superuser/users", { token: admin, body: { username: "fed", email: "fed@example.com" } });
  owner = await tokenFor("fed", ["user:admin", "org:admin", "repo:admin"]);
  await api("POST", "/organization", { token: owner, body: { name: "fedtest" } });
  await api("PUT", "/organization/fedtest/robots/robot1", { token: owner });
  await pushBlob("fedtest/app", "federated bytes");
  await api("PUT", "/repository/fedtest/app/permissions/user/fedtest+robot1", { token: owner, body: { role: "write" } });

  const pair = await generateKeyPair("ES256");
  idpKey = pair.privateKey;
  strangerKey = (await generateKeyPair("ES256")).privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "idp-1", alg: "ES256", use: "sig" }] };
  // The identity provider: OpenID discovery and its key set, served to the Worker's fetch.
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new Request(input as RequestInfo).url;
    if (url === `${ISSUER}/.well-known/openid-configuration`) return Response.json({ issuer: ISSUER, jwks_uri: `${ISSUER}/protocol/openid-connect/certs` });
    if (url === `${ISSUER}/protocol/openid-connect/certs`) return Response.json(jwks);
    if (url.startsWith("https://other-idp.test/")) return new Response("no", { status: 404 });
    return realFetch(input, init);
  });
});

afterAll(() => vi.restoreAllMocks());

describe("robot federation configuration", () => {
  it("starts empty, is set as a whole list, read back, and deleted", async () => {
    expect((await api("GET", "/organization/fedtest/robots/robot1/federation", { token: owner })).json).toEqual([]);
    const set = await api("POST", "/organization/fedtest/robots/robot1/federation", { token: owner, body: [{ issuer: ISSUER, subject: SUBJECT }] });
    expect(set.status).toBe(200);
    expect(set.json).toEqual([{ issuer: ISSUER, subject: SUBJECT }]);
    await api("POST", "/organization/fedtest/robots/robot1/federation", { token: owner, body: [{ issuer: "https://other-idp.test", subject: "x" }] });
    expect((await api("GET", "/organization/fedtest/robots/robot1/federation", { token: owner })).json).toEqual([{ issuer: "https://other-idp.test", subject: "x" }]);
    expect((await api("DELETE", "/organization/fedtest/robots/robot1/federation", { token: owner })).status).toBe(204);
    expect((await api("GET", "/organization/fedtest/robots/robot1/federation", { token: owner })).json).toEqual([]);
  });

  it("refuses duplicates, non-http issuers, a non-list body, strangers and missing robots", async () => {
    const path = "/organization/fedtest/robots/robot1/federation";
    expectQuayError(await api("POST", path, { token: owner, body: [{ issuer: ISSUER, subject: "a" }, { issuer: ISSUER, subject: "a" }] }), 400, "invalid_request", /Duplicate/);
    expectQuayError(await api("POST", path, { token: owner, body: [{ issuer: "ftp://idp.test", subject: "a" }] }), 400, "invalid_request");
    expectQuayError(await api("POST", path, { token: owner, body: { issuer: ISSUER, subject: "a" } }), 400, "invalid_request");
    expectQuayError(await api("GET", path, { token: admin }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/organization/fedtest/robots/ghost/federation", { token: owner }), 400, "invalid_request");
  });
});

describe("GET /oauth2/federation/robot/token", () => {
  beforeAll(async () => {
    await api("POST", "/organization/fedtest/robots/robot1/federation", { token: owner, body: [{ issuer: ISSUER, subject: SUBJECT }] });
  });

  it("exchanges a listed identity's OIDC token for a one-hour robot token that logs in", async () => {
    const res = await exchange("fedtest+robot1", await oidcToken());
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.json.token!);
    expect(claims.sub).toBe("fedtest+robot1");
    expect(claims.exp! - claims.iat!).toBe(3600);
    const login = await request("GET", "/v2/auth?scope=repository:fedtest/app:pull,push", { token: null, headers: { Authorization: basic("fedtest+robot1", res.json.token!) } });
    expect(login.status).toBe(200);
    const access = decodeJwt(((await login.json()) as { token: string }).token).access;
    expect(access).toEqual([{ type: "repository", name: "fedtest/app", actions: ["pull", "push"] }]);
  });

  it("refuses an unlisted issuer or subject, a bad signature, an expired token and a robot without federation", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string, RegExp]> = [
      ["fedtest+robot1", await oidcToken({ iss: "https://other-idp.test" }), /issuer is not configured/],
      ["fedtest+robot1", await oidcToken({ sub: "someone-else" }), /subject is not configured/],
      ["fedtest+robot1", await oidcToken({}, strangerKey), /could not be verified/],
      ["fedtest+robot1", await oidcToken({ exp: now - 120 }), /could not be verified/],
      ["fedtest+robot1", "not-a-jwt", /not a JWT/],
      ["fedtest+ghost", await oidcToken(), /Could not find robot/],
    ];
    await api("PUT", "/organization/fedtest/robots/plain", { token: owner });
    cases.push(["fedtest+plain", await oidcToken(), /no federation/]);
    for (const [robot, token, message] of cases) {
      const res = await exchange(robot, token);
      expect(res.status, `${robot} ${message}`).toBe(401);
      expect(res.json.error).toMatch(message);
    }
    expect((await request("GET", "/oauth2/federation/robot/token")).status).toBe(401);
  });

  it("stops working after an hour, for another robot, and once the robot is deleted", async () => {
    const { json } = await exchange("fedtest+robot1", await oidcToken());
    const db = database(env.DB);
    expect(await verifyFederatedRobotToken(db, env, "fedtest+robot1", json.token!)).not.toBeNull();
    expect(await verifyFederatedRobotToken(db, env, "fedtest+robot1", json.token!, Date.now() + 3601_000)).toBeNull();
    expect(await verifyFederatedRobotToken(db, env, "fedtest+plain", json.token!)).toBeNull();
    // A registry token is not a robot token, and a robot token is not a registry token.
    const registry = await (await request("GET", "/v2/auth?scope=repository:fedtest/app:pull", { token: null, headers: { Authorization: basic("fedtest+robot1", json.token!) } })).json() as { token: string };
    expect(await verifyFederatedRobotToken(db, env, "fedtest+robot1", registry.token)).toBeNull();
    expect((await request("GET", "/v2/fedtest/app/tags/list", { token: json.token! })).status).toBe(401);
    await api("DELETE", "/organization/fedtest/robots/robot1", { token: owner });
    expect(await verifyFederatedRobotToken(db, env, "fedtest+robot1", json.token!)).toBeNull();
  });
});
