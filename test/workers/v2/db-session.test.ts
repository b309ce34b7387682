/**
 * D1 read replication on /v2 (src/middleware/db-session.ts): a replica that has not caught up
 * never turns into a false 404 (the lookup is asked again of the primary), and the bookmark a
 * token carries (claim `bm`, signed at /v2/auth) is checked like every other claim.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { signingKeys, TOKEN_ISSUER } from "../../../src/identity/registry-tokens";
import { basic, v2Token } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { FakeUpstream, proxyApi, proxyEnv, proxyPullToken, proxyWorker } from "../helpers/proxy-cache";
import { BASE, OCI_MANIFEST, errorCode, pushImage, registryToken, uniqueName } from "../helpers/registry";

const ADMIN_PASSWORD = "admin-password-1";

let adminToken: string;

beforeAll(async () => {
  adminToken = await initializeAdmin(ADMIN_PASSWORD);
});

/**
 * The test D1 behind a replica that has not seen some rows yet: every read on a session that may
 * use a replica and that `lags` picks (all, by default) finds no row; `first-primary` sessions
 * read the database as it is. Records each session.
 */
function laggingReplicaEnv(sessions: string[], lags: (query: string) => boolean = () => true, base: Env = env): Env {
  const DB = new Proxy(base.DB, {
    get(target, property) {
      if (property === "withSession")
        return (constraint: string) => {
          sessions.push(constraint);
          const session = target.withSession(constraint);
          if (constraint === "first-primary") return session;
          return new Proxy(session, {
            get(inner, name) {
              if (name === "prepare")
                return (query: string) =>
                  inner.prepare(
                    /^\s*select\b/i.test(query) && lags(query) ? `select * from (${query}) where 0` : query,
                  );
              const value = Reflect.get(inner, name);
              return typeof value === "function" ? value.bind(inner) : value;
            },
          });
        };
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ...base, DB } as Env;
}

async function send(bindings: Env, method: string, path: string, token: string, headers: Record<string, string> = {}) {
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...headers } }) as Parameters<
      typeof worker.fetch
    >[0],
    bindings,
    createExecutionContext(),
  );
  return res;
}

describe("a read replica that lags", () => {
  it("answers a pull-only token's pulls from the primary after the replica's miss", async () => {
    const name = uniqueName("lag");
    const image = await pushImage(name, "v1");
    const token = await registryToken([{ type: "repository", name, actions: ["pull"] }]);
    const sessions: string[] = [];
    const lagging = laggingReplicaEnv(sessions);

    const manifest = await send(lagging, "GET", `/v2/${name}/manifests/v1`, token, { Accept: OCI_MANIFEST });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get("Docker-Content-Digest")).toBe(image.digest);
    expect(sessions).toEqual(["first-unconstrained", "first-primary"]);

    sessions.length = 0;
    const blob = await send(lagging, "GET", `/v2/${name}/blobs/${image.layers[0]}`, token);
    expect(blob.status).toBe(200);
    await blob.arrayBuffer();
    expect(sessions).toEqual(["first-unconstrained", "first-primary"]);

    const tags = await send(lagging, "GET", `/v2/${name}/tags/list`, token);
    expect(tags.status).toBe(200);
    expect(await tags.json()).toEqual({ name, tags: ["v1"] });
  });

  it("still answers 404 for what the primary does not hold either", async () => {
    const name = uniqueName("lag");
    await pushImage(name, "v1");
    const token = await registryToken([{ type: "repository", name, actions: ["pull"] }]);
    const sessions: string[] = [];
    const res = await send(laggingReplicaEnv(sessions), "GET", `/v2/${name}/manifests/v2`, token, {
      Accept: OCI_MANIFEST,
    });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("MANIFEST_UNKNOWN");
    expect(sessions).toEqual(["first-unconstrained", "first-primary"]);
  });

  it("is never read for a pusher, so a pusher's 404 asks nothing twice", async () => {
    const name = uniqueName("lag");
    await pushImage(name, "v1");
    const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }]);
    const sessions: string[] = [];
    const res = await send(laggingReplicaEnv(sessions), "HEAD", `/v2/${name}/manifests/v2`, token);
    expect(res.status).toBe(404);
    expect(sessions).toEqual(["first-primary"]);
  });
});

describe("a proxy cache on a lagging replica", () => {
  it("serves what it holds without asking the upstream again for what a replica has not seen", async () => {
    const upstream = new FakeUpstream();
    const uninstall = upstream.install();
    try {
      const admin = adminToken;
      const org = uniqueName("lagcache").replace("/", "-");
      expect(
        (await api("POST", "/organization/", { token: admin, body: { name: org, email: `${org}@example.com` } }))
          .status,
      ).toBe(201);
      expect(
        (
          await proxyApi("POST", `/organization/${org}/proxycache`, admin, {
            upstream_registry: "upstream.test",
            expiration_s: 3600,
          })
        ).status,
      ).toBe(201);
      const image = await upstream.image("library/app", "1");
      const name = `${org}/library/app`;
      const token = await proxyPullToken("admin", ADMIN_PASSWORD, name);
      // The first pull caches the manifest, then the layer (the test D1 is one database).
      const manifest = await proxyWorker("GET", `/v2/${name}/manifests/1`, {
        token,
        headers: { Accept: OCI_MANIFEST },
      });
      expect(manifest.status).toBe(200);
      expect((await proxyWorker("GET", `/v2/${name}/blobs/${image.layer.digest}`, { token })).status).toBe(200);
      expect(upstream.count("getBlob")).toBe(1);

      // A replica that has the organization's cache and repository but not the layer's link: the
      // miss is asked again of the primary, which holds it.
      const sessions: string[] = [];
      const lagging = laggingReplicaEnv(sessions, (query) => query.includes("repository_blobs"), proxyEnv());
      const res = await send(lagging, "GET", `/v2/${name}/blobs/${image.layer.digest}`, token);
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(image.layer.bytes);
      expect(upstream.count("getBlob")).toBe(1);
      expect(sessions).toEqual([decodeJwt(token).bm, "first-primary"]);
    } finally {
      uninstall();
    }
  });
});

describe("the bookmark claim", () => {
  it("is signed for a token naming one namespace, and not across namespaces (a bookmark is one database's)", async () => {
    const admin = basic("admin", ADMIN_PASSWORD);
    const one = (await v2Token(admin, `repository:admin/${uniqueName("bm")}:pull`)).token;
    expect(decodeJwt(one).bm).toEqual(expect.any(String));
    const res = await worker.fetch(
      new Request(`${BASE}/v2/auth?scope=repository:admin/a:pull&scope=repository:other/b:pull`, {
        headers: { Authorization: admin },
      }) as Parameters<typeof worker.fetch>[0],
      env,
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    expect(decodeJwt(((await res.json()) as { token: string }).token).bm).toBeUndefined();
  });

  it("makes a token that carries a malformed one no token", async () => {
    const name = uniqueName("bm");
    await pushImage(name, "v1");
    const keys = await signingKeys(env);
    const forge = (bm: unknown) =>
      new SignJWT({ access: [{ type: "repository", name, actions: ["pull"] }], context: { kind: "anonymous" }, bm })
        .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: keys.kid })
        .setIssuer(TOKEN_ISSUER)
        .setAudience(new URL(BASE).host)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(keys.privateKey);
    const path = `/v2/${name}/manifests/v1`;
    for (const bad of ["x".repeat(129), "not a bookmark", 42, ["a"]]) {
      const res = await send(env, "HEAD", path, await forge(bad));
      expect(res.status, JSON.stringify(bad)).toBe(401);
    }
    const sessions: string[] = [];
    const good = await send(laggingReplicaEnv(sessions), "HEAD", path, await forge("00000000-00000001-00000000-abc"));
    expect(good.status).toBe(200);
    expect(sessions[0]).toBe("00000000-00000001-00000000-abc");
  });
});
