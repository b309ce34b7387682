/**
 * Pulls through a proxy-cache organization (src/proxy/pull-through.ts) against a fake upstream
 * that counts what it is asked: Quay's rules of data/registry_model/registry_proxy_model.py and
 * the seeds' proxy-cache chapter, one by one, with the clock moved for expirations.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { and, eq } from "drizzle-orm";
import { namespaceQuotas, repositories, tagPullStats, tags, users } from "../../../src/db/schema";
import { UpstreamError } from "../../../src/upstream/registry";
import { api, initializeAdmin } from "../helpers/api";
import { basic, db, joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { advanceClock, freezeClock } from "../helpers/clock";
import { registryToken } from "../helpers/registry";
import { repositoryObject } from "../../../src/registry/repository-object";
import { recountRepository } from "../../../src/gc/storage";
import { manifests } from "../../../src/db/schema";
import { env } from "cloudflare:workers";
import { FakeUpstream, proxyApi, proxyWorker } from "../helpers/proxy-cache";

const HOUR_S = 3600;
let ownerPassword: string;
let memberPassword: string;
let outsiderPassword: string;
let upstream: FakeUpstream;
let uninstall: () => void;

beforeAll(async () => {
  const admin = await initializeAdmin();
  ownerPassword = await makeUser(admin, "cowner");
  memberPassword = await makeUser(admin, "cmember");
  outsiderPassword = await makeUser(admin, "coutsider");
  const owner = await tokenFor("cowner");
  for (const [org, upstreamRegistry] of [
    ["hub", "upstream.test"],
    ["scoped", "upstream.test/team"],
    ["small", "upstream.test"],
  ]) {
    expect(
      (await api("POST", "/organization/", { token: owner, body: { name: org, email: `${org}@example.com` } })).status,
    ).toBe(201);
    await joinTeam(org!, "readers", "member", "cmember");
    const created = await proxyApi("POST", `/organization/${org}/proxycache`, owner, {
      upstream_registry: upstreamRegistry,
      expiration_s: HOUR_S,
    });
    expect(created.status).toBe(201);
  }
});

beforeEach(() => {
  upstream = new FakeUpstream();
  uninstall = upstream.install();
});

afterEach(() => uninstall());

/** The token /v2/auth mints for `user` asking every action on `repository`, and what it granted. */
async function tokenOf(user: string, password: string, repository: string) {
  const res = await proxyWorker("GET", `/v2/auth?scope=repository:${repository}:pull,push,delete`, {
    headers: { Authorization: basic(user, password) },
  });
  expect(res.status).toBe(200);
  const { token } = (await res.json()) as { token: string };
  const access = decodeJwt(token).access as { actions: string[] }[];
  return { token, actions: access[0]?.actions ?? [] };
}

async function pullManifest(repository: string, reference: string) {
  const { token } = await tokenOf("cmember", memberPassword, repository);
  return proxyWorker("GET", `/v2/${repository}/manifests/${reference}`, {
    token,
    headers: { Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json" },
  });
}
async function pullBlob(repository: string, digest: string) {
  const { token } = await tokenOf("cmember", memberPassword, repository);
  return proxyWorker("GET", `/v2/${repository}/blobs/${digest}`, { token });
}
const bytes = async (res: Response) => new Uint8Array(await res.arrayBuffer());

describe("tokens for a proxy-cache organization", () => {
  it("members may pull what is not cached yet; nobody may push (Quay's can_pullthru, PROJQUAY-9516)", async () => {
    expect((await tokenOf("cmember", memberPassword, "hub/library/nothing-yet")).actions).toEqual(["pull"]);
    const owner = (await tokenOf("cowner", ownerPassword, "hub/library/nothing-yet")).actions;
    expect(owner).toContain("pull");
    expect(owner).not.toContain("push");
    expect((await tokenOf("coutsider", outsiderPassword, "hub/library/nothing-yet")).actions).toEqual([]);
  });

  it("a token holding push from before the organization became a cache is DENIED at upload start", async () => {
    const token = await registryToken(
      [{ type: "repository", name: "hub/library/pushed", actions: ["pull", "push"] }],
      "cowner",
    );
    const res = await proxyWorker("POST", "/v2/hub/library/pushed/blobs/uploads/", { token });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).errors[0].code).toBe("DENIED");
  });
});

describe("pull-through", () => {
  it("a first pull fetches and serves the upstream's bytes; the repository appears, private", async () => {
    const image = await upstream.image("library/app", "1");
    const res = await pullManifest("hub/library/app", "1");
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Content-Digest")).toBe(image.digest);
    expect(await bytes(res)).toEqual(image.bytes);
    expect(upstream.calls).toEqual([`headManifest library/app 1`, `getManifest library/app ${image.digest}`]);
    const repo = await db().select().from(repositories).where(eq(repositories.name, "hub/library/app")).get();
    expect(repo?.visibility).toBe("private");

    // Only the layers asked for: none yet.
    expect(upstream.count("getBlob")).toBe(0);
    const layer = await pullBlob("hub/library/app", image.layer.digest);
    expect(layer.status).toBe(200);
    expect(await bytes(layer)).toEqual(image.layer.bytes);
    expect(upstream.count("getBlob")).toBe(1);

    // Later pulls come from storage: the manifest after a HEAD only, the blob without the upstream.
    upstream.calls.length = 0;
    expect(await bytes(await pullManifest("hub/library/app", "1"))).toEqual(image.bytes);
    expect(await bytes(await pullBlob("hub/library/app", image.layer.digest))).toEqual(image.layer.bytes);
    expect(upstream.calls).toEqual([`headManifest library/app 1`]);
  });

  it("a tag moved upstream is fetched again; the same digest is not", async () => {
    await upstream.image("library/moving", "v");
    await pullManifest("hub/library/moving", "v");
    const moved = await upstream.image("library/moving", "v");
    const res = await pullManifest("hub/library/moving", "v");
    expect(res.headers.get("Docker-Content-Digest")).toBe(moved.digest);
    expect(upstream.count("getManifest")).toBe(2);
  });

  it("an organization caching one namespace asks for <namespace>/<rest>", async () => {
    const image = await upstream.image("team/tool", "2");
    expect((await pullManifest("scoped/tool", "2")).status).toBe(200);
    expect(upstream.calls[0]).toBe("headManifest team/tool 2");
    expect(upstream.configs.at(-1)).toMatchObject({ host: "upstream.test", insecure: false });
    expect((await pullBlob("scoped/tool", image.config.digest)).status).toBe(200);
    expect(upstream.calls.at(-1)).toBe(`getBlob team/tool ${image.config.digest}`);
  });

  it("a manifest by digest is fetched when not cached, under a hidden tag", async () => {
    const image = await upstream.image("library/bydigest", "x");
    const res = await pullManifest("hub/library/bydigest", image.digest);
    expect(res.status).toBe(200);
    expect(await bytes(res)).toEqual(image.bytes);
    expect(upstream.calls).toEqual([`getManifest library/bydigest ${image.digest}`]);
    const { token } = await tokenOf("cmember", memberPassword, "hub/library/bydigest");
    const list = await proxyWorker("GET", "/v2/hub/library/bydigest/tags/list", { token });
    expect(((await list.json()) as any).tags).toEqual([]);
  });

  it("unknown upstream: MANIFEST_UNKNOWN, and no repository is created", async () => {
    const res = await pullManifest("hub/library/absent", "1");
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).errors[0].code).toBe("MANIFEST_UNKNOWN");
    expect(
      await db().select().from(repositories).where(eq(repositories.name, "hub/library/absent")).get(),
    ).toBeUndefined();
  });

  it("a blob no cached manifest names is unknown, and the upstream is not asked", async () => {
    const image = await upstream.image("library/named", "1");
    await pullManifest("hub/library/named", "1");
    const other = await upstream.image("library/other", "1");
    upstream.calls.length = 0;
    const res = await pullBlob("hub/library/named", other.layer.digest);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).errors[0].code).toBe("BLOB_UNKNOWN");
    expect(upstream.calls).toEqual([]);
    expect((await pullBlob("hub/library/named", image.layer.digest)).status).toBe(200);
  });

  it("ten concurrent first pulls of a blob fetch it from the upstream once", async () => {
    const image = await upstream.image("library/crowd", "1", 256 * 1024);
    await pullManifest("hub/library/crowd", "1");
    upstream.blobDelayMs = 50;
    const { token } = await tokenOf("cmember", memberPassword, "hub/library/crowd");
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        proxyWorker("GET", `/v2/hub/library/crowd/blobs/${image.layer.digest}`, { token }),
      ),
    );
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(await bytes(res)).toEqual(image.layer.bytes);
    }
    expect(upstream.count(`getBlob library/crowd ${image.layer.digest}`)).toBe(1);
  });
});

describe("an upstream that lies", () => {
  it("a blob whose bytes are not its digest is refused and nothing is stored; the right bytes later are", async () => {
    const image = await upstream.image("library/liar", "1");
    await pullManifest("hub/library/liar", "1");
    const honest = image.layer.bytes;
    upstream.blobs.set(image.layer.digest, new Uint8Array(honest.byteLength).fill(7));
    const lied = await pullBlob("hub/library/liar", image.layer.digest);
    expect(lied.status).toBe(404);
    expect(((await lied.json()) as any).errors[0].code).toBe("BLOB_UNKNOWN");
    upstream.blobs.set(image.layer.digest, honest);
    const told = await pullBlob("hub/library/liar", image.layer.digest);
    expect(told.status).toBe(200);
    expect(await bytes(told)).toEqual(honest);
  });

  it("a tag whose HEAD names a manifest the upstream cannot give: MANIFEST_UNKNOWN, nothing cached", async () => {
    const image = await upstream.image("library/phantom", "1");
    upstream.manifests.delete(image.digest);
    upstream.tags.set("library/phantom:1", image.digest);
    const head = upstream.headManifest.bind(upstream);
    upstream.headManifest = async (repository, reference) =>
      (await head(repository, reference)) ?? {
        digest: image.digest,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        size: 1,
      };
    const res = await pullManifest("hub/library/phantom", "1");
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).errors[0].code).toBe("MANIFEST_UNKNOWN");
    expect(
      await db().select().from(repositories).where(eq(repositories.name, "hub/library/phantom")).get(),
    ).toBeUndefined();
  });
});

describe("expiration and an unreachable upstream", () => {
  async function tagEnd(repository: string, tag: string) {
    const repo = await db().select().from(repositories).where(eq(repositories.name, repository)).get();
    const rows = await db()
      .select()
      .from(tags)
      .where(and(eq(tags.repositoryId, repo!.id), eq(tags.name, tag)))
      .all();
    return rows.at(-1)!.lifetimeEndMs;
  }

  it("each pull sets the tag to expire expiration_s later (Quay), at most once a minute", async () => {
    const start = freezeClock();
    await upstream.image("library/renewed", "1");
    await pullManifest("hub/library/renewed", "1");
    expect(await tagEnd("hub/library/renewed", "1")).toBe(start + HOUR_S * 1000);
    advanceClock(30_000);
    await pullManifest("hub/library/renewed", "1");
    expect(await tagEnd("hub/library/renewed", "1")).toBe(start + HOUR_S * 1000);
    advanceClock(30 * 60_000);
    await pullManifest("hub/library/renewed", "1");
    expect(await tagEnd("hub/library/renewed", "1")).toBe(start + 30_000 + 30 * 60_000 + HOUR_S * 1000);
  });

  it("upstream down: the cached tag is served within expiration_s, and fails clearly after it", async () => {
    freezeClock();
    const image = await upstream.image("library/stale", "1");
    await pullManifest("hub/library/stale", "1");
    await pullBlob("hub/library/stale", image.layer.digest);
    upstream.failure = new UpstreamError("unreachable", "down");
    advanceClock(HOUR_S * 1000 - 1000);
    const stale = await pullManifest("hub/library/stale", "1");
    expect(stale.status).toBe(200);
    expect(await bytes(stale)).toEqual(image.bytes);
    expect((await pullBlob("hub/library/stale", image.layer.digest)).status).toBe(200);
    // Served stale, the tag was not renewed: an hour after the last successful pull it is gone.
    advanceClock(2000);
    const expired = await pullManifest("hub/library/stale", "1");
    expect(expired.status).toBe(404);
    const error = ((await expired.json()) as any).errors[0];
    expect(error.code).toBe("MANIFEST_UNKNOWN");
    expect(error.message).toMatch(/upstream registry is unavailable/);
    // Back up: pulled again, cached again.
    upstream.failure = null;
    expect((await pullManifest("hub/library/stale", "1")).status).toBe(200);
  });

  it("a layer never pulled while the upstream is down: BLOB_UNKNOWN saying why", async () => {
    const image = await upstream.image("library/half", "1");
    await pullManifest("hub/library/half", "1");
    upstream.failure = new UpstreamError("timeout", "slow");
    const res = await pullBlob("hub/library/half", image.layer.digest);
    expect(res.status).toBe(404);
    const error = ((await res.json()) as any).errors[0];
    expect(error.code).toBe("BLOB_UNKNOWN");
    expect(error.message).toMatch(/upstream registry did not provide it/);
  });
});

describe("a quota on the cache organization", () => {
  async function aliveTags(repository: string) {
    const repo = await db().select().from(repositories).where(eq(repositories.name, repository)).get();
    if (!repo) return [];
    const now = Date.now();
    const rows = await db().select().from(tags).where(eq(tags.repositoryId, repo.id)).all();
    return rows.filter((t) => !t.hidden && (t.lifetimeEndMs === null || t.lifetimeEndMs > now)).map((t) => t.name);
  }

  it("evicts the least recently pulled tags to fit, and refuses an image larger than the quota", async () => {
    const org = (await db().select().from(users).where(eq(users.username, "small")).get())!;
    await db().insert(namespaceQuotas).values({ namespaceId: org.id, limitBytes: 10_000 });
    const a = await upstream.image("lib/a", "1", 400);
    const b = await upstream.image("lib/b", "1", 400);
    for (const [repository, image] of [
      ["small/lib/a", a],
      ["small/lib/b", b],
    ] as const) {
      expect((await pullManifest(repository, "1")).status).toBe(200);
      expect((await pullBlob(repository, image.layer.digest)).status).toBe(200);
    }
    // Usage is quota enforcement's exact figure: each manifest charged when cached, each layer when
    // it arrived; the configs were never fetched, so they count nothing.
    const usage = (await db().select().from(users).where(eq(users.id, org.id)).get())!.storageBytes;
    expect(usage).toBe(a.bytes.byteLength + a.layer.bytes.byteLength + b.bytes.byteLength + b.layer.bytes.byteLength);
    // Usage near the limit (set here rather than pulled there); a was pulled since b (the pull statistics).
    await db().update(users).set({ storageBytes: 9_800 }).where(eq(users.id, org.id));
    const now = Date.now();
    for (const [name, at] of [
      ["small/lib/a", now],
      ["small/lib/b", now - 60_000],
    ] as const) {
      const repo = (await db().select().from(repositories).where(eq(repositories.name, name)).get())!;
      await db()
        .insert(tagPullStats)
        .values({ repositoryId: repo.id, tag: "1", pulls: 1, lastPulledAt: at, lastDigest: "x" });
    }
    await upstream.image("lib/c", "1", 400);
    expect((await pullManifest("small/lib/c", "1")).status).toBe(200);
    expect(await aliveTags("small/lib/a")).toEqual(["1"]);
    expect(await aliveTags("small/lib/b")).toEqual([]);
    expect(await aliveTags("small/lib/c")).toEqual(["1"]);

    await upstream.image("lib/huge", "1", 20_000);
    const huge = await pullManifest("small/lib/huge", "1");
    expect(huge.status).toBe(403);
    expect(((await huge.json()) as any).errors[0]).toMatchObject({
      code: "DENIED",
      message: "Quota has been exceeded on namespace",
    });
    expect(await aliveTags("small/lib/a")).toEqual(["1"]);
  });
});

describe("garbage collection of a cache repository", () => {
  it("collects an expired proxied manifest whose blobs were never all fetched; usage counts only stored bytes", async () => {
    const image = await upstream.image("library/partial", "1", 500);
    await pullManifest("hub/library/partial", "1");
    await pullBlob("hub/library/partial", image.config.digest);
    const repo = (await db().select().from(repositories).where(eq(repositories.name, "hub/library/partial")).get())!;
    await recountRepository(db(), repo.id);
    const counted = (await db().select().from(repositories).where(eq(repositories.id, repo.id)).get())!;
    expect(counted.storageBytes).toBe(image.config.bytes.byteLength + image.bytes.byteLength);

    // The API's readers take the manifest whose layer is not cached: its tags, the manifest itself.
    const owner = await tokenFor("cowner");
    const listed = await proxyApi("GET", "/repository/hub/library/partial/tag/", owner);
    expect(listed.status).toBe(200);
    expect(listed.json.tags.map((t: { name: string }) => t.name)).toEqual(["1"]);
    const shown = await proxyApi("GET", `/repository/hub/library/partial/manifest/${image.digest}`, owner);
    expect(shown.status).toBe(200);
    expect(shown.json.digest).toBe(image.digest);

    const later = Date.now() + 60 * 86_400_000;
    const stub = repositoryObject(env, "hub/library/partial");
    for (let pass = 0; pass < 5; pass++) await stub.collectGarbage(repo.id, later, "hub/library/partial");
    expect(await db().select().from(manifests).where(eq(manifests.repositoryId, repo.id)).all()).toEqual([]);
  });
});
