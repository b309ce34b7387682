/**
 * Attack (issue #16 review): reading an organization's private repositories by its becoming a
 * proxy cache. A cache grants its members pull on what it does not hold yet (Quay's
 * `can_pullthru`), and the pull path served, with the upstream down or silent about the name,
 * whatever alive tag the repository had. An organization made a cache while holding repositories
 * pushed before thus opened each of them to every member, whatever their permissions, and let
 * the upstream overwrite their tags, and any member's pull evict them for room under a quota.
 * Those repositories now keep their own permissions, are served as stored and are never evicted;
 * the pull-through is for the repositories the cache creates.
 */
import { and, eq } from "drizzle-orm";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { namespaceQuotas, repositories, tags, users } from "../../../src/db/schema";
import { basic, db, joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { FakeUpstream, proxyApi, proxyPullToken, proxyWorker } from "../helpers/proxy-cache";
import { type PushedImage, pushImage } from "../helpers/registry";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
let memberPassword: string;
let adminPassword: string;
let secret: PushedImage;
let upstream: FakeUpstream;
let uninstall: () => void;

beforeAll(async () => {
  const admin = await initializeAdmin();
  adminPassword = await makeUser(admin, "preadmin");
  memberPassword = await makeUser(admin, "premember");
  const owner = await tokenFor("preadmin");
  expect(
    (await api("POST", "/organization/", { token: owner, body: { name: "preorg", email: "preorg@example.com" } }))
      .status,
  ).toBe(201);
  await joinTeam("preorg", "plain", "member", "premember");
  secret = await pushImage("preorg/secret", "v1");
  expect(
    (await proxyApi("POST", "/organization/preorg/proxycache", owner, { upstream_registry: "upstream.test" })).status,
  ).toBe(201);
});

beforeEach(() => {
  upstream = new FakeUpstream();
  uninstall = upstream.install();
});
afterEach(() => uninstall());

const memberToken = (repository: string) => proxyPullToken("premember", memberPassword, repository);

describe("a repository pushed before its organization became a proxy cache", () => {
  it("keeps its permissions: members without read on it get no pull", async () => {
    const token = await memberToken("preorg/secret");
    const pulled = await proxyWorker("GET", "/v2/preorg/secret/manifests/v1", {
      token,
      headers: { Accept: OCI_MANIFEST },
    });
    expect(pulled.status).not.toBe(200);
    const blob = await proxyWorker("GET", `/v2/preorg/secret/blobs/${secret.layers[0]}`, { token });
    expect(blob.status).not.toBe(200);
  });

  it("is not overwritten by the upstream's tag of the same name when its readers pull", async () => {
    const moved = await upstream.image("secret", "v1");
    const admin = await proxyWorker("GET", "/v2/auth?scope=repository:preorg/secret:pull", {
      headers: { Authorization: basic("preadmin", adminPassword) },
    });
    const token = ((await admin.json()) as { token: string }).token;
    const pulled = await proxyWorker("GET", "/v2/preorg/secret/manifests/v1", {
      token,
      headers: { Accept: OCI_MANIFEST },
    });
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get("Docker-Content-Digest")).toBe(secret.digest);
    expect(pulled.headers.get("Docker-Content-Digest")).not.toBe(moved.digest);
  });

  it("while a cache's members pull what it creates", async () => {
    const image = await upstream.image("fresh", "1");
    const token = await memberToken("preorg/fresh");
    const pulled = await proxyWorker("GET", "/v2/preorg/fresh/manifests/1", {
      token,
      headers: { Accept: OCI_MANIFEST },
    });
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get("Docker-Content-Digest")).toBe(image.digest);
    const again = await memberToken("preorg/fresh");
    expect((await proxyWorker("GET", `/v2/preorg/fresh/blobs/${image.layer.digest}`, { token: again })).status).toBe(
      200,
    );
  });
  it("is not evicted to make room for what the cache fetches", async () => {
    const org = (await db().select().from(users).where(eq(users.username, "preorg")).get())!;
    await db()
      .insert(namespaceQuotas)
      .values({ namespaceId: org.id, limitBytes: org.storageBytes + 500 });
    await upstream.image("roomy", "1", 2000);
    const token = await memberToken("preorg/roomy");
    const pulled = await proxyWorker("GET", "/v2/preorg/roomy/manifests/1", {
      token,
      headers: { Accept: OCI_MANIFEST },
    });
    expect(pulled.status).toBe(403);
    const repo = (await db().select().from(repositories).where(eq(repositories.name, "preorg/secret")).get())!;
    const alive = await db()
      .select()
      .from(tags)
      .where(and(eq(tags.repositoryId, repo.id), eq(tags.name, "v1")))
      .all();
    expect(alive.some((t) => t.lifetimeEndMs === null)).toBe(true);
  });
});
