/**
 * Real clients against the running registry: skopeo, podman and buildah push and pull images
 * and multi-arch indexes, and what comes back is what went in, byte for byte.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  Buildah,
  login,
  Podman,
  registryHost,
  skopeo,
  skopeoCopy,
  skopeoInspect,
  skopeoInspectRaw,
} from "./helpers/clients";
import { connectWharf } from "./helpers/server";
import {
  buildImageLayout,
  buildMultiArchLayout,
  layerFiles,
  reachableDigests,
  readLayout,
  sha256,
  type BuiltImage,
} from "./helpers/oci-layout";

const base = inject("wharfUrl");
let wharf: Awaited<ReturnType<typeof connectWharf>>;
/** fetch as the repository namespace's owner, logged in (helpers/registry-auth.ts). */
const registryFetch = (input: string | URL, init?: RequestInit) => wharf.login.fetch(input, init);
const host = registryHost(base);
const run = randomBytes(3).toString("hex");
let tmp: string;

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-clients-"));
  // The repositories here live in the namespace "e2e": log in as its owner, with a password.
  await login(host, await wharf.credentialsFor("e2e"), path.join(tmp, "auth.json"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh directory under the file's temp dir. */
async function dir(name: string): Promise<string> {
  return mkdtemp(path.join(tmp, `${name}-`));
}

/** Asserts that every digest in `digests` is in both layouts, byte-identical and verifying. */
async function expectSameBlobs(srcDir: string, dstDir: string, digests: string[]): Promise<void> {
  const src = await readLayout(srcDir);
  const dst = await readLayout(dstDir);
  for (const digest of digests) {
    expect(dst.blobs.get(digest), `blob ${digest} in the pulled layout`).toBe(digest);
    expect((await dst.read(digest)).equals(await src.read(digest)), `blob ${digest} byte-identical`).toBe(true);
  }
}

/** The registry's own answer for a manifest: status, digest header and body digest. */
async function headManifest(repo: string, reference: string) {
  const res = await registryFetch(`${base}/v2/${repo}/manifests/${reference}`, {
    headers: {
      Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
    },
  });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, digest: res.headers.get("docker-content-digest"), bodyDigest: sha256(body) };
}

let pushedImage: { repo: string; tag: string; image: BuiltImage } | undefined;

describe("skopeo", () => {
  it("copies a multi-layer image in and back out unchanged", async () => {
    const src = await dir("image-src");
    const image = await buildImageLayout(src, "v1", { layers: 4 });
    expect(image.layers).toHaveLength(4);
    const repo = `e2e/skopeo-image-${run}`;
    const ref = `docker://${host}/${repo}:v1`;

    await skopeoCopy(`oci:${src}:v1`, ref);

    const raw = await skopeoInspectRaw(ref);
    expect(sha256(raw)).toBe(image.manifest.digest);
    expect(await headManifest(repo, "v1")).toEqual({
      status: 200,
      digest: image.manifest.digest,
      bodyDigest: image.manifest.digest,
    });
    const summary = await skopeoInspect(ref);
    expect(summary.Digest).toBe(image.manifest.digest);
    expect(summary.Layers).toEqual(image.layers.map((l) => l.digest));
    expect(summary.Architecture).toBe("amd64");

    const dst = await dir("image-dst");
    await skopeoCopy(ref, `oci:${dst}:v1`);
    const pulled = await readLayout(dst);
    expect(pulled.refs.get("v1")?.digest).toBe(image.manifest.digest);
    const digests = await reachableDigests(pulled, image.manifest.digest);
    expect(digests).toEqual([image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)].sort());
    await expectSameBlobs(src, dst, digests);
    pushedImage = { repo, tag: "v1", image };
  });

  it("copies a multi-arch index with --all both ways, children included", async () => {
    const src = await dir("index-src");
    const built = await buildMultiArchLayout(src, "multi");
    const repo = `e2e/skopeo-index-${run}`;
    const ref = `docker://${host}/${repo}:multi`;

    await skopeoCopy(`oci:${src}:multi`, ref, { all: true });

    expect(sha256(await skopeoInspectRaw(ref))).toBe(built.index.digest);
    for (const image of built.images) {
      const child = await skopeoInspectRaw(`docker://${host}/${repo}@${image.manifest.digest}`);
      expect(sha256(child)).toBe(image.manifest.digest);
    }
    const index = JSON.parse((await skopeoInspectRaw(ref)).toString("utf8"));
    expect(index.manifests.map((m: any) => [m.digest, m.platform.architecture])).toEqual(
      built.images.map((image, i) => [image.manifest.digest, ["amd64", "arm64"][i]]),
    );

    const dst = await dir("index-dst");
    await skopeoCopy(ref, `oci:${dst}:multi`, { all: true });
    const pulled = await readLayout(dst);
    expect(pulled.refs.get("multi")?.digest).toBe(built.index.digest);
    const expected = [
      built.index.digest,
      ...built.images.flatMap((i) => [i.manifest.digest, i.config.digest, ...i.layers.map((l) => l.digest)]),
    ].sort();
    const digests = await reachableDigests(pulled, built.index.digest);
    expect(digests).toEqual(expected);
    await expectSameBlobs(src, dst, digests);
  });
});

describe("podman", () => {
  it("pulls the skopeo-pushed image, pushes it to another repository, and pulls that back", async () => {
    expect(pushedImage, "the skopeo image test ran first").toBeDefined();
    const { repo, tag, image } = pushedImage!;
    const podman = await Podman.create();
    try {
      const source = `${host}/${repo}:${tag}`;
      const target = `${host}/e2e/podman-copy-${run}:v2`;
      const id = await podman.pull(source);
      // A podman image id is its config's digest.
      expect(`sha256:${id}`).toBe(image.config.digest);

      await podman.tag(source, target);
      await podman.push(target);

      const summary = await skopeoInspect(`docker://${target}`);
      expect(summary.Name).toBe(`${host}/e2e/podman-copy-${run}`);
      expect(summary.Architecture).toBe("amd64");
      expect(summary.Layers).toHaveLength(image.layers.length);
      const raw = await skopeoInspectRaw(`docker://${target}`);
      expect(summary.Digest).toBe(sha256(raw));
      const pushed = JSON.parse(raw.toString("utf8"));
      // podman re-encodes the manifest as it likes, but the image config travels unchanged.
      expect(pushed.config.digest).toBe(image.config.digest);
      const config = await skopeo(["inspect", "--config", "--raw", "--tls-verify=false", `docker://${target}`]);
      expect(sha256(config.stdout)).toBe(image.config.digest);
      // Every layer the manifest names is served by the new repository with that digest.
      for (const layer of pushed.layers) {
        const blob = await registryFetch(`${base}/v2/e2e/podman-copy-${run}/blobs/${layer.digest}`);
        expect(blob.status).toBe(200);
        expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(layer.digest);
      }

      await podman.rmi(target);
      await podman.rmi(source);
      await expect(podman.imageId(target)).rejects.toThrow();
      expect(await podman.pull(target)).toBe(id);
      expect(await podman.imageId(target)).toBe(id);
    } finally {
      await podman.dispose();
    }
  });
});

describe("buildah", () => {
  it("builds FROM scratch + COPY, pushes, and the layer holds the file unchanged", async () => {
    const context = await dir("buildah-ctx");
    const content = randomBytes(50_000);
    await writeFile(path.join(context, "file.txt"), content);
    await writeFile(path.join(context, "Dockerfile"), "FROM scratch\nCOPY file.txt /file.txt\n");
    const buildah = await Buildah.create();
    const ref = `${host}/e2e/buildah-app-${run}:built`;
    try {
      await buildah.build(context, ref);
      await buildah.push(ref);
    } finally {
      await buildah.dispose();
    }

    const raw = await skopeoInspectRaw(`docker://${ref}`);
    const manifest = JSON.parse(raw.toString("utf8"));
    expect(manifest.layers).toHaveLength(1);

    const dst = await dir("buildah-dst");
    await skopeoCopy(`docker://${ref}`, `oci:${dst}:built`);
    const pulled = await readLayout(dst);
    expect(pulled.refs.get("built")?.digest).toBe(sha256(raw));
    const layerDigest = manifest.layers[0].digest as string;
    expect(pulled.blobs.get(layerDigest)).toBe(layerDigest);
    const files = layerFiles(await pulled.read(layerDigest));
    expect(files.get("file.txt")?.equals(content)).toBe(true);
    // The config's diff_id is the uncompressed layer's digest.
    const config = await pulled.readJson(manifest.config.digest);
    expect(config.rootfs.diff_ids).toHaveLength(1);
  });
});

describe("nested repository names", () => {
  for (const repo of [`e2e/team/app-${run}`, `e2e/team/blobs/manifests/uploads-${run}`]) {
    it(`pushes and pulls ${repo}`, async () => {
      const src = await dir("nested-src");
      const image = await buildImageLayout(src, "1.0", { layers: 3, layerSize: (i) => 512 + i * 1000 });
      const tag = `1.0-${run}`;
      const ref = `docker://${host}/${repo}:${tag}`;
      await skopeoCopy(`oci:${src}:1.0`, ref);

      expect(sha256(await skopeoInspectRaw(ref))).toBe(image.manifest.digest);
      const tags = await registryFetch(`${base}/v2/${repo}/tags/list`);
      expect(tags.status).toBe(200);
      const list = (await tags.json()) as { name: string; tags: string[] };
      expect(list.name).toBe(repo);
      expect(list.tags).toContain(tag);
      const blob = await registryFetch(`${base}/v2/${repo}/blobs/${image.layers[1]!.digest}`, { method: "HEAD" });
      expect(blob.status).toBe(200);
      expect(blob.headers.get("docker-content-digest")).toBe(image.layers[1]!.digest);
      // The repository holds exactly what was pushed, not what a shorter prefix names.
      const parent = await registryFetch(`${base}/v2/${repo.split("/").slice(0, -1).join("/")}/manifests/${tag}`);
      expect(parent.status).toBe(404);

      const dst = await dir("nested-dst");
      await skopeoCopy(ref, `oci:${dst}:${tag}`);
      const pulled = await readLayout(dst);
      expect(pulled.refs.get(tag)?.digest).toBe(image.manifest.digest);
      await expectSameBlobs(src, dst, await reachableDigests(pulled, image.manifest.digest));
    });
  }
});
