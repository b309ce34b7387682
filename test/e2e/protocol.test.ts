/**
 * The distribution protocol over raw HTTP against the running registry: a chunked upload that is
 * cut off mid-request and resumed where the registry says it stands, cross-repository mounts, and
 * artifacts with a subject listed by the referrers API.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { login, registryHost, skopeoInspectRaw } from "./helpers/clients";
import { sha256 } from "./helpers/oci-layout";
import { connectWharf } from "./helpers/server";

const MiB = 1024 * 1024;
const base = inject("wharfUrl");
let wharf: Awaited<ReturnType<typeof connectWharf>>;
beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  await login(
    registryHost(base),
    await wharf.credentialsFor("e2e"),
    path.join(await mkdtemp(path.join(os.tmpdir(), "wharf-protocol-")), "auth.json"),
  );
});
/** fetch as the repository namespace's owner, logged in (helpers/registry-auth.ts). */
const registryFetch = (input: string | URL, init?: RequestInit) => wharf.login.fetch(input, init);
const run = randomBytes(3).toString("hex");

function url(location: string): string {
  return new URL(location, base).toString();
}

/** Pushes `bytes` as a blob in one POST ?digest=; returns its digest. */
async function pushBlob(repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const res = await registryFetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: bytes,
  });
  expect(res.status, await res.text()).toBe(201);
  return digest;
}

async function pushManifest(repo: string, reference: string, manifest: unknown) {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const res = await registryFetch(`${base}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { "Content-Type": (manifest as { mediaType: string }).mediaType },
    body: bytes,
  });
  expect(res.status, await res.text()).toBe(201);
  return { res, digest: sha256(bytes), size: bytes.byteLength };
}

/** The committed offset of an upload from its `Range: 0-<last>` (GET on the upload URL). */
async function uploadOffset(location: string): Promise<{ offset: number; location: string }> {
  const res = await registryFetch(url(location));
  expect(res.status).toBe(204);
  const range = /^0-(\d+)$/.exec(res.headers.get("range") ?? "");
  expect(range, `Range header ${res.headers.get("range")}`).not.toBeNull();
  const last = Number(range![1]);
  // `0-0` means "nothing yet" as well as "one byte": callers use this past the first byte.
  return { offset: last + 1, location: res.headers.get("location") ?? location };
}

async function patch(location: string, bytes: Uint8Array, start: number): Promise<string> {
  const res = await registryFetch(url(location), {
    method: "PATCH",
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Range": `${start}-${start + bytes.byteLength - 1}`,
    },
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.byteLength; at += MiB) controller.enqueue(bytes.subarray(at, at + MiB));
        controller.close();
      },
    }),
    duplex: "half",
  } as RequestInit);
  expect(res.status, await res.text()).toBe(202);
  expect(res.headers.get("range")).toBe(`0-${start + bytes.byteLength - 1}`);
  return res.headers.get("location")!;
}

/**
 * Starts a PATCH of `bytes` at `start` with its full Content-Length and Content-Range, sends only
 * `cutAt` bytes of it, waits until they are written, then destroys the socket.
 */
async function interruptedPatch(
  location: string,
  bytes: Uint8Array,
  start: number,
  cutAt: number,
): Promise<number | null> {
  const authorization = await wharf.login.authorization(url(location));
  return new Promise((resolve) => {
    const req = http.request(url(location), {
      method: "PATCH",
      headers: {
        Authorization: authorization,
        "Content-Type": "application/octet-stream",
        "Content-Length": String(bytes.byteLength),
        "Content-Range": `${start}-${start + bytes.byteLength - 1}`,
      },
    });
    // The status of an answer that came before the cut, if any (the caller checks it).
    let status: number | null = null;
    const done = () => resolve(status);
    req.on("error", done);
    req.on("close", done);
    req.on("response", (res) => {
      status = res.statusCode ?? null;
      res.resume();
    });
    let sent = 0;
    const writeSome = () => {
      while (sent < cutAt) {
        const piece = bytes.subarray(sent, Math.min(cutAt, sent + 256 * 1024));
        sent += piece.byteLength;
        if (!req.write(piece)) return void req.once("drain", writeSome);
      }
      // Everything up to the cut is handed to the socket: let the registry read it, then cut.
      setTimeout(() => req.destroy(new Error("interrupted on purpose")), 500);
    };
    req.flushHeaders();
    writeSome();
  });
}

describe("a chunked upload interrupted mid-chunk", () => {
  it("resumes from the offset the registry reports and finishes byte-identical", async () => {
    const repo = `e2e/resume-${run}`;
    // Uneven chunks that cross the 8 MiB multipart part size; the third is cut off half-way.
    const sizes = [1, 5 * MiB + 3, 9 * MiB, 17, 3 * MiB];
    const blob = randomBytes(sizes.reduce((a, b) => a + b, 0));
    const digest = sha256(blob);
    const bounds = [0];
    for (const n of sizes) bounds.push(bounds[bounds.length - 1]! + n);

    const opened = await registryFetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
    expect(opened.status).toBe(202);
    let location = opened.headers.get("location")!;
    expect(location).toMatch(new RegExp(`^/v2/${repo}/blobs/uploads/[0-9a-f-]{36}$`));

    location = await patch(location, blob.subarray(bounds[0], bounds[1]), bounds[0]!);
    location = await patch(location, blob.subarray(bounds[1], bounds[2]), bounds[1]!);
    expect((await uploadOffset(location)).offset).toBe(bounds[2]);

    const cut = Math.floor(sizes[2]! / 2) + 12_345;
    const answered = await interruptedPatch(location, blob.subarray(bounds[2], bounds[3]), bounds[2]!, cut);
    // The registry cannot have accepted a chunk it did not receive in full.
    expect(answered).not.toBe(202);

    // Whatever the registry kept of the cut chunk, it says so, and no more than was sent.
    const status = await uploadOffset(location);
    expect(status.offset).toBeGreaterThanOrEqual(bounds[2]!);
    expect(status.offset).toBeLessThanOrEqual(bounds[2]! + cut);
    location = status.location;

    // A chunk that does not start at the committed offset is refused with the offset to use.
    const wrong = await registryFetch(url(location), {
      method: "PATCH",
      headers: { "Content-Range": `${status.offset + 1}-${status.offset + 1}` },
      body: new Uint8Array(1),
    });
    expect(wrong.status).toBe(416);
    expect(wrong.headers.get("range")).toBe(`0-${status.offset - 1}`);
    await wrong.arrayBuffer();

    // Resume from exactly that offset, along the remaining chunk boundaries.
    const rest = [status.offset, ...bounds.filter((b) => b > status.offset)];
    for (let i = 0; i + 1 < rest.length; i++) {
      location = await patch(location, blob.subarray(rest[i], rest[i + 1]), rest[i]!);
    }
    expect((await uploadOffset(location)).offset).toBe(blob.byteLength);

    const closed = await registryFetch(`${url(location)}?digest=${digest}`, { method: "PUT" });
    expect(closed.status, await closed.text()).toBe(201);
    expect(closed.headers.get("docker-content-digest")).toBe(digest);
    expect(closed.headers.get("location")).toBe(`/v2/${repo}/blobs/${digest}`);

    const pulled = await registryFetch(`${base}/v2/${repo}/blobs/${digest}`);
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get("content-length")).toBe(String(blob.byteLength));
    const bytes = Buffer.from(await pulled.arrayBuffer());
    expect(bytes.byteLength).toBe(blob.byteLength);
    expect(bytes.equals(blob)).toBe(true);
    // The session is gone once the blob exists.
    expect((await registryFetch(url(location))).status).toBe(404);
  });
});

describe("cross-repository mount", () => {
  it("mounts a blob the source repository holds (201) and serves it through the target", async () => {
    const source = `e2e/mount-src-${run}`;
    const target = `e2e/mount-dst-${run}`;
    const bytes = randomBytes(70_000);
    const digest = await pushBlob(source, bytes);
    expect((await registryFetch(`${base}/v2/${target}/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);

    const res = await registryFetch(`${base}/v2/${target}/blobs/uploads/?mount=${digest}&from=${source}`, {
      method: "POST",
    });
    expect(res.status, await res.text()).toBe(201);
    expect(res.headers.get("location")).toBe(`/v2/${target}/blobs/${digest}`);
    expect(res.headers.get("docker-content-digest")).toBe(digest);

    const pulled = await registryFetch(url(res.headers.get("location")!));
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get("docker-content-digest")).toBe(digest);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("falls back to an upload session (202) when the source lacks the blob", async () => {
    const holder = `e2e/mount-holder-${run}`;
    const empty = `e2e/mount-empty-${run}`;
    const target = `e2e/mount-fallback-${run}`;
    const bytes = randomBytes(4096);
    const digest = sha256(bytes);
    // The bytes exist in the registry, but not in the repository named as the source.
    await pushBlob(holder, bytes);
    await pushBlob(empty, randomBytes(16));

    for (const from of [empty, `e2e/no-such-repo-${run}`]) {
      const res = await registryFetch(`${base}/v2/${target}/blobs/uploads/?mount=${digest}&from=${from}`, {
        method: "POST",
      });
      expect(res.status, await res.text()).toBe(202);
      const location = res.headers.get("location")!;
      expect(location).toMatch(new RegExp(`^/v2/${target}/blobs/uploads/[0-9a-f-]{36}$`));
      expect(res.headers.get("docker-upload-uuid")).toBe(location.split("/").pop());
      expect((await registryFetch(`${base}/v2/${target}/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
      // The session it opened is a working upload.
      const status = await registryFetch(url(location));
      expect(status.status).toBe(204);
      expect(status.headers.get("range")).toBe("0-0");
      const put = await registryFetch(`${url(location)}?digest=${digest}`, {
        method: "PUT",
        headers: { "Content-Type": "application/octet-stream" },
        body: bytes,
      });
      expect(put.status, await put.text()).toBe(201);
      const pulled = await registryFetch(`${base}/v2/${target}/blobs/${digest}`);
      expect(Buffer.from(await pulled.arrayBuffer()).equals(bytes)).toBe(true);
      // Unlink it again so that the second source is tried against a target without the blob.
      expect((await registryFetch(`${base}/v2/${target}/blobs/${digest}`, { method: "DELETE" })).status).toBe(202);
    }
  });
});

describe("artifacts with a subject and the referrers API", () => {
  it("answers OCI-Subject, lists referrers with their artifactType, and filters by it", async () => {
    const repo = `e2e/referrers-${run}`;
    const config = Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
    );
    const configDigest = await pushBlob(repo, config);
    const image = await pushManifest(repo, "v1", {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.byteLength },
      layers: [],
    });
    expect(image.res.headers.get("oci-subject")).toBeNull();
    const subject = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: image.digest, size: image.size };

    const empty = {
      mediaType: "application/vnd.oci.empty.v1+json",
      digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      size: 2,
    };
    const artifact = async (artifactType: string, payload: Buffer, annotations?: Record<string, string>) => {
      const layerDigest = await pushBlob(repo, payload);
      const manifest = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType,
        config: empty,
        layers: [{ mediaType: "application/vnd.example.payload", digest: layerDigest, size: payload.byteLength }],
        subject,
        ...(annotations ? { annotations } : {}),
      };
      const bytes = Buffer.from(JSON.stringify(manifest));
      const pushed = await pushManifest(repo, sha256(bytes), manifest);
      expect(pushed.res.headers.get("oci-subject")).toBe(image.digest);
      expect(pushed.res.headers.get("docker-content-digest")).toBe(pushed.digest);
      return pushed;
    };
    const sbom = await artifact("application/vnd.example.sbom.v1+json", Buffer.from('{"sbom":true}'), {
      "org.example.kind": "sbom",
    });
    const sig = await artifact("application/vnd.example.signature.v1", randomBytes(64));

    // The empty config the artifacts name is served, though no one uploaded it.
    const emptyBlob = await registryFetch(`${base}/v2/${repo}/blobs/${empty.digest}`);
    expect(emptyBlob.status).toBe(200);
    expect(await emptyBlob.text()).toBe("{}");

    const all = await registryFetch(`${base}/v2/${repo}/referrers/${image.digest}`);
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toBe("application/vnd.oci.image.index.v1+json");
    expect(all.headers.get("oci-filters-applied")).toBeNull();
    const listing = (await all.json()) as { schemaVersion: number; mediaType: string; manifests: any[] };
    expect(listing.schemaVersion).toBe(2);
    expect(listing.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    const byDigest = (a: { digest: string }, b: { digest: string }) => a.digest.localeCompare(b.digest);
    expect([...listing.manifests].sort(byDigest)).toEqual(
      [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: sbom.digest,
          size: sbom.size,
          artifactType: "application/vnd.example.sbom.v1+json",
          annotations: { "org.example.kind": "sbom" },
        },
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: sig.digest,
          size: sig.size,
          artifactType: "application/vnd.example.signature.v1",
        },
      ].sort(byDigest),
    );

    const filtered = await registryFetch(
      `${base}/v2/${repo}/referrers/${image.digest}?artifactType=${encodeURIComponent("application/vnd.example.signature.v1")}`,
    );
    expect(filtered.status).toBe(200);
    expect(filtered.headers.get("oci-filters-applied")).toBe("artifactType");
    const only = (await filtered.json()) as { manifests: any[] };
    expect(only.manifests.map((m) => [m.digest, m.artifactType])).toEqual([
      [sig.digest, "application/vnd.example.signature.v1"],
    ]);

    // A subject nobody refers to has an empty list, not a 404.
    const none = await registryFetch(`${base}/v2/${repo}/referrers/${sig.digest}`);
    expect(none.status).toBe(200);
    expect(((await none.json()) as { manifests: unknown[] }).manifests).toEqual([]);

    // The artifact is an ordinary manifest to a client pulling it by digest.
    const raw = await skopeoInspectRaw(`docker://${registryHost(base)}/${repo}@${sbom.digest}`);
    expect(sha256(raw)).toBe(sbom.digest);
    const pulled = JSON.parse(raw.toString("utf8"));
    expect(pulled.artifactType).toBe("application/vnd.example.sbom.v1+json");
    expect(pulled.subject.digest).toBe(image.digest);
  });
});
