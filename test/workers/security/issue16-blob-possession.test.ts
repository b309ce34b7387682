/**
 * Attack (issue #16 review): reading another namespace's private blob through upstream content.
 * Blobs are read only where linked, and a push links known content only after its bytes hash to
 * the digest (src/registry/blobs.ts `putMonolithicBlob`). The proxy cache's fill and the shared
 * ingest used to link content the registry already held without reading the upstream's bytes: an
 * admin of a proxy-cache organization (or of a mirrored repository) whose upstream they control
 * serves a manifest naming the digest of a layer in someone else's private repository, pulls that
 * layer through their own repository, and gets the victim's bytes without ever having had them.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { repositoryBlobs } from "../../../src/db/schema";
import type { Digest } from "../../../src/lib/digest";
import { findBlob } from "../../../src/registry/blobs";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { ingestBlob, ingestRepository } from "../../../src/upstream/ingest";
import { UpstreamError } from "../../../src/upstream/registry";
import { joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { testEvents } from "../helpers/events";
import { digestOf, FakeUpstream, proxyApi, proxyPullToken, proxyWorker } from "../helpers/proxy-cache";
import { pushImage, type PushedImage, randomBytes, subjectNamed } from "../helpers/registry";

const db = database(env.DB);
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
let attackerPassword: string;
let victim: PushedImage;
let victimLayerBytes: Uint8Array;
let upstream: FakeUpstream;
let uninstall: () => void;

beforeAll(async () => {
  const admin = await initializeAdmin();
  attackerPassword = await makeUser(admin, "possattacker");
  // The victim's private repository, which the attacker cannot read.
  victim = await pushImage("possvictim/secret", "latest");
  const stored = await env.BLOBS.get((await findBlob(db, victim.layers[0] as Digest))!.storageKey);
  victimLayerBytes = stored ? new Uint8Array(await stored.arrayBuffer()) : new Uint8Array();
  const owner = await tokenFor("possattacker");
  expect(
    (await api("POST", "/organization/", { token: owner, body: { name: "posscache", email: "posscache@example.com" } }))
      .status,
  ).toBe(201);
  await joinTeam("posscache", "readers", "member", "possattacker");
  const created = await proxyApi("POST", "/organization/posscache/proxycache", owner, {
    upstream_registry: "evil.test",
    expiration_s: 3600,
  });
  expect(created.status).toBe(201);
});

beforeEach(() => {
  upstream = new FakeUpstream();
  uninstall = upstream.install();
});
afterEach(() => uninstall());

const pullToken = (repository: string) => proxyPullToken("possattacker", attackerPassword, repository);

describe("a proxy cache's upstream naming another namespace's private blob", () => {
  it("the victim's layer is not served through the cache organization (the upstream never had its bytes)", async () => {
    // The attacker cannot read the victim's repository.
    const direct = await proxyWorker("GET", `/v2/possvictim/secret/blobs/${victim.layers[0]}`, {
      token: await pullToken("possvictim/secret"),
    });
    expect(direct.status).toBe(401);

    const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux" }));
    const configDigest = await digestOf(config);
    upstream.blobs.set(configDigest, config);
    const layerSize = JSON.parse(victim.manifest).layers[0].size as number;
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
        layers: [
          { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: victim.layers[0], size: layerSize },
        ],
      }),
    );
    const manifestDigest = await digestOf(manifest);
    upstream.manifests.set(manifestDigest, { bytes: manifest, mediaType: OCI_MANIFEST });
    upstream.tags.set("steal:latest", manifestDigest);
    // The upstream has no such layer: it answers with bytes of its own under the digest.
    const forged = randomBytes(layerSize);
    upstream.blobs.set(victim.layers[0] as Digest, forged);

    const token = await pullToken("posscache/steal");
    const pulled = await proxyWorker("GET", "/v2/posscache/steal/manifests/latest", {
      token,
      headers: { Accept: OCI_MANIFEST },
    });
    expect(pulled.status).toBe(200);
    const blob = await proxyWorker("GET", `/v2/posscache/steal/blobs/${victim.layers[0]}`, { token });
    const body = new Uint8Array(await blob.arrayBuffer());
    expect(victimLayerBytes.length).toBeGreaterThan(0);
    expect(body).not.toEqual(victimLayerBytes);
    expect(blob.status).toBe(404);
    const cacheRepo = await api("GET", "/repository/posscache/steal", { token: await tokenFor("possattacker") });
    const linked = await db
      .select()
      .from(repositoryBlobs)
      .where(
        and(eq(repositoryBlobs.repositoryId, cacheRepo.json.id ?? -1), eq(repositoryBlobs.digest, victim.layers[0]!)),
      )
      .all();
    expect(linked).toHaveLength(0);
  });
});

describe("the shared ingest (mirror syncs, proxy fills) of content the registry already holds", () => {
  it("links it only when the upstream's bytes are that content; other bytes are refused and nothing is linked", async () => {
    const subject = await subjectNamed("possmirror");
    const scope = {
      env,
      db,
      store: new R2BlobStore(env.BLOBS),
      events: testEvents({
        actor: { kind: "user" as const, name: "possmirror", id: subject.kind === "user" ? subject.id : 0 },
        ip: null,
      }),
    };
    const repository = await ingestRepository(scope, "possmirror/mirrored", { kind: "system" });
    const digest = victim.layers[0] as Digest;
    const forged = randomBytes(victimLayerBytes.length);
    const refusal = await ingestBlob(scope, repository, digest, {
      size: forged.length,
      body: new Response(forged).body!,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(UpstreamError);
    expect((refusal as UpstreamError).kind).toBe("protocol");
    const linked = await db
      .select()
      .from(repositoryBlobs)
      .where(and(eq(repositoryBlobs.repositoryId, repository.id), eq(repositoryBlobs.digest, digest)))
      .all();
    expect(linked).toHaveLength(0);

    // The real bytes prove possession: linked, no second object.
    const info = await ingestBlob(scope, repository, digest, {
      size: victimLayerBytes.length,
      body: new Response(victimLayerBytes).body!,
    });
    expect(info.digest).toBe(digest);
    const after = await db
      .select()
      .from(repositoryBlobs)
      .where(and(eq(repositoryBlobs.repositoryId, repository.id), eq(repositoryBlobs.digest, digest)))
      .all();
    expect(after).toHaveLength(1);
  });
});
