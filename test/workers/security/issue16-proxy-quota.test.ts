/**
 * Attack (issue #16 review): a quota bypass through a proxy cache's blob fills. Room is made (or
 * the image refused) before a manifest is cached, from the layer sizes the manifest declares
 * (src/proxy/eviction.ts); the layers themselves arrive later, on a client's GET, and were stored
 * whatever their real size. An upstream whose manifest declares a tiny layer could fill the cache
 * organization far past its Reject limit (or the system default). A fill now refuses content
 * that does not fit the namespace's room, as a manifest push would be refused.
 */
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { namespaceQuotas, users } from "../../../src/db/schema";
import { db, joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { digestOf, FakeUpstream, proxyApi, proxyPullToken, proxyWorker } from "../helpers/proxy-cache";
import { randomBytes } from "../helpers/registry";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const LIMIT = 10_000;
let password: string;
let upstream: FakeUpstream;
let uninstall: () => void;

beforeAll(async () => {
  const admin = await initializeAdmin();
  password = await makeUser(admin, "qbypasser");
  const owner = await tokenFor("qbypasser");
  expect(
    (await api("POST", "/organization/", { token: owner, body: { name: "qbcache", email: "qbcache@example.com" } }))
      .status,
  ).toBe(201);
  await joinTeam("qbcache", "readers", "member", "qbypasser");
  expect(
    (
      await proxyApi("POST", "/organization/qbcache/proxycache", owner, {
        upstream_registry: "lying.test",
        expiration_s: 3600,
      })
    ).status,
  ).toBe(201);
  const org = (await db().select().from(users).where(eq(users.username, "qbcache")).get())!;
  await db().insert(namespaceQuotas).values({ namespaceId: org.id, limitBytes: LIMIT });
});

beforeEach(() => {
  upstream = new FakeUpstream();
  uninstall = upstream.install();
});
afterEach(() => uninstall());

const token = (repository: string) => proxyPullToken("qbypasser", password, repository);

describe("a proxy cache's layer larger than its manifest declares", () => {
  it("is not stored past the organization's Reject limit", async () => {
    const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux" }));
    const configDigest = await digestOf(config);
    const layer = randomBytes(5 * LIMIT);
    const layerDigest = await digestOf(layer);
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
        // The lie: 10 bytes declared.
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: 10 }],
      }),
    );
    const manifestDigest = await digestOf(manifest);
    upstream.blobs.set(configDigest, config);
    upstream.blobs.set(layerDigest, layer);
    upstream.manifests.set(manifestDigest, { bytes: manifest, mediaType: OCI_MANIFEST });
    upstream.tags.set("big:1", manifestDigest);

    const t = await token("qbcache/big");
    expect(
      (await proxyWorker("GET", "/v2/qbcache/big/manifests/1", { token: t, headers: { Accept: OCI_MANIFEST } })).status,
    ).toBe(200);
    const blob = await proxyWorker("GET", `/v2/qbcache/big/blobs/${layerDigest}`, { token: t });
    expect(blob.status).toBe(403);
    expect(((await blob.json()) as any).errors[0]).toMatchObject({ code: "DENIED" });
    const usage = (await db().select().from(users).where(eq(users.username, "qbcache")).get())!.storageBytes;
    expect(usage).toBeLessThanOrEqual(LIMIT);
  });
});
