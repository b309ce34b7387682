/**
 * Issue #19's chunking push path against `npm start` run with MAX_REQUEST_BODY=1MiB, behind a
 * proxy that records every request body: `npm run push` of an OCI layout written by skopeo and of
 * a docker archive sends no body over the limit, survives a connection lost mid-chunk, and the
 * images pull back whole; podman's one-PATCH push of the same image is refused with the OCI error
 * naming the limit. Then a 2 GiB layer against the default settings, every body
 * under Cloudflare's 100 MB (asserted), with the time and the push tool's peak RSS printed.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, Podman, run, skopeoCopy, skopeoInspect } from "./helpers/clients";
import { hashDownload, writeRandomFile } from "./helpers/blob-file";
import { buildImageLayout, LayoutWriter, MediaTypes, sha256, tarFiles } from "./helpers/oci-layout";
import { type RecordingProxy, startRecordingProxy } from "./helpers/recording-proxy";
import type { Credentials } from "./helpers/registry-auth";
import { ROOT, type RunningServer, startWharf } from "./helpers/server";

const MiB = 1024 * 1024;
const LIMIT = MiB;
const NAMESPACE = "chunky";

let server: RunningServer;
let proxy: RecordingProxy;
let work: string;
let creds: Credentials;
let skopeoLayout: string;

/** `npm run push -- …` as a user runs it, credentials from the environment. */
async function push(source: string, ref: string, extra: string[] = []) {
  return run("npm", ["run", "--silent", "push", "--", ...extra, source, ref], {
    cwd: ROOT,
    timeoutMs: 600_000,
    env: { WHARF_USERNAME: creds.username, WHARF_PASSWORD: creds.password },
  });
}

/** Every request the proxy saw since `from`, with its body size. */
function bodiesSince(from: number) {
  return proxy.requests.slice(from);
}

beforeAll(async () => {
  server = await startWharf({ env: { MAX_REQUEST_BODY: "1MiB" } });
  proxy = await startRecordingProxy(server.url);
  // Lower case: podman names an image pulled from an OCI layout after its path.
  work = path.join(os.tmpdir(), `wharf-chunked-${randomBytes(6).toString("hex")}`);
  await mkdir(work);
  creds = await server.credentialsFor(NAMESPACE);
  await login(proxy.host, creds, path.join(work, "auth.json"), "skopeo");
  // An image with a 5 MiB layer (random: gzip cannot shrink it) and a small one, copied by skopeo
  // into the layout the push reads.
  const built = path.join(work, "built");
  await buildImageLayout(built, "v1", { layers: 2, layerSize: (i) => (i === 0 ? 5 * MiB : 3000) });
  skopeoLayout = path.join(work, "skopeo-layout");
  await skopeoCopy(`oci:${built}:v1`, `oci:${skopeoLayout}:v1`);
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("npm run push", () => {
  it("pushes an OCI layout written by skopeo in chunks no larger than MAX_REQUEST_BODY", async () => {
    const from = proxy.requests.length;
    const ref = `${proxy.host}/${NAMESPACE}/from-oci:v1`;
    const { stdout } = await push(`oci:${skopeoLayout}:v1`, ref);
    expect(stdout.toString()).toContain(`pushed ${ref}@sha256:`);
    const seen = bodiesSince(from);
    const patches = seen.filter((r) => r.method === "PATCH");
    expect(patches.length).toBeGreaterThanOrEqual(5);
    for (const r of seen) expect(r.bytes, `${r.method} ${r.path}`).toBeLessThanOrEqual(LIMIT);
    for (const r of patches) expect(r.declared).toBe(r.bytes);
    const inspected = await skopeoInspect(`docker://${proxy.host}/${NAMESPACE}/from-oci:v1`);
    const original = await skopeoInspect(`oci:${skopeoLayout}:v1`);
    expect(inspected.Layers).toEqual(original.Layers);
    // A pull verifies every digest.
    await skopeoCopy(`docker://${proxy.host}/${NAMESPACE}/from-oci:v1`, `oci:${path.join(work, "pulled-oci")}:v1`);
  });

  it("pushes a docker archive, its layers streamed from the tar, and resumes a chunk cut short", async () => {
    const archive = path.join(work, "image.tar");
    await skopeoCopy(`oci:${skopeoLayout}:v1`, `docker-archive:${archive}:${NAMESPACE}/archived:v1`);
    const from = proxy.requests.length;
    proxy.cutPatch(3, 300 * 1024);
    const ref = `${proxy.host}/${NAMESPACE}/from-archive:v1`;
    const { stderr } = await push(`docker-archive:${archive}:${NAMESPACE}/archived:v1`, ref);
    expect(stderr).toMatch(/failed .*resuming from the registry's offset/);
    const seen = bodiesSince(from);
    for (const r of seen) expect(r.bytes, `${r.method} ${r.path}`).toBeLessThanOrEqual(LIMIT);
    // After the cut: a GET of the upload's status, then the chunk again from the same offset.
    const cutAt = seen.findIndex((r) => r.method === "PATCH" && r.status === null);
    expect(cutAt).toBeGreaterThan(-1);
    expect(seen.slice(cutAt + 1).some((r) => r.method === "GET" && r.path.includes("/blobs/uploads/"))).toBe(true);
    const inspected = await skopeoInspect(`docker://${proxy.host}/${NAMESPACE}/from-archive:v1`);
    const original = await skopeoInspect(`docker-archive:${archive}`);
    expect(inspected.Layers).toEqual(original.Layers);
    await skopeoCopy(`docker://${proxy.host}/${NAMESPACE}/from-archive:v1`, `oci:${path.join(work, "pulled-tar")}:v1`);
  });

  it("reads archives as docker save writes them: a repeated layer as a symlink, long names, pax or GNU", async () => {
    // The layout of a classic `docker save`: <id>/layer.tar per layer, the repeated one a symlink
    // to the first; directory names over tar's 100 bytes force long-name records.
    const dir = path.join(work, "legacy");
    const first = `${"a".repeat(100)}1`;
    const second = `${"b".repeat(100)}2`;
    await mkdir(path.join(dir, first), { recursive: true });
    await mkdir(path.join(dir, second));
    const layer = tarFiles({ "hello.txt": randomBytes(70_000) });
    await writeFile(path.join(dir, first, "layer.tar"), layer);
    await symlink(`../${first}/layer.tar`, path.join(dir, second, "layer.tar"));
    const config = Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: [sha256(layer), sha256(layer)] },
      }),
    );
    await writeFile(path.join(dir, "config.json"), config);
    const layers = [`${first}/layer.tar`, `${second}/layer.tar`];
    await writeFile(
      path.join(dir, "manifest.json"),
      JSON.stringify([{ Config: "config.json", RepoTags: [`${NAMESPACE}/legacy:v1`], Layers: layers }]),
    );
    for (const format of ["gnu", "pax"]) {
      const archive = path.join(work, `legacy-${format}.tar`);
      await run("tar", [
        `--format=${format}`,
        "-cf",
        archive,
        "-C",
        dir,
        "manifest.json",
        "config.json",
        first,
        second,
      ]);
      const ref = `${proxy.host}/${NAMESPACE}/legacy-${format}:v1`;
      await push(`docker-archive:${archive}:${NAMESPACE}/legacy:v1`, ref);
      const inspected = await skopeoInspect(`docker://${ref}`);
      expect(inspected.Layers).toEqual([sha256(layer), sha256(layer)]);
      await skopeoCopy(`docker://${ref}`, `oci:${path.join(work, `pulled-${format}`)}:v1`);
    }
  });

  it("says clearly what is wrong with a bad source or reference", async () => {
    const bad = async (args: string[]) => {
      const failed = await run("npm", ["run", "--silent", "push", "--", ...args], { cwd: ROOT }).then(
        () => null,
        (err: Error) => err.message,
      );
      expect(failed, args.join(" ")).not.toBeNull();
      return failed!;
    };
    expect(await bad(["dir:/nowhere", `${proxy.host}/${NAMESPACE}/x:v1`])).toContain(
      "expected oci:<directory>[:tag] or docker-archive:<file.tar>[:tag]",
    );
    expect(await bad([`oci:${skopeoLayout}:nope`, `${proxy.host}/${NAMESPACE}/x:v1`])).toContain(
      'no image tagged "nope"; it holds 1 image(s) (tags: v1)',
    );
    expect(await bad([`oci:${skopeoLayout}:v1`, `${NAMESPACE}/x:v1`])).toContain("bad reference");
    expect(await bad([`oci:${skopeoLayout}:v1`, `${proxy.host}/${NAMESPACE}/X:v1`])).toContain(
      '"X" is not a repository name component',
    );
    // A chunk size over the registry's limit: the registry's own refusal, word for word.
    expect(
      await bad(["--chunk-size", "2MiB", `oci:${skopeoLayout}:v1`, `${proxy.host}/${NAMESPACE}/too-big:v1`]),
    ).toContain(`413 SIZE_INVALID: request body exceeds MAX_REQUEST_BODY (${LIMIT} bytes)`);
    const notTar = path.join(work, "not.tar");
    await writeFile(notTar, randomBytes(2048));
    expect(await bad([`docker-archive:${notTar}`, `${proxy.host}/${NAMESPACE}/x:v1`])).toContain("not a tar archive");
  });
});

describe("a client that sends a layer in one PATCH", () => {
  it("podman is refused with the OCI error naming MAX_REQUEST_BODY", async () => {
    // An image of its own: layers the registry already holds would be mounted, not sent.
    const layout = path.join(work, "podman-layout");
    await buildImageLayout(layout, "v1", { layers: 1, layerSize: () => 4 * MiB });
    const from = proxy.requests.length;
    const podman = await Podman.create();
    try {
      const id = await podman.text(["pull", "--quiet", `oci:${layout}:v1`]);
      const failure = await podman
        .run([
          "push",
          "--tls-verify=false",
          "--creds",
          `${creds.username}:${creds.password}`,
          id,
          `docker://${proxy.host}/${NAMESPACE}/podman:v1`,
        ])
        .then(
          () => "pushed",
          (err: Error) => err.message,
        );
      expect(failure).toContain(`request body exceeds MAX_REQUEST_BODY (${LIMIT} bytes)`);
      // It sent the layer as one PATCH of unknown length, which the registry counted and refused.
      const refused = bodiesSince(from).filter((r) => r.method === "PATCH" && r.status === 413);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) expect(r.declared).toBeNull();
    } finally {
      await podman.dispose();
    }
  });
});

/**
 * The acceptance figure: a 2 GiB layer through the chunking path against the default settings
 * (no MAX_REQUEST_BODY: the 88 MiB hint), every request body under Cloudflare's smallest cap.
 * Needs ~4.5 GiB of disk and about two minutes; CI runs it with everything else.
 */
describe("a 2 GiB layer", () => {
  it("pushes with every request body under 100 MB, and pulls back whole", async () => {
    const big = await startWharf();
    const bigProxy = await startRecordingProxy(big.url);
    try {
      const owner = await big.credentialsFor(NAMESPACE);
      const layout = await new LayoutWriter(path.join(work, "big")).init();
      const layerFile = path.join(work, "big-layer");
      const size = 2 * 1024 * MiB;
      const layerDigest = await writeRandomFile(layerFile, size);
      await rename(layerFile, path.join(layout.dir, "blobs", "sha256", layerDigest.slice(7)));
      const layer = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size };
      const config = await layout.json(
        { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layerDigest] } },
        MediaTypes.config,
      );
      const manifest = await layout.json(
        { schemaVersion: 2, mediaType: MediaTypes.manifest, config, layers: [layer] },
        MediaTypes.manifest,
      );
      await layout.tag(manifest, "big");
      const ref = `${bigProxy.host}/${NAMESPACE}/big:v1`;
      const { stderr } = await run("npm", ["run", "--silent", "push", "--", `oci:${layout.dir}:big`, ref], {
        cwd: ROOT,
        timeoutMs: 1_800_000,
        env: { WHARF_USERNAME: owner.username, WHARF_PASSWORD: owner.password },
      });
      console.log(`[big push] ${stderr.trim().split("\n").slice(-2).join(" | ")}`);
      const bodies = bigProxy.requests.map((r) => r.bytes);
      expect(Math.max(...bodies)).toBeLessThan(100_000_000);
      expect(bodies.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(size);
      console.log(`[big push] ${bigProxy.requests.length} requests, largest body ${Math.max(...bodies)} bytes`);
      const blobUrl = `${big.url}/v2/${NAMESPACE}/big/blobs/${layerDigest}`;
      const pulled = await hashDownload(blobUrl, { Authorization: await big.login.authorization(blobUrl) });
      expect(pulled).toEqual({ status: 200, digest: layerDigest, size });
    } finally {
      await bigProxy.close();
      await big.stop();
      await rm(path.join(work, "big"), { recursive: true, force: true });
    }
  }, 1_800_000);
});
