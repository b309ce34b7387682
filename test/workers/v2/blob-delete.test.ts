/**
 * DELETE /v2/<name>/blobs/<digest> of a blob a manifest needs (issue #12 item 4): refused with 405
 * UNSUPPORTED naming the manifest while a live manifest of the repository references it (as
 * config, layer, index child or subject), so no tag or digest that resolves can stop pulling;
 * deleted once nothing live references it (the conformance suite deletes the manifest, then its
 * blobs). The check and the unlink run under the repository's Durable Object lock, where manifest
 * commits re-check their blob links, so a push racing the delete never commits over a hole.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { database } from "../../../src/db/client";
import { prepareManifest } from "../../../src/registry/manifests";
import type { Digest } from "../../../src/registry/reference";
import { findRepository } from "../../../src/registry/repositories";
import { repositoryObject } from "../../../src/registry/repository-object";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import {
  OCI_INDEX,
  OCI_MANIFEST,
  TESTER,
  subjectNamed,
  bodyBytes,
  bytesOf,
  errorCode,
  manifestDescriptor,
  pushBlob,
  pushImage,
  putManifest,
  refusalOf,
  request,
  sha256,
  uniqueName,
  type PushedImage,
} from "../helpers/registry";
import { eventsAs, testOrigin } from "../helpers/events";
import { writableCores } from "../../../src/registry/core-db";

const deleteBlob = (name: string, digest: string) => request("DELETE", `/v2/${name}/blobs/${digest}`);

/** Every blob of the image still pulls, byte for byte what its digest says. */
async function expectPullable(name: string, image: PushedImage): Promise<void> {
  const manifest = await request("GET", `/v2/${name}/manifests/${image.digest}`, { headers: { Accept: OCI_MANIFEST } });
  expect(manifest.status).toBe(200);
  for (const digest of [image.config, ...image.layers]) {
    const blob = await request("GET", `/v2/${name}/blobs/${digest}`);
    expect(blob.status, digest).toBe(200);
    expect(await sha256(await bodyBytes(blob))).toBe(digest);
  }
}

async function expectRefusedNaming(res: Response, manifestDigest: string): Promise<void> {
  expect(res.status).toBe(405);
  const body = (await res.json()) as { errors: { code: string; message: string; detail: { manifest: string } }[] };
  expect(body.errors[0]!.code).toBe("UNSUPPORTED");
  expect(body.errors[0]!.detail.manifest).toBe(manifestDigest);
  expect(body.errors[0]!.message).toContain(manifestDigest);
}

describe("DELETE /v2/:name/blobs/:digest of a referenced blob", () => {
  it("refuses the config and every layer of a tagged image with 405 UNSUPPORTED naming the manifest", async () => {
    const name = uniqueName("bdel");
    const image = await pushImage(name, "v1", { layers: 2 });
    for (const digest of [image.config, ...image.layers])
      await expectRefusedNaming(await deleteBlob(name, digest), image.digest);
    await expectPullable(name, image);
  });

  it("refuses the blobs of a manifest no tag points at any more", async () => {
    const name = uniqueName("bdel");
    const tagged = await pushImage(name, "v1");
    const byDigest = await pushImage(name, "temp");
    // Move the tag away: byDigest keeps no tag at all but still resolves by digest.
    expect((await putManifest(name, "temp", tagged.manifest, OCI_MANIFEST)).status).toBe(201);
    await expectRefusedNaming(await deleteBlob(name, byDigest.layers[0]!), byDigest.digest);
    await expectPullable(name, byDigest);
  });

  it("refuses a digest that a live index lists as a child or a manifest names as its subject", async () => {
    const name = uniqueName("bdel");
    const child = await pushImage(name, "child");
    // The child manifest's bytes were also uploaded as a blob (some tools push both).
    expect(await pushBlob(name, child.manifest)).toBe(child.digest);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [await manifestDescriptor(child.manifest, OCI_MANIFEST)],
    });
    const indexDigest = await sha256(index);
    expect((await putManifest(name, "index", index, OCI_INDEX)).status).toBe(201);
    await expectRefusedNaming(await deleteBlob(name, child.digest), indexDigest);

    const other = uniqueName("bdel");
    const subject = await pushImage(other, "subject");
    expect(await pushBlob(other, subject.manifest)).toBe(subject.digest);
    const referrer = await pushImage(other, "sig", {
      extra: { subject: await manifestDescriptor(subject.manifest, OCI_MANIFEST) },
    });
    await expectRefusedNaming(await deleteBlob(other, subject.digest), referrer.digest);
  });

  it("deletes the blobs once the manifest is deleted by digest (the conformance suite's order)", async () => {
    const name = uniqueName("bdel");
    const image = await pushImage(name, "v1");
    expect((await request("DELETE", `/v2/${name}/manifests/v1`)).status).toBe(202);
    // The tag is gone but the manifest still resolves by digest: still refused.
    await expectRefusedNaming(await deleteBlob(name, image.config), image.digest);
    expect((await request("DELETE", `/v2/${name}/manifests/${image.digest}`)).status).toBe(202);
    for (const digest of [image.config, ...image.layers]) {
      const res = await deleteBlob(name, digest);
      expect(res.status, digest).toBe(202);
      expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
      expect((await request("GET", `/v2/${name}/blobs/${digest}`)).status).toBe(404);
    }
    expect(await errorCode(await deleteBlob(name, image.config))).toBe("BLOB_UNKNOWN");
  });

  it("only counts manifests of the same repository", async () => {
    const shared = uniqueName("bdel");
    const image = await pushImage(shared, "v1");
    const name = uniqueName("bdel");
    const config = await request("GET", `/v2/${shared}/blobs/${image.config}`);
    expect(await pushBlob(name, await bodyBytes(config))).toBe(image.config);
    expect((await deleteBlob(name, image.config)).status).toBe(202);
    await expectPullable(shared, image);
  });

  it("a restore from the time machine refuses a manifest whose blob was deleted meanwhile", async () => {
    // The namespace's user gives the repository its time-machine window (two weeks by default).
    await env.DB.prepare("INSERT OR IGNORE INTO users (username) VALUES ('bdelns')").run();
    const name = uniqueName("bdelns");
    const image = await pushImage(name, "v1");
    expect((await request("DELETE", `/v2/${name}/manifests/${image.digest}`)).status).toBe(202);
    expect((await deleteBlob(name, image.layers[0]!)).status).toBe(202);
    const repository = (await findRepository(database(env.DB), name))!;
    const outcome = await repositoryObject(env, name).restoreTag(
      { id: repository.id, name },
      "v1",
      image.digest as Digest,
      testOrigin,
    );
    expect(refusalOf(outcome).api).toMatchObject({ status: 400 });
    expect((await request("GET", `/v2/${name}/manifests/v1`)).status).toBe(404);
  });
});

describe("a manifest push racing the delete of a blob it names", () => {
  it("is refused when the blob is unlinked between its check and its commit", async () => {
    const name = uniqueName("bdel");
    const config = JSON.stringify({ architecture: "amd64", os: "linux", n: crypto.randomUUID() });
    const configDigest = await pushBlob(name, config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: configDigest,
        size: bytesOf(config).byteLength,
      },
      layers: [],
    });
    // The push has checked its blobs (prepareManifest); the blob's delete wins the lock first.
    const limits = { maxTagExpirationSeconds: readConfig(env).MAXIMUM_TAG_EXPIRATION };
    const store = new R2BlobStore(env.BLOBS);
    const commit = await prepareManifest(
      database(env.DB),
      writableCores(env),
      store,
      name,
      { kind: "tag", tag: "late" },
      bytesOf(manifest),
      OCI_MANIFEST,
      await subjectNamed(TESTER),
      limits,
      await eventsAs(TESTER),
    );
    expect((await deleteBlob(name, configDigest)).status).toBe(202);
    const outcome = await repositoryObject(env, name).commitManifest(commit);
    expect(refusalOf(outcome).registry).toMatchObject({ code: "MANIFEST_BLOB_UNKNOWN" });
    expect((await request("GET", `/v2/${name}/manifests/late`)).status).toBe(404);
  });
});
