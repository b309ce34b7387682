import { env } from "cloudflare:workers";
import { createApp } from "../../../src/app";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { database } from "../../../src/db/client";
import { verifyFederatedRobotToken } from "../../../src/identity/robot-federation";
import { basic, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { BASE, pushBlob, request } from "../helpers/registry";

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
  const res = await request("GET", "/oauth2/federation/robot/token", {
    headers: { Authorization: basic(robot, token) },
  });
  return { status: res.status, json: (await res.json()) as { token?: string; error?: string } };
}

beforeAll(async () => {
  admin = await initializeAdmin();
  await api("POST", "/superuser/users", { token: admin, body: { username: "fed", email: "fed@example.com" } });
  owner = await tokenFor("fed", ["user:admin", "org:admin", "repo:admin"]);
  await api("POST", "/organization", { token: owner, body: { name: "fedtest" } });
  await api("PUT", "/organization/fedtest/robots/robot1", { token: owner });
  await pushBlob("fedtest/app", "federated bytes");
  await api("PUT", "/repository/fedtest/app/permissions/user/fedtest+robot1", {
    token: owner,
    body: { role: "write" },
  });

  const pair = await generateKeyPair("ES256");
  idpKey = pair.privateKey;
  strangerKey = (await generateKeyPair("ES256")).privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "idp-1", alg: "ES256", use: "sig" }] };
  // The identity providers: OpenID discovery and key sets, served to the Worker's fetch, which
  // records every URL it is asked for.
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new Request(input as RequestInfo).url;
    requested.push(url);
    for (const issuer of [ISSUER, LOOPBACK_ISSUER]) {
      if (url === `${issuer}/.well-known/openid-configuration`)
        return Response.json({ issuer, jwks_uri: `${issuer}/protocol/openid-connect/certs` });
      if (url === `${issuer}/protocol/openid-connect/certs`) return Response.json(jwks);
    }
    if (url.startsWith("https://other-idp.test/")) return new Response("no", { status: 404 });
    const hostile = HOSTILE_IDPS[new URL(url).origin];
    if (hostile) return hostile(url);
    return realFetch(input, init);
  });
});

/** Every URL the Worker fetched. */
const requested: string[] = [];
/** An issuer on loopback, reachable only where ALLOW_PRIVATE_OUTBOUND names it. */
const LOOPBACK_ISSUER = "http://127.0.0.1:9999/realms/ci";
/** Public issuers that misbehave: each must end in the same refusal as an issuer that is not there. */
const HOSTILE_IDPS: Record<string, (url: string) => Response> = {
  "https://redirecting-idp.test": () =>
    new Response(null, { status: 302, headers: { Location: "http://169.254.169.254/latest/meta-data/" } }),
  "https://private-jwks-idp.test": (url) =>
    url.endsWith("/openid-configuration")
      ? Response.json({ issuer: "https://private-jwks-idp.test", jwks_uri: "http://10.0.0.9/certs" })
      : new Response("?", { status: 500 }),
  "https://missing-idp.test": () => new Response("Not Found", { status: 404 }),
  "https://down-idp.test": () => {
    throw new TypeError("connect ECONNREFUSED");
  },
  "https://huge-idp.test": () =>
    new Response(new Uint8Array(1 << 20).fill(32), { headers: { "Content-Type": "application/json" } }),
  "https://liar-idp.test": () =>
    Response.json({ issuer: "https://someone-else.test", jwks_uri: "https://liar-idp.test/certs" }),
};

afterAll(() => vi.restoreAllMocks());

describe("robot federation configuration", () => {
  it("starts empty, is set as a whole list, read back, and deleted", async () => {
    expect((await api("GET", "/organization/fedtest/robots/robot1/federation", { token: owner })).json).toEqual([]);
    const set = await api("POST", "/organization/fedtest/robots/robot1/federation", {
      token: owner,
      body: [{ issuer: ISSUER, subject: SUBJECT }],
    });
    expect(set.status).toBe(200);
    expect(set.json).toEqual([{ issuer: ISSUER, subject: SUBJECT }]);
    await api("POST", "/organization/fedtest/robots/robot1/federation", {
      token: owner,
      body: [{ issuer: "https://other-idp.test", subject: "x" }],
    });
    expect((await api("GET", "/organization/fedtest/robots/robot1/federation", { token: owner })).json).toEqual([
      { issuer: "https://other-idp.test", subject: "x" },
    ]);
    expect((await api("DELETE", "/organization/fedtest/robots/robot1/federation", { token: owner })).status).toBe(204);
    expect((await api("GET", "/organization/fedtest/robots/robot1/federation", { token: owner })).json).toEqual([]);
  });

  it("refuses duplicates, non-http issuers, a non-list body, strangers and missing robots", async () => {
    const path = "/organization/fedtest/robots/robot1/federation";
    expectQuayError(
      await api("POST", path, {
        token: owner,
        body: [
          { issuer: ISSUER, subject: "a" },
          { issuer: ISSUER, subject: "a" },
        ],
      }),
      400,
      "invalid_request",
      /Duplicate/,
    );
    expectQuayError(
      await api("POST", path, { token: owner, body: [{ issuer: "ftp://idp.test", subject: "a" }] }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("POST", path, { token: owner, body: { issuer: ISSUER, subject: "a" } }),
      400,
      "invalid_request",
    );
    expectQuayError(await api("GET", path, { token: admin }), 403, "insufficient_scope");
    expectQuayError(
      await api("GET", "/organization/fedtest/robots/ghost/federation", { token: owner }),
      400,
      "invalid_request",
    );
  });
});

describe("GET /oauth2/federation/robot/token", () => {
  beforeAll(async () => {
    await api("POST", "/organization/fedtest/robots/robot1/federation", {
      token: owner,
      body: [{ issuer: ISSUER, subject: SUBJECT }],
    });
  });

  it("exchanges a listed identity's OIDC token for a one-hour robot token that logs in", async () => {
    const res = await exchange("fedtest+robot1", await oidcToken());
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.json.token!);
    expect(claims.sub).toBe("fedtest+robot1");
    expect(claims.exp! - claims.iat!).toBe(3600);
    const login = await request("GET", "/v2/auth?scope=repository:fedtest/app:pull,push", {
      token: null,
      headers: { Authorization: basic("fedtest+robot1", res.json.token!) },
    });
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
    const registry = (await (
      await request("GET", "/v2/auth?scope=repository:fedtest/app:pull", {
        token: null,
        headers: { Authorization: basic("fedtest+robot1", json.token!) },
      })
    ).json()) as { token: string };
    expect(await verifyFederatedRobotToken(db, env, "fedtest+robot1", registry.token)).toBeNull();
    expect((await request("GET", "/v2/fedtest/app/tags/list", { token: json.token! })).status).toBe(401);
    await api("DELETE", "/organization/fedtest/robots/robot1", { token: owner });
    expect(await verifyFederatedRobotToken(db, env, "fedtest+robot1", json.token!)).toBeNull();
  });
});

describe("GET /oauth2/federation/robot/token: the outbound guard (issue #12)", () => {
  const PRIVATE_ISSUERS = [
    "http://127.0.0.1:8080",
    "http://10.0.0.7/realms/ci",
    "http://169.254.169.254",
    "http://[::1]:8443",
    "http://localhost:8080",
    "http://2130706433",
    "http://[::ffff:a9fe:a9fe]",
  ];
  const HOSTILE_ISSUERS = Object.keys(HOSTILE_IDPS);
  const GENERIC = { error: "The token could not be verified" };

  beforeAll(async () => {
    await api("PUT", "/organization/fedtest/robots/guarded", { token: owner });
    await api("PUT", "/repository/fedtest/app/permissions/user/fedtest+guarded", {
      token: owner,
      body: { role: "read" },
    });
    const issuers = [...PRIVATE_ISSUERS, ...HOSTILE_ISSUERS, LOOPBACK_ISSUER];
    const set = await api("POST", "/organization/fedtest/robots/guarded/federation", {
      token: owner,
      body: issuers.map((issuer) => ({ issuer, subject: SUBJECT })),
    });
    expect(set.status).toBe(200);
  });

  /** The exchange through a Worker whose ALLOW_PRIVATE_OUTBOUND is `allow`. */
  async function exchangeWith(allow: string, token: string) {
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as any;
    const req = new Request(`${BASE}/oauth2/federation/robot/token`, {
      headers: { Authorization: basic("fedtest+guarded", token) },
    });
    const res = await createApp().fetch(req, { ...env, ALLOW_PRIVATE_OUTBOUND: allow }, ctx);
    return { status: res.status, json: (await res.json()) as { token?: string; error?: string } };
  }

  it("refuses loopback, private and link-local issuers with a generic error, without a request", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    for (const issuer of PRIVATE_ISSUERS) {
      requested.length = 0;
      const res = await exchange("fedtest+guarded", await oidcToken({ iss: issuer }));
      expect(res.status, issuer).toBe(401);
      expect(res.json, issuer).toEqual(GENERIC);
      expect(requested, issuer).toEqual([]);
    }
    // What was refused and why is in the server's log only.
    expect(warn.mock.calls.map((call) => call.join(" ")).join("\n")).toMatch(/127\.0\.0\.1:8080.*loopback/);
    warn.mockRestore();
  });

  it("answers the same for an issuer that redirects elsewhere, lists a private key set, is missing, down, too large or lying", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    for (const issuer of HOSTILE_ISSUERS) {
      requested.length = 0;
      const res = await exchange("fedtest+guarded", await oidcToken({ iss: issuer }));
      expect(res.status, issuer).toBe(401);
      expect(res.json, issuer).toEqual(GENERIC);
      // Only the issuer itself was asked: never the metadata address it redirected to, nor the private key set.
      expect(
        requested.every((url) => url.startsWith(`${issuer}/`)),
        `${issuer}: ${requested.join(", ")}`,
      ).toBe(true);
    }
    warn.mockRestore();
  });

  it("reaches a loopback issuer that ALLOW_PRIVATE_OUTBOUND names, and only that one", async () => {
    const token = await oidcToken({ iss: LOOPBACK_ISSUER });
    requested.length = 0;
    const refused = await exchangeWith("127.0.0.1:9998", token);
    expect(refused).toEqual({ status: 401, json: GENERIC });
    expect(requested).toEqual([]);
    const allowed = await exchangeWith("127.0.0.1:9999", token);
    expect(allowed.status, allowed.json.error).toBe(200);
    expect(decodeJwt(allowed.json.token!).sub).toBe("fedtest+guarded");
    expect(requested).toEqual([
      `${LOOPBACK_ISSUER}/.well-known/openid-configuration`,
      `${LOOPBACK_ISSUER}/protocol/openid-connect/certs`,
    ]);
  });
});
