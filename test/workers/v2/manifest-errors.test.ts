import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  DOCKER_MANIFEST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  bodyBytes,
  errorCode,
  manifestDescriptor,
  pushBlob,
  pushDescriptor,
  pushImage,
  putManifest,
  randomBytes,
  request,
  sha256,
  uniqueName,
} from "../helpers/registry";

/** Whether the repository holds any manifest row or tag row, and whether R2 holds the bytes. */
async function expectNothingStored(name: string, body: string | Uint8Array): Promise<void> {
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = ?1) AS manifests,
            (SELECT count(*) FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = ?1) AS tags`,
  )
    .bind(name)
    .first<{ manifests: number; tags: number }>();
  expect(row).toEqual({ manifests: 0, tags: 0 });
  const digest = await sha256(body);
  expect(await env.BLOBS.head(`blobs/sha256/${digest.slice(7)}`)).toBeNull();
}

async function expectRefused(
  name: string,
  body: string | Uint8Array,
  contentType: string,
  status: number,
  code: string,
  reference = "latest",
): Promise<void> {
  const res = await putManifest(name, reference, body, contentType);
  expect(res.status, typeof body === "string" ? body.slice(0, 200) : "bytes").toBe(status);
  expect(await errorCode(res)).toBe(code);
  await expectNothingStored(name, body);
  const get = await request("GET", `/v2/${name}/manifests/${reference}`);
  expect(get.status).toBe(404);
}

/** A valid OCI image manifest over blobs pushed to `name`, as an object to corrupt. */
async function validImage(name: string): Promise<Record<string, unknown>> {
  const config = await pushDescriptor(name, OCI_CONFIG, JSON.stringify({ id: crypto.randomUUID() }));
  const layer = await pushDescriptor(name, OCI_LAYER, randomBytes(100));
  return { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] };
}

describe("PUT /v2/:name/manifests/:reference refuses invalid manifests", () => {
  it("answers 400 MANIFEST_INVALID to bodies that are not JSON objects", async () => {
    const bodies: (string | Uint8Array)[] = [
      "{not json",
      "",
      "[]",
      '"a string"',
      "null",
      "42",
      new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
    ];
    for (const body of bodies) await expectRefused(uniqueName("bad"), body, OCI_MANIFEST, 400, "MANIFEST_INVALID");
  });

  it("answers 400 MANIFEST_INVALID to schema violations", async () => {
    const name = uniqueName("bad");
    const valid = await validImage(name);
    const config = valid.config as Record<string, unknown>;
    const corruptions: Record<string, unknown>[] = [
      { ...valid, schemaVersion: 1 },
      { ...valid, schemaVersion: "2" },
      { ...valid, config: undefined },
      { ...valid, layers: undefined },
      { ...valid, layers: "nope" },
      { ...valid, config: { ...config, digest: "sha256:1234" } },
      { ...valid, config: { ...config, size: -1 } },
      { ...valid, config: { ...config, size: 1.5 } },
      { ...valid, config: { ...config, mediaType: "not a media type" } },
      { ...valid, mediaType: 7 },
      { ...valid, mediaType: "application/vnd.example.unknown+json" },
      { ...valid, annotations: { key: 1 } },
      { ...valid, subject: { mediaType: OCI_MANIFEST, digest: "nope", size: 1 } },
    ];
    for (const manifest of corruptions) {
      await expectRefused(name, JSON.stringify(manifest), OCI_MANIFEST, 400, "MANIFEST_INVALID");
    }
  });

  it("answers 400 MANIFEST_INVALID to an index without valid manifests", async () => {
    const name = uniqueName("bad");
    const bodies = [
      { schemaVersion: 2, mediaType: OCI_INDEX },
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: "sha256:zz", size: 1 }],
      },
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: {} },
    ];
    for (const body of bodies) await expectRefused(name, JSON.stringify(body), OCI_INDEX, 400, "MANIFEST_INVALID");
  });

  it("answers 400 MANIFEST_INVALID when Content-Type disagrees with the mediaType field", async () => {
    const name = uniqueName("bad");
    const body = JSON.stringify(await validImage(name));
    await expectRefused(name, body, DOCKER_MANIFEST, 400, "MANIFEST_INVALID");
    await expectRefused(name, body, OCI_INDEX, 400, "MANIFEST_INVALID");
    // Parameters are ignored: the same type with a charset agrees.
    expect((await putManifest(name, "ok", body, `${OCI_MANIFEST}; charset=utf-8`)).status).toBe(201);
  });

  it("answers 400 MANIFEST_INVALID to duplicate keys, or keys that differ only by case (issue #12)", async () => {
    const name = uniqueName("bad");
    const valid = await validImage(name);
    const other = await pushDescriptor(name, OCI_LAYER, randomBytes(50));
    const layers = JSON.stringify(valid.layers);
    const json = JSON.stringify(valid);
    // JavaScript keeps the last "layers", other parsers the first: the registry would check one
    // list of blobs and clients pull another.
    const bodies = [
      `${json.slice(0, -1)},"layers":${JSON.stringify([other])}}`,
      `${json.slice(0, -1)},"l\u0061yers":${layers}}`,
      `${json.slice(0, -1)},"LAYERS":${JSON.stringify([other])}}`,
      json.replace('"size":', '"size":1,"size":'),
    ];
    for (const body of bodies) await expectRefused(name, body, OCI_MANIFEST, 400, "MANIFEST_INVALID");
    const annotated = JSON.stringify({ ...valid, annotations: { "org.Example": "a", "org.example": "b" } });
    expect((await putManifest(name, "annotated", annotated, OCI_MANIFEST)).status).toBe(201);
  });

  it("answers 400 MANIFEST_BLOB_UNKNOWN for a config or layer the repository does not have", async () => {
    const name = uniqueName("bad");
    const valid = await validImage(name);
    const missing = { mediaType: OCI_LAYER, digest: await sha256(`missing ${crypto.randomUUID()}`), size: 10 };
    await expectRefused(
      name,
      JSON.stringify({ ...valid, layers: [missing] }),
      OCI_MANIFEST,
      400,
      "MANIFEST_BLOB_UNKNOWN",
    );
    await expectRefused(
      name,
      JSON.stringify({ ...valid, config: { ...missing, mediaType: OCI_CONFIG } }),
      OCI_MANIFEST,
      400,
      "MANIFEST_BLOB_UNKNOWN",
    );
  });

  it("answers 400 MANIFEST_BLOB_UNKNOWN for a blob that only another repository has", async () => {
    const owner = uniqueName("bad");
    const name = uniqueName("bad");
    const valid = await validImage(name);
    const foreign = await pushDescriptor(owner, OCI_LAYER, `foreign ${crypto.randomUUID()}`);
    const body = JSON.stringify({ ...valid, layers: [...(valid.layers as unknown[]), foreign] });
    await expectRefused(name, body, OCI_MANIFEST, 400, "MANIFEST_BLOB_UNKNOWN");
  });

  it("accepts non-distributable layers that are not in the repository", async () => {
    const name = uniqueName("bad");
    const valid = await validImage(name);
    const foreign = {
      mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      digest: await sha256(`elsewhere ${crypto.randomUUID()}`),
      size: 100,
      urls: ["https://example.com/layer"],
    };
    const body = JSON.stringify({ ...valid, layers: [...(valid.layers as unknown[]), foreign] });
    expect((await putManifest(name, "foreign", body, OCI_MANIFEST)).status).toBe(201);
  });

  it("answers 400 MANIFEST_BLOB_UNKNOWN for an index whose child manifest is missing, elsewhere or deleted", async () => {
    const name = uniqueName("bad");
    const other = uniqueName("bad");
    const elsewhere = await pushImage(other, "child");
    const deleted = await pushImage(name, "deleted");
    expect((await request("DELETE", `/v2/${name}/manifests/${deleted.digest}`)).status).toBe(202);
    const children = [
      { mediaType: OCI_MANIFEST, digest: await sha256(`no such manifest ${crypto.randomUUID()}`), size: 100 },
      await manifestDescriptor(elsewhere.manifest, OCI_MANIFEST),
      await manifestDescriptor(deleted.manifest, OCI_MANIFEST),
    ];
    for (const child of children) {
      const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [child] });
      const res = await putManifest(name, "index", index, OCI_INDEX);
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe("MANIFEST_BLOB_UNKNOWN");
      expect((await request("GET", `/v2/${name}/manifests/${await sha256(index)}`)).status).toBe(404);
    }
    expect((await request("GET", `/v2/${name}/manifests/index`)).status).toBe(404);
  });

  it("answers 400 DIGEST_INVALID to a PUT by digest that does not match the body", async () => {
    const name = uniqueName("bad");
    const body = JSON.stringify(await validImage(name));
    const wrong = await sha256(`${body} `);
    await expectRefused(name, body, OCI_MANIFEST, 400, "DIGEST_INVALID", wrong);
    const malformed = await putManifest(name, "sha256:short", body, OCI_MANIFEST);
    expect(malformed.status).toBe(400);
    expect(await errorCode(malformed)).toBe("DIGEST_INVALID");
    await expectNothingStored(name, body);
  });

  it("answers 400 TAG_INVALID to a PUT with an invalid tag", async () => {
    const name = uniqueName("bad");
    const body = JSON.stringify(await validImage(name));
    for (const tag of ["-leading", ".leading", "a".repeat(129), "a+b", "ä"]) {
      const res = await putManifest(name, encodeURIComponent(tag), body, OCI_MANIFEST);
      expect(res.status, tag).toBe(400);
      expect(await errorCode(res), tag).toBe("TAG_INVALID");
    }
    await expectNothingStored(name, body);
    expect((await putManifest(name, "a".repeat(128), body, OCI_MANIFEST)).status).toBe(201);
  });
});

describe("GET /v2/:name/manifests/:reference errors", () => {
  it("answers 404 MANIFEST_UNKNOWN for an unknown tag or digest in a known repository", async () => {
    const name = uniqueName("get");
    await pushBlob(name, "makes the repository exist");
    await pushImage(name, "present");
    for (const reference of ["absent", await sha256("unknown manifest")]) {
      const res = await request("GET", `/v2/${name}/manifests/${reference}`);
      expect(res.status).toBe(404);
      expect(await errorCode(res)).toBe("MANIFEST_UNKNOWN");
      const head = await request("HEAD", `/v2/${name}/manifests/${reference}`);
      expect(head.status).toBe(404);
      expect((await bodyBytes(head)).byteLength).toBe(0);
    }
  });

  it("answers 404 MANIFEST_UNKNOWN for a manifest that only another repository has", async () => {
    const owner = uniqueName("get");
    const name = uniqueName("get");
    const { digest } = await pushImage(owner, "mine");
    await pushImage(name, "mine");
    const res = await request("GET", `/v2/${name}/manifests/${digest}`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("MANIFEST_UNKNOWN");
  });

  it("answers 404 NAME_UNKNOWN for an unknown repository", async () => {
    const name = uniqueName("get");
    for (const method of ["GET", "HEAD"]) {
      const res = await request(method, `/v2/${name}/manifests/latest`);
      expect(res.status).toBe(404);
      if (method === "GET") expect(await errorCode(res)).toBe("NAME_UNKNOWN");
    }
  });

  // Issue #12 item 8: no manifest can exist under a reference that is neither a tag nor a sha256
  // digest, so reads and deletes answer "unknown" (distribution does the same; the conformance
  // suite GETs, HEADs and DELETEs `.INVALID_MANIFEST_NAME` and wants 404). Only a PUT, which
  // would create something there, refuses the reference itself (TAG_INVALID, DIGEST_INVALID).
  const unusable = [
    ".INVALID_MANIFEST_NAME",
    "-bad",
    "a+b",
    "a".repeat(129),
    "sha256:abc",
    `sha512:${"a".repeat(128)}`,
    "sha256:",
  ];

  it("answers 404 MANIFEST_UNKNOWN to GET, HEAD and DELETE of a reference that cannot name a manifest", async () => {
    const name = uniqueName("get");
    await pushImage(name, "present");
    for (const reference of unusable) {
      for (const method of ["GET", "HEAD", "DELETE"]) {
        const res = await request(method, `/v2/${name}/manifests/${encodeURIComponent(reference)}`);
        expect(res.status, `${method} ${reference}`).toBe(404);
        if (method !== "HEAD") expect(await errorCode(res), `${method} ${reference}`).toBe("MANIFEST_UNKNOWN");
      }
    }
    expect((await request("GET", `/v2/${name}/manifests/present`)).status).toBe(200);
  });

  it("answers 404 NAME_UNKNOWN for such a reference in an unknown repository, 400 NAME_INVALID for a bad name", async () => {
    const name = uniqueName("get");
    for (const method of ["GET", "DELETE"]) {
      const res = await request(method, `/v2/${name}/manifests/.INVALID_MANIFEST_NAME`);
      expect(res.status, method).toBe(404);
      expect(await errorCode(res), method).toBe("NAME_UNKNOWN");
    }
    const badName = await request("GET", `/v2/Bad/Name/manifests/latest`);
    expect(badName.status).toBe(400);
    expect(await errorCode(badName)).toBe("NAME_INVALID");
  });

  it("still answers a PUT to such a reference with 400 TAG_INVALID or DIGEST_INVALID", async () => {
    const name = uniqueName("get");
    const body = JSON.stringify(await validImage(name));
    const tag = await putManifest(name, ".INVALID_MANIFEST_NAME", body, OCI_MANIFEST);
    expect(tag.status).toBe(400);
    expect(await errorCode(tag)).toBe("TAG_INVALID");
    const digest = await putManifest(name, "sha256:abc", body, OCI_MANIFEST);
    expect(digest.status).toBe(400);
    expect(await errorCode(digest)).toBe("DIGEST_INVALID");
  });
});

describe("PUT /v2/:name/manifests/:reference to a repository that does not exist", () => {
  it("creates no repository when the push is refused", async () => {
    const name = uniqueName("never");
    const layer = await sha256("not pushed anywhere");
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: layer, size: 19 },
      layers: [],
    });
    const refused = await putManifest(name, "v1", manifest, OCI_MANIFEST);
    expect(refused.status).toBe(400);
    expect(await errorCode(refused)).toBe("MANIFEST_BLOB_UNKNOWN");
    const invalid = await putManifest(name, "v1", "{not json", OCI_MANIFEST);
    expect(await errorCode(invalid)).toBe("MANIFEST_INVALID");

    const tags = await request("GET", `/v2/${name}/tags/list`);
    expect(tags.status).toBe(404);
    expect(await errorCode(tags)).toBe("NAME_UNKNOWN");
    const catalog = (await (await request("GET", "/v2/_catalog?n=1000")).json()) as { repositories: string[] };
    expect(catalog.repositories).not.toContain(name);
  });

  it("creates the repository for an artifact that references only the empty config", async () => {
    const name = uniqueName("artifact-only");
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.note",
      config: {
        mediaType: "application/vnd.oci.empty.v1+json",
        digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        size: 2,
      },
      layers: [],
    });
    const res = await putManifest(name, "note", manifest, OCI_MANIFEST);
    expect(res.status).toBe(201);
    const tags = await request("GET", `/v2/${name}/tags/list`);
    expect(await tags.json()).toEqual({ name, tags: ["note"] });
  });
});
