import { describe, expect, it } from "vitest";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  EMPTY_DIGEST,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  bodyBytes,
  bodyText,
  bytesOf,
  errorCode,
  manifestDescriptor,
  pushDescriptor,
  pushImage,
  putManifest,
  randomBytes,
  request,
  sha256,
  uniqueName,
} from "../helpers/registry";

/** Pushes a config and a layer and returns an (unpushed) image manifest body over them. */
async function imageBody(name: string, mediaType = OCI_MANIFEST, extra: Record<string, unknown> = {}): Promise<string> {
  const docker = mediaType === DOCKER_MANIFEST;
  const config = await pushDescriptor(
    name,
    docker ? DOCKER_CONFIG : OCI_CONFIG,
    JSON.stringify({ os: "linux", id: crypto.randomUUID() }),
  );
  const layer = await pushDescriptor(name, docker ? DOCKER_LAYER : OCI_LAYER, randomBytes(512));
  return JSON.stringify({ schemaVersion: 2, mediaType, config, layers: [layer], ...extra });
}

/** PUT must answer 201 with Location and Docker-Content-Digest; returns the digest. */
async function expectCreated(res: Response, name: string, body: string): Promise<string> {
  expect(res.status, await res.clone().text()).toBe(201);
  const digest = await sha256(body);
  expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
  expect(res.headers.get("Location")).toBe(`/v2/${name}/manifests/${digest}`);
  return digest;
}

/** GET and HEAD by `reference` must answer the stored bytes with the stored media type. */
async function expectPullable(name: string, reference: string, body: string, mediaType: string): Promise<void> {
  const digest = await sha256(body);
  const size = String(bytesOf(body).byteLength);
  const res = await request("GET", `/v2/${name}/manifests/${reference}`, { headers: { Accept: mediaType } });
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toBe(mediaType);
  expect(res.headers.get("Content-Length")).toBe(size);
  expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
  expect(await bodyBytes(res)).toEqual(bytesOf(body));
  const head = await request("HEAD", `/v2/${name}/manifests/${reference}`, { headers: { Accept: mediaType } });
  expect(head.status).toBe(200);
  expect(head.headers.get("Content-Type")).toBe(mediaType);
  expect(head.headers.get("Content-Length")).toBe(size);
  expect(head.headers.get("Docker-Content-Digest")).toBe(digest);
  expect((await bodyBytes(head)).byteLength).toBe(0);
}

async function expectManifestUnknown(name: string, reference: string): Promise<void> {
  const res = await request("GET", `/v2/${name}/manifests/${reference}`);
  expect(res.status, reference).toBe(404);
  expect(await errorCode(res), reference).toBe("MANIFEST_UNKNOWN");
}

async function tagsOf(name: string): Promise<string[]> {
  const res = await request("GET", `/v2/${name}/tags/list`);
  return res.status === 200 ? ((await res.json()) as { tags: string[] }).tags : [];
}

describe("PUT /v2/:name/manifests/:reference", () => {
  it("stores an OCI image manifest by tag, pullable by tag and digest", async () => {
    const name = uniqueName("mf");
    const body = await imageBody(name);
    const digest = await expectCreated(await putManifest(name, "v1", body, OCI_MANIFEST), name, body);
    await expectPullable(name, "v1", body, OCI_MANIFEST);
    await expectPullable(name, digest, body, OCI_MANIFEST);
  });

  it("stores a manifest by digest without a tag", async () => {
    const name = uniqueName("mf");
    const body = await imageBody(name);
    const digest = await sha256(body);
    await expectCreated(await putManifest(name, digest, body, OCI_MANIFEST), name, body);
    await expectPullable(name, digest, body, OCI_MANIFEST);
    expect(await tagsOf(name)).toEqual([]);
  });

  it("stores a Docker schema2 manifest and answers its media type", async () => {
    const name = uniqueName("mf");
    const body = await imageBody(name, DOCKER_MANIFEST);
    const digest = await expectCreated(await putManifest(name, "latest", body, DOCKER_MANIFEST), name, body);
    await expectPullable(name, "latest", body, DOCKER_MANIFEST);
    await expectPullable(name, digest, body, DOCKER_MANIFEST);
  });

  it("takes the media type from Content-Type when the body has no mediaType", async () => {
    const name = uniqueName("mf");
    const withType = JSON.parse(await imageBody(name, DOCKER_MANIFEST)) as Record<string, unknown>;
    delete withType.mediaType;
    const body = JSON.stringify(withType);
    await expectCreated(await putManifest(name, "bare", body, `${DOCKER_MANIFEST}; charset=utf-8`), name, body);
    await expectPullable(name, "bare", body, DOCKER_MANIFEST);
  });

  it("stores an OCI index and a Docker manifest list over pushed children", async () => {
    const name = uniqueName("mf");
    const oci = await imageBody(name);
    const docker = await imageBody(name, DOCKER_MANIFEST);
    await expectCreated(await putManifest(name, await sha256(oci), oci, OCI_MANIFEST), name, oci);
    await expectCreated(await putManifest(name, await sha256(docker), docker, DOCKER_MANIFEST), name, docker);
    const platform = { os: "linux", architecture: "amd64" };
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [await manifestDescriptor(oci, OCI_MANIFEST, { platform })],
    });
    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_LIST,
      manifests: [await manifestDescriptor(docker, DOCKER_MANIFEST, { platform })],
    });
    const indexDigest = await expectCreated(await putManifest(name, "index", index, OCI_INDEX), name, index);
    const listDigest = await expectCreated(await putManifest(name, "list", list, DOCKER_LIST), name, list);
    await expectPullable(name, "index", index, OCI_INDEX);
    await expectPullable(name, indexDigest, index, OCI_INDEX);
    await expectPullable(name, "list", list, DOCKER_LIST);
    await expectPullable(name, listDigest, list, DOCKER_LIST);
  });

  it("stores an artifact whose config is the empty descriptor, pushed first or not, with OCI-Subject", async () => {
    const name = uniqueName("mf");
    const subject = await pushImage(name, "subject");
    const subjectDescriptor = await manifestDescriptor(subject.manifest, OCI_MANIFEST);
    const empty = { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: 2 };
    const layer = await pushDescriptor(name, "application/vnd.example.sbom+json", `{"sbom":"${crypto.randomUUID()}"}`);
    const artifact = (extra: Record<string, unknown>) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: "application/vnd.example.sbom",
        config: empty,
        layers: [layer],
        ...extra,
      });

    // The empty blob was never pushed to this repository: the registry supplies it.
    const first = artifact({ subject: subjectDescriptor });
    const res = await putManifest(name, await sha256(first), first, OCI_MANIFEST);
    await expectCreated(res, name, first);
    expect(res.headers.get("OCI-Subject")).toBe(subject.digest);
    await expectPullable(name, await sha256(first), first, OCI_MANIFEST);
    const emptyBlob = await request("GET", `/v2/${name}/blobs/${EMPTY_DIGEST}`);
    expect(emptyBlob.status).toBe(200);
    expect(await bodyText(emptyBlob)).toBe("{}");

    // Pushed first, in another repository; no subject, so no OCI-Subject.
    const other = uniqueName("mf");
    expect(await pushDescriptor(other, OCI_EMPTY, "{}")).toEqual(empty);
    const otherLayer = await pushDescriptor(other, "application/vnd.example.sbom+json", "{}x");
    const second = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.sbom",
      config: empty,
      layers: [otherLayer],
    });
    const res2 = await putManifest(other, "sbom", second, OCI_MANIFEST);
    await expectCreated(res2, other, second);
    expect(res2.headers.get("OCI-Subject")).toBeNull();
    await expectPullable(other, "sbom", second, OCI_MANIFEST);
  });

  it("accepts a subject that does not exist (yet)", async () => {
    const name = uniqueName("mf");
    const missing = { mediaType: OCI_MANIFEST, digest: await sha256(`nothing ${crypto.randomUUID()}`), size: 123 };
    const body = await imageBody(name, OCI_MANIFEST, { subject: missing });
    const res = await putManifest(name, "dangling", body, OCI_MANIFEST);
    await expectCreated(res, name, body);
    expect(res.headers.get("OCI-Subject")).toBe(missing.digest);
  });

  it("accepts a ~3.9 MB manifest and reads it back identical", async () => {
    const name = uniqueName("mf");
    const body = await imageBody(name, OCI_MANIFEST, { annotations: { big: "x".repeat(3_900_000) } });
    expect(body.length).toBeGreaterThan(3_900_000);
    const digest = await expectCreated(await putManifest(name, "big", body, OCI_MANIFEST), name, body);
    await expectPullable(name, digest, body, OCI_MANIFEST);
  });

  it("accepts a manifest with more layers than one D1 query binds (100)", async () => {
    const name = uniqueName("mf");
    const layers = await Promise.all(
      Array.from({ length: 120 }, (_, i) => pushDescriptor(name, OCI_LAYER, `layer ${i} ${name}`)),
    );
    const body = await imageBody(name, OCI_MANIFEST);
    const manifest = JSON.stringify({ ...JSON.parse(body), layers });
    const digest = await expectCreated(await putManifest(name, "layers", manifest, OCI_MANIFEST), name, manifest);
    await expectPullable(name, digest, manifest, OCI_MANIFEST);
  });

  it("answers 413 to a manifest over 4 MiB, with or without Content-Length, and stores nothing", async () => {
    const name = uniqueName("mf");
    const body = await imageBody(name, OCI_MANIFEST, { annotations: { big: "x".repeat(4 * 1024 * 1024) } });
    const res = await putManifest(name, "huge", body, OCI_MANIFEST);
    expect(res.status).toBe(413);
    const bytes = bytesOf(body);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.byteLength; at += 1 << 20) controller.enqueue(bytes.slice(at, at + (1 << 20)));
        controller.close();
      },
    });
    const streamed = await request("PUT", `/v2/${name}/manifests/huge`, {
      body: stream,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    expect(streamed.status).toBe(413);
    await expectManifestUnknown(name, "huge");
    await expectManifestUnknown(name, await sha256(body));
  });

  it("moves a tag to the manifest pushed last", async () => {
    const name = uniqueName("mf");
    await pushImage(name, "moving");
    const second = await pushImage(name, "moving");
    await expectPullable(name, "moving", second.manifest, OCI_MANIFEST);
  });

  it("serves tags named like the referrers tag schema (sha256-<hex>)", async () => {
    const name = uniqueName("mf");
    const subject = await pushImage(name, "app");
    const tag = subject.digest.replace(":", "-");
    const referrer = await imageBody(name, OCI_MANIFEST, {
      subject: await manifestDescriptor(subject.manifest, OCI_MANIFEST),
    });
    await expectCreated(await putManifest(name, await sha256(referrer), referrer, OCI_MANIFEST), name, referrer);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [await manifestDescriptor(referrer, OCI_MANIFEST)],
    });
    await expectCreated(await putManifest(name, tag, index, OCI_INDEX), name, index);
    expect(await tagsOf(name)).toEqual(["app", tag].sort());
    await expectPullable(name, tag, index, OCI_INDEX);
  });
});

describe("GET /v2/:name/manifests/:reference content negotiation", () => {
  async function pushPlatformIndex(name: string) {
    const amd64 = await pushImage(name, "amd64");
    const arm64 = await pushImage(name, "arm64");
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        await manifestDescriptor(arm64.manifest, OCI_MANIFEST, { platform: { os: "linux", architecture: "arm64" } }),
        await manifestDescriptor(amd64.manifest, OCI_MANIFEST, { platform: { os: "linux", architecture: "amd64" } }),
      ],
    });
    const digest = await expectCreated(await putManifest(name, "multi", index, OCI_INDEX), name, index);
    return { index, digest, amd64 };
  }

  it("answers the linux/amd64 child to a client that accepts no index type", async () => {
    const name = uniqueName("neg");
    const { digest, amd64 } = await pushPlatformIndex(name);
    for (const accept of [DOCKER_MANIFEST, `${OCI_MANIFEST}, ${DOCKER_MANIFEST}`]) {
      for (const reference of ["multi", digest]) {
        const res = await request("GET", `/v2/${name}/manifests/${reference}`, { headers: { Accept: accept } });
        expect(res.status).toBe(200);
        expect(res.headers.get("Docker-Content-Digest")).toBe(amd64.digest);
        expect(res.headers.get("Content-Type")).toBe(OCI_MANIFEST);
        expect(await bodyText(res)).toBe(amd64.manifest);
        const head = await request("HEAD", `/v2/${name}/manifests/${reference}`, { headers: { Accept: accept } });
        expect(head.headers.get("Docker-Content-Digest")).toBe(amd64.digest);
      }
    }
  });

  it("answers the index itself when Accept lists the index type, */*, or nothing", async () => {
    const name = uniqueName("neg");
    const { index, digest } = await pushPlatformIndex(name);
    const accepts = [OCI_INDEX, `${DOCKER_MANIFEST}, ${OCI_INDEX}`, "*/*", `${DOCKER_MANIFEST}, */*`, undefined];
    for (const accept of accepts) {
      const res = await request("GET", `/v2/${name}/manifests/multi`, { headers: accept ? { Accept: accept } : {} });
      expect(res.status, accept).toBe(200);
      expect(res.headers.get("Docker-Content-Digest"), accept).toBe(digest);
      expect(res.headers.get("Content-Type"), accept).toBe(OCI_INDEX);
      expect(await bodyText(res)).toBe(index);
    }
  });
});

describe("DELETE /v2/:name/manifests/:reference", () => {
  it("by tag answers 202; the tag is gone and the manifest still readable by digest", async () => {
    const name = uniqueName("del");
    const { digest, manifest } = await pushImage(name, "doomed");
    await pushImage(name, "kept");
    expect((await request("DELETE", `/v2/${name}/manifests/doomed`)).status).toBe(202);
    await expectManifestUnknown(name, "doomed");
    expect(await tagsOf(name)).toEqual(["kept"]);
    await expectPullable(name, digest, manifest, OCI_MANIFEST);
    const again = await request("DELETE", `/v2/${name}/manifests/doomed`);
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe("MANIFEST_UNKNOWN");
  });

  it("by digest answers 202; digest and tags answer 404 until the manifest is pushed again", async () => {
    const name = uniqueName("del");
    const { digest, manifest } = await pushImage(name, "one");
    await expectCreated(await putManifest(name, "two", manifest, OCI_MANIFEST), name, manifest);
    expect((await request("DELETE", `/v2/${name}/manifests/${digest}`)).status).toBe(202);
    for (const reference of [digest, "one", "two"]) await expectManifestUnknown(name, reference);
    expect((await request("HEAD", `/v2/${name}/manifests/${digest}`)).status).toBe(404);
    expect(await tagsOf(name)).toEqual([]);
    const again = await request("DELETE", `/v2/${name}/manifests/${digest}`);
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe("MANIFEST_UNKNOWN");

    await expectCreated(await putManifest(name, digest, manifest, OCI_MANIFEST), name, manifest);
    await expectPullable(name, digest, manifest, OCI_MANIFEST);
    await expectManifestUnknown(name, "one");
    await expectCreated(await putManifest(name, "one", manifest, OCI_MANIFEST), name, manifest);
    await expectPullable(name, "one", manifest, OCI_MANIFEST);
  });

  it("answers 404 NAME_UNKNOWN in an unknown repository", async () => {
    const res = await request("DELETE", `/v2/${uniqueName("none")}/manifests/latest`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("NAME_UNKNOWN");
  });
});
