/**
 * Quay's proxy-cache configuration operations (endpoints/api/organization.py
 * OrganizationProxyCacheConfig, ProxyCacheConfigValidation): their answers, refusals and
 * authorization, the sealed credentials, and FEATURE_PROXY_CACHE hiding them.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { writableCoreShard } from "../../../src/db/core-shards";
import { ensureShadows, readShadowSource } from "../../../src/db/core-shadows";
import { manifests, proxyCacheConfigs, repositories, tags, users } from "../../../src/db/schema";
import { UpstreamError } from "../../../src/upstream/registry";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { db, joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { FakeUpstream, proxyApi } from "../helpers/proxy-cache";
import { shardDb } from "../helpers/shard-rows";

const ORG = "/organization/pcache";
let owner: string;
let member: string;
let outsider: string;
let upstream: FakeUpstream;
let uninstall: () => void;

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["pcowner", "pcmember", "pcoutsider"]) await makeUser(admin, name);
  owner = await tokenFor("pcowner");
  member = await tokenFor("pcmember");
  outsider = await tokenFor("pcoutsider");
  expect(
    (await api("POST", "/organization/", { token: owner, body: { name: "pcache", email: "pc@example.com" } })).status,
  ).toBe(201);
  await joinTeam("pcache", "readers", "member", "pcmember");
});

afterEach(() => uninstall?.());

function fake(): FakeUpstream {
  upstream = new FakeUpstream();
  uninstall = upstream.install();
  return upstream;
}

const body = {
  upstream_registry: "registry.example.org/library",
  upstream_registry_username: "robot",
  upstream_registry_password: "s3cret-password",
  expiration_s: 3600,
  insecure: true,
};

describe("getProxyCacheConfig, createProxyCacheConfig, deleteProxyCacheConfig", () => {
  it("creates, shows without credentials, refuses a second, deletes", async () => {
    // proxy_cache_view (organization.py): upstream_registry, expiration_s, insecure; "" when none.
    expect(await proxyApi("GET", `${ORG}/proxycache`, member)).toEqual({
      status: 200,
      json: { upstream_registry: "", expiration_s: "", insecure: "" },
    });
    expect(await proxyApi("POST", `${ORG}/proxycache`, owner, { ...body, org_name: "pcache" })).toEqual({
      status: 201,
      json: "Created",
    });
    const shown = await proxyApi("GET", `${ORG}/proxycache`, member);
    expect(shown).toEqual({
      status: 200,
      json: { upstream_registry: "registry.example.org/library", expiration_s: 3600, insecure: true },
    });
    // Sealed at rest: neither credential is stored as sent.
    const row = await db()
      .select({ config: proxyCacheConfigs })
      .from(proxyCacheConfigs)
      .innerJoin(users, eq(users.id, proxyCacheConfigs.namespaceId))
      .where(eq(users.username, "pcache"))
      .get();
    expect(JSON.stringify(row)).not.toContain("s3cret-password");
    expect(row!.config.upstreamUsernameSealed).not.toBe("robot");

    expectQuayError(
      await proxyApi("POST", `${ORG}/proxycache`, owner, body),
      400,
      "invalid_request",
      "Proxy Cache Configuration already exists",
    );
    expect(await proxyApi("DELETE", `${ORG}/proxycache`, owner)).toEqual({ status: 201, json: "Deleted" });
    expect((await proxyApi("DELETE", `${ORG}/proxycache`, owner)).status).toBe(404);
    expect((await proxyApi("GET", `${ORG}/proxycache`, member)).json.upstream_registry).toBe("");
  });

  it("defaults expiration_s to 86400 and insecure to false", async () => {
    expect((await proxyApi("POST", `${ORG}/proxycache`, owner, { upstream_registry: "quay.io" })).status).toBe(201);
    expect((await proxyApi("GET", `${ORG}/proxycache`, owner)).json).toEqual({
      upstream_registry: "quay.io",
      expiration_s: 86400,
      insecure: false,
    });
    expect((await proxyApi("DELETE", `${ORG}/proxycache`, owner)).status).toBe(201);
  });

  it("refuses bodies Quay refuses: no upstream, a URL, wrong types (400)", async () => {
    for (const bad of [
      {},
      { upstream_registry: "" },
      { upstream_registry: "https://quay.io" },
      { upstream_registry: "user@quay.io" },
      { upstream_registry: "quay.io/../x" },
      { upstream_registry: "quay.io:99999" },
      { upstream_registry: "quay.io", expiration_s: "1h" },
      { upstream_registry: "quay.io", expiration_s: -1 },
      { upstream_registry: "quay.io", insecure: "yes" },
      "not json",
      [],
    ]) {
      const answer = await proxyApi("POST", `${ORG}/proxycache`, owner, bad);
      expect(answer.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await proxyApi("GET", `${ORG}/proxycache`, owner)).json.upstream_registry).toBe("");
  });

  it("authorization: 401 anonymous, 403 outsiders and (for changes) members, 403 for an unknown organization", async () => {
    expect((await proxyApi("GET", `${ORG}/proxycache`)).status).toBe(401);
    expect((await proxyApi("POST", `${ORG}/proxycache`, undefined, body)).status).toBe(401);
    expect((await proxyApi("GET", `${ORG}/proxycache`, outsider)).status).toBe(403);
    expect((await proxyApi("POST", `${ORG}/proxycache`, member, body)).status).toBe(403);
    expect((await proxyApi("DELETE", `${ORG}/proxycache`, member)).status).toBe(403);
    expect((await proxyApi("POST", `${ORG}/validateproxycache`, member, body)).status).toBe(403);
    expect((await proxyApi("GET", "/organization/nosuchorg/proxycache", outsider)).status).toBe(403);
    // A token without org:admin.
    const narrow = await tokenFor("pcowner", ["repo:read"]);
    expect((await proxyApi("POST", `${ORG}/proxycache`, narrow, body)).status).toBe(403);
    expect((await proxyApi("GET", `${ORG}/proxycache`, owner)).json.upstream_registry).toBe("");
  });

  it("FEATURE_PROXY_CACHE off: every operation is 404, as Quay's show_if hides them", async () => {
    const off = { ...env, FEATURE_PROXY_CACHE: "false" } as unknown as Env;
    for (const [method, path] of [
      ["GET", `${ORG}/proxycache`],
      ["POST", `${ORG}/proxycache`],
      ["DELETE", `${ORG}/proxycache`],
      ["POST", `${ORG}/validateproxycache`],
    ] as const) {
      expect((await proxyApi(method, path, owner, method === "POST" ? body : undefined, off)).status).toBe(404);
    }
  });
});

describe("validateProxyCacheConfig", () => {
  it('"Valid" when the credentials were accepted, "Anonymous" when none were given (202), storing nothing', async () => {
    const registry = fake();
    expect(await proxyApi("POST", `${ORG}/validateproxycache`, owner, body)).toEqual({ status: 202, json: "Valid" });
    expect(registry.configs.at(-1)).toEqual({
      host: "registry.example.org",
      insecure: true,
      credentials: { username: "robot", password: "s3cret-password" },
    });
    registry.pingAnswer = "anonymous";
    expect(await proxyApi("POST", `${ORG}/validateproxycache`, owner, { upstream_registry: "quay.io" })).toEqual({
      status: 202,
      json: "Anonymous",
    });
    expect(registry.configs.at(-1)).toEqual({ host: "quay.io", insecure: false });
    expect((await proxyApi("GET", `${ORG}/proxycache`, owner)).json.upstream_registry).toBe("");
  });

  it("Quay's refusals: credentials refused or upstream unreachable, any other failure (400)", async () => {
    const registry = fake();
    for (const kind of ["unauthorized", "unreachable", "timeout"] as const) {
      registry.failure = new UpstreamError(kind, "test");
      expectQuayError(
        await proxyApi("POST", `${ORG}/validateproxycache`, owner, body),
        400,
        "invalid_request",
        "Failed login to remote registry. Please verify entered details and try again.",
      );
    }
    registry.failure = new UpstreamError("protocol", "test");
    expectQuayError(
      await proxyApi("POST", `${ORG}/validateproxycache`, owner, body),
      400,
      "invalid_request",
      "Failed to validate Proxy cache configuration",
    );
    expect((await proxyApi("POST", `${ORG}/validateproxycache`, owner, { upstream_registry: "http://x" })).status).toBe(
      400,
    );
  });
});

describe("an organization whose registry core is on a shard", () => {
  it("is refused as a cache while its shard holds an immutable tag (Quay's namespace_has_immutable_tags)", async () => {
    expect(
      (await api("POST", "/organization/", { token: owner, body: { name: "pcimm", email: "pcimm@example.com" } }))
        .status,
    ).toBe(201);
    // Placed with SHARD_REGISTRY_CORE on (off in the tests' Worker): its tags live on the shard only.
    const shard = (await writableCoreShard({ ...env, SHARD_REGISTRY_CORE: "true" } as unknown as Env, "pcimm")).number;
    expect(shard).toBeGreaterThan(0);
    const [repo] = await db().insert(repositories).values({ name: "pcimm/app", namespace: "pcimm" }).returning();
    await ensureShadows(shardDb(shard), (await readShadowSource(db(), repo!.id))!);
    const [manifest] = await shardDb(shard)
      .insert(manifests)
      .values({ repositoryId: repo!.id, digest: `sha256:${"c".repeat(64)}`, mediaType: "x", size: 1 })
      .returning();
    await shardDb(shard)
      .insert(tags)
      .values({ repositoryId: repo!.id, name: "v1", manifestId: manifest!.id, lifetimeStartMs: 1, immutable: true });
    const refused = await proxyApi("POST", "/organization/pcimm/proxycache", owner, { ...body, org_name: "pcimm" });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json)).toContain("immutable tags exist");
    const org = (await db().select().from(users).where(eq(users.username, "pcimm")).get())!;
    expect(await db().select().from(proxyCacheConfigs).where(eq(proxyCacheConfigs.namespaceId, org.id)).all()).toEqual(
      [],
    );
  });
});
