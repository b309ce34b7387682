/**
 * A proxy cache's manifests are scanned too: the commit of a manifest fetched from the upstream
 * queues its scan as a push's does, and Clair's layer URL serves a layer the cache has not fetched
 * yet by fetching it from the upstream first, as a /v2 pull of it would.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { leaseOpenJob } from "../helpers/connectors";
import { findRepository } from "../../../src/registry/repositories";
import { scanJobHandler } from "../../../src/secscan/scan-job";
import { basic, db, joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { FakeUpstream, proxyApi, proxyWorker } from "../helpers/proxy-cache";
import { jobContext, openJobs, scannerEnv, scanRow } from "./fixtures";

const cacheEnv = () => scannerEnv({ FEATURE_PROXY_CACHE: "true" });
let memberPassword: string;
let upstream: FakeUpstream;
let uninstall: () => void;

beforeAll(async () => {
  const admin = await initializeAdmin();
  await makeUser(admin, "scache-owner");
  memberPassword = await makeUser(admin, "scache-member");
  const owner = await tokenFor("scache-owner");
  expect(
    (await api("POST", "/organization/", { token: owner, body: { name: "scanhub", email: "scanhub@example.com" } }))
      .status,
  ).toBe(201);
  await joinTeam("scanhub", "readers", "member", "scache-member");
  const created = await proxyApi("POST", "/organization/scanhub/proxycache", owner, {
    upstream_registry: "upstream.test",
    expiration_s: 3600,
  });
  expect(created.status).toBe(201);
});

beforeEach(() => {
  upstream = new FakeUpstream();
  uninstall = upstream.install();
});
afterEach(() => uninstall());

describe("a proxy cache with the scanner on", () => {
  it("queues the fetched manifest's scan, and the layer URL fetches the layer from the upstream", async () => {
    const image = await upstream.image("library/alpine", "3.20");
    const auth = await proxyWorker("GET", "/v2/auth?scope=repository:scanhub/library/alpine:pull", {
      headers: { Authorization: basic("scache-member", memberPassword) },
      env: cacheEnv(),
    });
    const { token } = (await auth.json()) as { token: string };
    const pulled = await proxyWorker("GET", "/v2/scanhub/library/alpine/manifests/3.20", {
      token,
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
      env: cacheEnv(),
    });
    expect(pulled.status).toBe(200);
    const repository = (await findRepository(db(), "scanhub/library/alpine"))!;
    expect(await scanRow(image.digest)).toMatchObject({ status: "queued" });
    expect((await openJobs("scan", image.digest)).map((j) => j.repositoryId)).toEqual([repository.id]);

    const description = (await scanJobHandler.describe(
      await leaseOpenJob("scan", image.digest),
      jobContext(cacheEnv()),
    )) as {
      scan: { layers: { hash: string; uri: string }[] };
    };
    expect(description.scan.layers.map((l) => l.hash)).toEqual([image.layer.digest]);
    expect(upstream.count("getBlob")).toBe(0);
    const res = await proxyWorker("GET", new URL(description.scan.layers[0]!.uri).pathname, { env: cacheEnv() });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(image.layer.bytes);
    expect(upstream.count("getBlob")).toBe(1);
  });

  it("queues nothing with the scanner off", async () => {
    const image = await upstream.image("library/busybox", "1");
    const off = { ...env, FEATURE_PROXY_CACHE: "true" } as unknown as Env;
    const auth = await proxyWorker("GET", "/v2/auth?scope=repository:scanhub/library/busybox:pull", {
      headers: { Authorization: basic("scache-member", memberPassword) },
      env: off,
    });
    const { token } = (await auth.json()) as { token: string };
    const pulled = await proxyWorker("GET", "/v2/scanhub/library/busybox/manifests/1", {
      token,
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
      env: off,
    });
    expect(pulled.status).toBe(200);
    expect(await scanRow(image.digest)).toBeUndefined();
  });
});
