import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt, SignJWT, UnsecuredJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { database } from "../../../src/db/client";
import { signRegistryToken } from "../../../src/identity/registry-tokens";
import { issueToken } from "../../../src/identity/tokens";
import { findUser } from "../../../src/identity/users";
import { basic } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { errorCode, pushBlob, registryToken, request } from "../helpers/registry";

async function tokenResponse(query: string, authorization?: string) {
  const res = await request("GET", `/v2/auth${query}`, {
    token: null,
    headers: authorization ? { Authorization: authorization } : {},
  });
  return {
    res,
    body:
      res.status === 200
        ? ((await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string })
        : null,
  };
}

function accessOf(token: string) {
  return decodeJwt(token).access as { type: string; name: string; actions: string[] }[];
}

let adminToken: string;
let bobPassword: string;
let bobEncrypted: string;

beforeAll(async () => {
  adminToken = await initializeAdmin("admin-password-1");
  const bob = await api("POST", "/superuser/users", {
    token: adminToken,
    body: { username: "bob", email: "bob@example.com" },
  });
  bobPassword = bob.json.password;
  bobEncrypted = bob.json.encrypted_password;
  // Content in bob's namespace and in admin's, pushed with tokens made for the purpose.
  await pushBlob("bob/app", "bob's blob");
  await pushBlob("admin/secret", "admin's blob");
});

describe("the challenge", () => {
  it("GET /v2/ without a token is 401 with the Bearer challenge naming the token endpoint", async () => {
    const res = await request("GET", "/v2/", { token: null });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("UNAUTHORIZED");
    expect(res.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="http://registry.test/v2/auth",service="registry.test"',
    );
  });

  it("a repository route names the scope it needs", async () => {
    const res = await request("GET", "/v2/bob/app/tags/list", { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="http://registry.test/v2/auth",service="registry.test",scope="repository:bob/app:pull"',
    );
    const push = await request("POST", "/v2/bob/app/blobs/uploads/", { token: null });
    expect(push.headers.get("WWW-Authenticate")).toContain('scope="repository:bob/app:pull,push"');
  });
});

describe("GET /v2/auth", () => {
  it("gives the owner every action on their namespace and nothing on another's", async () => {
    const { res, body } = await tokenResponse(
      "?service=registry.test&scope=repository:bob/app:pull,push&scope=repository:admin/secret:pull",
      basic("bob", bobPassword),
    );
    expect(res.status).toBe(200);
    expect(body!.token).toBe(body!.access_token);
    expect(body!.expires_in).toBe(300);
    expect(accessOf(body!.token)).toEqual([
      { type: "repository", name: "bob/app", actions: ["pull", "push"] },
      { type: "repository", name: "admin/secret", actions: [] },
    ]);
    const claims = decodeJwt(body!.token);
    expect(claims).toMatchObject({ iss: "wharf", sub: "bob", aud: "registry.test" });
    expect(claims.exp! - claims.iat!).toBe(300);

    const pulled = await request("GET", "/v2/bob/app/tags/list", { token: body!.token });
    expect(pulled.status).toBe(200);
    const denied = await request("GET", "/v2/admin/secret/tags/list", { token: body!.token });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("WWW-Authenticate")).toContain('error="insufficient_scope"');
  });

  it("accepts the encrypted password, an OAuth token as $oauthtoken, and an app token as $app or as the password", async () => {
    const scope = "?scope=repository:bob/app:pull";
    expect(accessOf((await tokenResponse(scope, basic("bob", bobEncrypted))).body!.token)[0]!.actions).toEqual([
      "pull",
    ]);
    const bob = await findUser(database(env.DB), "bob");
    const oauth = await issueToken(database(env.DB), { kind: "oauth", userId: bob!.id, scopes: ["repo:read"] });
    expect(accessOf((await tokenResponse(scope, basic("$oauthtoken", oauth))).body!.token)[0]!.actions).toEqual([
      "pull",
    ]);
    const app = await issueToken(database(env.DB), {
      kind: "app",
      userId: bob!.id,
      scopes: ["repo:read", "repo:write"],
      title: "ci",
    });
    expect((await tokenResponse(scope, basic("$app", app))).res.status).toBe(200);
    expect((await tokenResponse(scope, basic("bob", app))).res.status).toBe(200);
    // Each kind only where it belongs.
    expect((await tokenResponse(scope, basic("$app", oauth))).res.status).toBe(401);
    expect((await tokenResponse(scope, basic("$oauthtoken", app))).res.status).toBe(401);
    expect((await tokenResponse(scope, basic("admin", app))).res.status).toBe(401);
  });

  it("refuses a wrong password, an unknown user, a malformed header, and a disabled user", async () => {
    expect((await tokenResponse("", basic("bob", "wrong-password"))).res.status).toBe(401);
    expect((await tokenResponse("", basic("nobody", "whatever-pass"))).res.status).toBe(401);
    expect((await tokenResponse("", "Basic !!!")).res.status).toBe(401);
    await api("PUT", "/superuser/users/bob", { token: adminToken, body: { enabled: false } });
    const refused = await tokenResponse("", basic("bob", bobPassword));
    expect(refused.res.status).toBe(401);
    expect(await errorCode(refused.res)).toBe("UNAUTHORIZED");
    await api("PUT", "/superuser/users/bob", { token: adminToken, body: { enabled: true } });
    expect((await tokenResponse("", basic("bob", bobPassword))).res.status).toBe(200);
  });

  it("gives anonymous callers a token that opens /v2/ and no private repository", async () => {
    const { body } = await tokenResponse("?scope=repository:bob/app:pull&scope=registry:catalog:*");
    expect(accessOf(body!.token)).toEqual([
      { type: "repository", name: "bob/app", actions: [] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
    expect((await request("GET", "/v2/", { token: body!.token })).status).toBe(200);
    expect((await request("GET", "/v2/bob/app/tags/list", { token: body!.token })).status).toBe(401);
    const catalog = await request("GET", "/v2/_catalog", { token: body!.token });
    expect(await catalog.json()).toEqual({ repositories: [] });
  });

  it("answers 400 to a scope it cannot parse", async () => {
    expect((await tokenResponse("?scope=repository:bob/app")).res.status).toBe(400);
    expect((await tokenResponse("?scope=nonsense")).res.status).toBe(400);
    const many = Array.from({ length: 101 }, (_, i) => `scope=repository:bob/r${i}:pull`).join("&");
    const tooMany = await tokenResponse(`?${many}`);
    expect(tooMany.res.status).toBe(400);
    expect(await errorCode(tooMany.res)).toBe("UNSUPPORTED");
    expect(
      (await tokenResponse("?scope=repository:bob/app:pull&scope=repository:bob/app:*", basic("bob", bobPassword))).res
        .status,
    ).toBe(200);
  });
});

describe("GET /v2/auth with many scopes", () => {
  /** The test env with a DB binding that counts the statements prepared on it. */
  function countingEnv() {
    let statements = 0;
    // The binding and the D1 sessions opened on it (/v2/auth reads through one).
    const counting = <T extends D1Database | D1DatabaseSession>(d1: T): T =>
      new Proxy(d1, {
        get(target, property) {
          if (property === "prepare")
            return (query: string) => {
              statements++;
              return target.prepare(query);
            };
          if (property === "withSession")
            return (constraint?: string) => counting((target as D1Database).withSession(constraint));
          const value = Reflect.get(target, property);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    return { env: { ...env, DB: counting(env.DB) } as Env, statements: () => statements };
  }

  it("an anonymous request for 100 scopes reads every repository in one D1 query, and grants as one by one", async () => {
    await api("POST", "/repository", {
      token: adminToken,
      body: { namespace: "admin", repository: "open", visibility: "public", description: "" },
    });
    const names = [...Array.from({ length: 97 }, (_, i) => `nobody/r${i}`), "bob/app", "admin/open", "admin/open"];
    const query = names.map((n) => `scope=repository:${n}:pull`).join("&");
    const counting = countingEnv();
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://registry.test/v2/auth?${query}`) as Parameters<typeof worker.fetch>[0],
      counting.env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(counting.statements()).toBe(1);
    const access = accessOf(((await res.json()) as { token: string }).token);
    expect(access).toHaveLength(100);
    expect(access.filter((a) => a.actions.length > 0)).toEqual([
      { type: "repository", name: "admin/open", actions: ["pull"] },
      { type: "repository", name: "admin/open", actions: ["pull"] },
    ]);
    for (const name of ["bob/app", "admin/open", "nobody/r0"]) {
      const single = accessOf((await tokenResponse(`?scope=repository:${name}:pull`)).body!.token);
      expect(access.find((a) => a.name === name)).toEqual(single[0]);
    }
  });

  it("a user's request for many scopes answers what it answers scope by scope", async () => {
    const names = ["bob/app", "bob/new-one", "admin/open", "admin/secret", "nobody/x"];
    const together = accessOf(
      (
        await tokenResponse(
          `?${names.map((n) => `scope=repository:${n}:pull,push`).join("&")}`,
          basic("bob", bobPassword),
        )
      ).body!.token,
    );
    const apart = [];
    for (const name of names)
      apart.push(
        ...accessOf(
          (await tokenResponse(`?scope=repository:${name}:pull,push`, basic("bob", bobPassword))).body!.token,
        ),
      );
    expect(together).toEqual(apart);
    expect(together[0]).toEqual({ type: "repository", name: "bob/app", actions: ["pull", "push"] });
    expect(together[2]).toEqual({ type: "repository", name: "admin/open", actions: ["pull"] });
  });
});

describe("tokens /v2 refuses", () => {
  const access = [{ type: "repository" as const, name: "bob/app", actions: ["pull"] }];

  it("accepts a good token, then refuses it tampered, re-signed with another key, unsigned, for another audience, or expired", async () => {
    const good = await registryToken(access, "bob");
    expect((await request("GET", "/v2/bob/app/tags/list", { token: good })).status).not.toBe(401);

    const [header, payload, signature] = good.split(".");
    const widened = btoa(
      JSON.stringify({ ...decodeJwt(good), access: [{ type: "repository", name: "admin/secret", actions: ["pull"] }] }),
    )
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    const tampered = `${header}.${widened}.${signature}`;
    const otherKey = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const foreign = await new SignJWT(decodeJwt(good)).setProtectedHeader({ alg: "ES256" }).sign(otherKey.privateKey);
    const unsigned = new UnsecuredJWT(decodeJwt(good)).encode();
    const otherAudience = (
      await signRegistryToken(env, "elsewhere.test", { subject: { kind: "user", name: "bob", id: 1 }, access })
    ).token;
    const expired = (
      await signRegistryToken(
        env,
        "registry.test",
        { subject: { kind: "user", name: "bob", id: 1 }, access },
        Math.floor(Date.now() / 1000) - 3600,
      )
    ).token;
    expect(payload).toBeTruthy();

    for (const [what, token] of Object.entries({
      tampered,
      foreign,
      unsigned,
      otherAudience,
      expired,
      garbage: "not.a.jwt",
    })) {
      const res = await request("GET", "/v2/bob/app/tags/list", { token });
      expect(res.status, what).toBe(401);
      expect(res.headers.get("WWW-Authenticate"), what).toContain('error="invalid_token"');
      expect((await request("GET", "/v2/admin/secret/tags/list", { token })).status, what).toBe(401);
    }
  });

  it("refuses an action the token does not hold", async () => {
    const pullOnly = await registryToken(access, "bob");
    const res = await request("POST", "/v2/bob/app/blobs/uploads/", { token: pullOnly });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toContain(
      'scope="repository:bob/app:pull,push",error="insufficient_scope"',
    );
  });
});
