/**
 * The manifest API (Quay `endpoints/api/manifest.py`): a manifest's description, its labels from
 * the pushed image and through the API, and every refusal: label rules, unknown manifests and
 * labels, repositories the caller may not see (404) or change (403).
 */
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { manifestLabels, manifests } from "../../../src/db/schema";
import { RESERVED_LABEL_PREFIXES } from "../../../src/registry/labels";
import { findRepository } from "../../../src/registry/repositories";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import {
  bytesOf,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  registryToken,
  request,
  sha256,
} from "../helpers/registry";

let olga: string;
let rita: string;
let otto: string;
const MISSING = `sha256:${"0".repeat(64)}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["olga", "rita", "otto"]) await makeUser(admin, name);
  [olga, rita, otto] = (await Promise.all(["olga", "rita", "otto"].map((name) => tokenFor(name)))) as [
    string,
    string,
    string,
  ];
});

interface Image {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  history?: unknown[];
  /** Fixed content, so the same image can be pushed again or elsewhere. */
  seed?: string;
}

/** Pushes an image (as olga, the namespace's owner) under `reference`; returns digest and bytes. */
async function push(name: string, reference: string, image: Image = {}): Promise<{ digest: string; text: string }> {
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push", "delete"] }], "olga");
  const seed = image.seed ?? crypto.randomUUID();
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Labels: image.labels ?? {} },
    history: image.history,
    seed,
  });
  const blobs = [config, `layer one ${seed}`, `layer two ${seed}`];
  for (const blob of blobs) {
    const res = await request("POST", `/v2/${name}/blobs/uploads/?digest=${await sha256(blob)}`, {
      token,
      body: bytesOf(blob),
    });
    expect(res.status).toBe(201);
  }
  const text = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: await sha256(config), size: bytesOf(config).byteLength },
    layers: await Promise.all(
      blobs.slice(1).map(async (b) => ({ mediaType: OCI_LAYER, digest: await sha256(b), size: bytesOf(b).byteLength })),
    ),
    ...(image.annotations ? { annotations: image.annotations } : {}),
  });
  const res = await request("PUT", `/v2/${name}/manifests/${reference}`, {
    token,
    body: text,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  expect(res.status).toBe(201);
  return { digest: res.headers.get("Docker-Content-Digest")!, text };
}

const labelsOf = async (name: string, digest: string, query = "") =>
  api("GET", `/repository/${name}/manifest/${digest}/labels${query}`, { token: olga });
const add = (name: string, digest: string, body: unknown, token = olga) =>
  api("POST", `/repository/${name}/manifest/${digest}/labels`, { token, body });
const storedLabels = async (digest: string) => {
  const rows = await db()
    .select({ id: manifestLabels.id })
    .from(manifestLabels)
    .innerJoin(manifests, eq(manifests.id, manifestLabels.manifestId))
    .where(eq(manifests.digest, digest))
    .all();
  return rows.length;
};

describe("GET /api/v1/repository/{repository}/manifest/{manifestref}", () => {
  it("describes an image in Quay's JSON, one layer per history step (an empty step as Quay's empty layer)", async () => {
    const history = [
      { created: "2024-07-11T05:49:04Z", created_by: "KIWI 10.0.21", author: "Fedora" },
      { created: "2024-08-22T06:17:30Z", created_by: "/bin/sh -c #(nop) WORKDIR /src", empty_layer: true },
      {
        created: "2024-08-26T08:23:38Z",
        created_by: "/bin/sh -c #(nop) COPY dir:abc in . ",
        comment: "FROM dee6efde7e26",
      },
    ];
    const { digest, text } = await push("olga/described", "v1", { history });
    const layers = JSON.parse(text).layers;
    const res = await api("GET", `/repository/olga/described/manifest/${digest}`, { token: olga });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json)).toEqual([
      "digest",
      "is_manifest_list",
      "manifest_data",
      "config_media_type",
      "layers_compressed_size",
      "layers",
    ]);
    expect(res.json).toMatchObject({
      digest,
      is_manifest_list: false,
      manifest_data: text,
      config_media_type: OCI_CONFIG,
      layers_compressed_size: layers[0].size + layers[1].size,
    });
    expect(res.json.layers).toEqual([
      {
        index: 0,
        compressed_size: layers[0].size,
        is_remote: false,
        urls: null,
        command: ["KIWI 10.0.21"],
        comment: null,
        author: "Fedora",
        blob_digest: layers[0].digest,
        created_datetime: "Thu, 11 Jul 2024 05:49:04 -0000",
      },
      // Quay's _manifest_image_layers lists an `empty_layer` step as its empty layer (32 bytes);
      // this test expected it left out before issue #14 matched Quay.
      {
        index: 1,
        compressed_size: 32,
        is_remote: false,
        urls: null,
        command: ["/bin/sh -c #(nop) WORKDIR /src"],
        comment: null,
        author: null,
        blob_digest: "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
        created_datetime: "Thu, 22 Aug 2024 06:17:30 -0000",
      },
      {
        index: 2,
        compressed_size: layers[1].size,
        is_remote: false,
        urls: null,
        command: ["/bin/sh -c #(nop) COPY dir:abc in . "],
        comment: "FROM dee6efde7e26",
        author: null,
        blob_digest: layers[1].digest,
        created_datetime: "Mon, 26 Aug 2024 08:23:38 -0000",
      },
    ]);
  });

  it("leaves the history fields null when the config's history does not match the layers", async () => {
    const { digest } = await push("olga/described", "nohistory");
    const res = await api("GET", `/repository/olga/described/manifest/${digest}`, { token: olga });
    expect(res.json.layers).toHaveLength(2);
    expect(res.json.layers[0]).toMatchObject({
      index: 0,
      command: null,
      comment: null,
      author: null,
      created_datetime: null,
    });
  });

  it("describes an index: a manifest list without layers or config", async () => {
    const child = await push("olga/described", "child");
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: bytesOf(child.text).byteLength }],
    });
    const token = await registryToken(
      [{ type: "repository", name: "olga/described", actions: ["pull", "push"] }],
      "olga",
    );
    const put = await request("PUT", "/v2/olga/described/manifests/multi", {
      token,
      body: index,
      headers: { "Content-Type": OCI_INDEX },
    });
    const digest = put.headers.get("Docker-Content-Digest")!;
    const res = await api("GET", `/repository/olga/described/manifest/${digest}`, { token: olga });
    expect(res.json).toEqual({
      digest,
      is_manifest_list: true,
      manifest_data: index,
      config_media_type: null,
      // Quay's manifest row holds 0 for a list (this test expected null before issue #14).
      layers_compressed_size: 0,
      layers: null,
    });
  });

  it("answers 404 for an unknown digest, a tag, another repository's manifest and a manifest deleted by digest", async () => {
    const { digest } = await push("olga/gone", "v1");
    await push("olga/other", "v1");
    expectQuayError(await api("GET", `/repository/olga/gone/manifest/${MISSING}`, { token: olga }), 404, "not_found");
    expectQuayError(await api("GET", "/repository/olga/gone/manifest/v1", { token: olga }), 404, "not_found");
    expectQuayError(await api("GET", `/repository/olga/other/manifest/${digest}`, { token: olga }), 404, "not_found");
    expectQuayError(await api("GET", `/repository/olga/nothing/manifest/${digest}`, { token: olga }), 404, "not_found");
    const token = await registryToken(
      [{ type: "repository", name: "olga/gone", actions: ["pull", "push", "delete"] }],
      "olga",
    );
    expect((await request("DELETE", `/v2/olga/gone/manifests/${digest}`, { token })).status).toBe(202);
    expectQuayError(await api("GET", `/repository/olga/gone/manifest/${digest}`, { token: olga }), 404, "not_found");
    expectQuayError(await labelsOf("olga/gone", digest), 404, "not_found");
    expectQuayError(await add("olga/gone", digest, { key: "k", value: "v", media_type: null }), 404, "not_found");
  });

  it("hides a private repository's manifest from whoever may not pull it, as if it did not exist", async () => {
    const { digest } = await push("olga/private", "v1");
    for (const token of [otto, undefined]) {
      const hidden = await api("GET", `/repository/olga/private/manifest/${digest}`, { token });
      const missing = await api("GET", `/repository/olga/nowhere/manifest/${digest}`, { token });
      expectQuayError(hidden, 404, "not_found");
      expect(hidden.json).toEqual(missing.json);
    }
    expectQuayError(
      await api("GET", `/repository/olga/private/manifest/${digest}`, { token: await tokenFor("olga", ["user:read"]) }),
      403,
      "insufficient_scope",
    );
    await api("PUT", "/repository/olga/private/permissions/user/rita", { token: olga, body: { role: "read" } });
    expect((await api("GET", `/repository/olga/private/manifest/${digest}`, { token: rita })).status).toBe(200);
  });

  it("shows a public repository's manifest and labels to anonymous callers", async () => {
    const { digest } = await push("olga/public", "v1", { labels: { maintainer: "olga" } });
    await api("POST", "/repository/olga/public/changevisibility", { token: olga, body: { visibility: "public" } });
    expect((await api("GET", `/repository/olga/public/manifest/${digest}`)).json.digest).toBe(digest);
    const list = await api("GET", `/repository/olga/public/manifest/${digest}/labels`);
    expect(list.json.labels.map((l: any) => [l.key, l.value])).toEqual([["maintainer", "olga"]]);
    expect(
      (await api("GET", `/repository/olga/public/manifest/${digest}/labels/${list.json.labels[0].id}`)).status,
    ).toBe(200);
    expectQuayError(
      await add("olga/public", digest, { key: "k", value: "v", media_type: null }, ""),
      401,
      "invalid_token",
    );
    expectQuayError(
      await add("olga/public", digest, { key: "k", value: "v", media_type: null }, otto),
      403,
      "insufficient_scope",
    );
  });
});

describe("labels recorded on push", () => {
  it("lists the image config's labels and the manifest's annotations with source_type manifest", async () => {
    const { digest } = await push("olga/labelled", "v1", {
      labels: {
        "org.opencontainers.image.version": "1.36.1",
        "com.example.json": '{"a": [1]}',
        "": "ignored",
        "too.long": "x".repeat(4097),
      },
      annotations: {
        "org.opencontainers.image.created": "2024-07-11T15:22:42Z",
        "org.opencontainers.image.version": "annotation loses",
      },
    });
    const res = await labelsOf("olga/labelled", digest);
    expect(res.status).toBe(200);
    const labels = [...res.json.labels].sort((a: any, b: any) => a.key.localeCompare(b.key));
    expect(labels).toEqual([
      {
        id: expect.stringMatching(UUID),
        key: "com.example.json",
        value: '{"a": [1]}',
        source_type: "manifest",
        media_type: "application/json",
      },
      {
        id: expect.stringMatching(UUID),
        key: "org.opencontainers.image.created",
        value: "2024-07-11T15:22:42Z",
        source_type: "manifest",
        media_type: "text/plain",
      },
      {
        id: expect.stringMatching(UUID),
        key: "org.opencontainers.image.version",
        value: "1.36.1",
        source_type: "manifest",
        media_type: "text/plain",
      },
    ]);
    const one = await api("GET", `/repository/olga/labelled/manifest/${digest}/labels/${labels[2].id}`, {
      token: olga,
    });
    expect(one.json).toEqual(labels[2]);
  });

  it("records an image's labels once, however often the manifest is pushed, per repository", async () => {
    const image = { labels: { a: "1", b: "2" }, seed: crypto.randomUUID() };
    const { digest } = await push("olga/again", "v1", image);
    const first = (await labelsOf("olga/again", digest)).json.labels;
    await push("olga/again", "v1", image);
    await push("olga/again", "v2", image);
    await push("olga/again", digest, image);
    expect((await labelsOf("olga/again", digest)).json.labels).toEqual(first);
    expect(first).toHaveLength(2);
    // Deleted by digest, then pushed again: the manifest comes back with the same labels, once.
    const token = await registryToken(
      [{ type: "repository", name: "olga/again", actions: ["pull", "push", "delete"] }],
      "olga",
    );
    expect((await request("DELETE", `/v2/olga/again/manifests/${digest}`, { token })).status).toBe(202);
    await push("olga/again", "v3", image);
    expect((await labelsOf("olga/again", digest)).json.labels).toEqual(first);
    // The same manifest in another repository is that repository's, with labels of its own.
    await push("olga/elsewhere", "v1", image);
    const elsewhere = (await labelsOf("olga/elsewhere", digest)).json.labels;
    expect(elsewhere.map((l: any) => l.key)).toEqual(first.map((l: any) => l.key));
    expect(elsewhere.map((l: any) => l.id)).not.toEqual(first.map((l: any) => l.id));
    expect(await storedLabels(digest)).toBe(4);
  });

  it("filters by key prefix, case-insensitively, with LIKE's wildcards taken literally", async () => {
    const { digest } = await push("olga/filtered", "v1", {
      labels: { "org.example.one": "1", "org.example.two": "2", "com.other": "3", a_b: "4", axb: "5" },
    });
    const keys = async (filter: string) =>
      (await labelsOf("olga/filtered", digest, `?filter=${encodeURIComponent(filter)}`)).json.labels
        .map((l: any) => l.key)
        .sort();
    expect(await keys("org.example.")).toEqual(["org.example.one", "org.example.two"]);
    expect(await keys("ORG.EXAMPLE.T")).toEqual(["org.example.two"]);
    expect(await keys("a_")).toEqual(["a_b"]);
    expect(await keys("%")).toEqual([]);
    expect(await keys("")).toHaveLength(5);
    expectQuayError(await labelsOf("olga/filtered", digest, `?filter=${"x".repeat(256)}`), 400, "invalid_request");
  });
});

describe("POST, GET and DELETE …/manifest/{manifestref}/labels", () => {
  let digest: string;
  const NAME = "olga/editable";
  beforeAll(async () => {
    digest = (await push(NAME, "v1", { labels: { "from.image": "yes" } })).digest;
    await api("PUT", `/repository/${NAME}/permissions/user/rita`, { token: olga, body: { role: "read" } });
  });

  it("adds a label (201, Quay's JSON, Location), reads it, lists it and deletes it", async () => {
    const res = await add(NAME, digest, { key: "example-key", value: "example-value", media_type: "text/plain" });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({
      label: {
        id: expect.stringMatching(UUID),
        key: "example-key",
        value: "example-value",
        source_type: "api",
        media_type: "text/plain",
      },
    });
    const { id } = res.json.label;
    expect(res.headers.get("Location")).toBe(`/api/v1/repository/${NAME}/manifest/${digest}/labels/${id}`);
    expect((await api("GET", `/repository/${NAME}/manifest/${digest}/labels/${id}`, { token: rita })).json).toEqual(
      res.json.label,
    );
    expect((await labelsOf(NAME, digest)).json.labels.map((l: any) => l.key)).toEqual(["from.image", "example-key"]);
    expect((await api("DELETE", `/repository/${NAME}/manifest/${digest}/labels/${id}`, { token: olga })).status).toBe(
      204,
    );
    expectQuayError(
      await api("GET", `/repository/${NAME}/manifest/${digest}/labels/${id}`, { token: olga }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("DELETE", `/repository/${NAME}/manifest/${digest}/labels/${id}`, { token: olga }),
      404,
      "not_found",
    );
  });

  it("infers the media type when it is null, as Quay does", async () => {
    expect((await add(NAME, digest, { key: "json", value: '{"x": 1}', media_type: null })).json.label.media_type).toBe(
      "application/json",
    );
    expect(
      (await add(NAME, digest, { key: "text", value: "{not json}", media_type: null })).json.label.media_type,
    ).toBe("text/plain");
    expect(
      (await add(NAME, digest, { key: "array", value: "[1,2]", media_type: "application/json" })).json.label.media_type,
    ).toBe("application/json");
  });

  it.each(RESERVED_LABEL_PREFIXES.map((prefix) => [prefix]))("refuses the reserved prefix %s", async (prefix) => {
    const res = await add(NAME, digest, {
      key: `${prefix}${prefix.endsWith(".") ? "" : "."}thing`,
      value: "v",
      media_type: null,
    });
    expectQuayError(res, 400, "invalid_request", "Label has a reserved prefix");
    expect(res.json.message).toBe("Label has a reserved prefix");
  });

  it.each([[""], ["Upper"], ["-lead"], ["trail-"], ["a..b"], ["a.-b"], ["with space"], ["a/b"], ["k".repeat(256)]])(
    "refuses the key %j",
    async (key) => {
      expectQuayError(
        await add(NAME, digest, { key, value: "v", media_type: null }),
        400,
        "invalid_request",
        /^Label is of an invalid format/,
      );
    },
  );

  it("takes a key of 255 characters and a value of 4 KiB, and no more", async () => {
    expect((await add(NAME, digest, { key: "k".repeat(255), value: "é".repeat(2048), media_type: null })).status).toBe(
      201,
    );
    expectQuayError(
      await add(NAME, digest, { key: "big", value: "v".repeat(4097), media_type: null }),
      400,
      "invalid_request",
      /4096 bytes/,
    );
  });

  it("refuses a media type other than text/plain and application/json, JSON that does not parse, and a bad body", async () => {
    const before = await storedLabels(digest);
    expectQuayError(await add(NAME, digest, { key: "k", value: "v", media_type: "text/html" }), 400, "invalid_request");
    expectQuayError(
      await add(NAME, digest, { key: "k", value: "{nope", media_type: "application/json" }),
      400,
      "invalid_request",
      /not valid JSON/,
    );
    expectQuayError(await add(NAME, digest, { key: "k", value: "v" }), 400, "invalid_request");
    expectQuayError(await add(NAME, digest, { key: "k", value: 3, media_type: null }), 400, "invalid_request");
    expectQuayError(await add(NAME, digest, "not json"), 400, "invalid_request");
    expect(await storedLabels(digest)).toBe(before);
  });

  it("refuses to delete a label that came with the image", async () => {
    const image = (await labelsOf(NAME, digest)).json.labels.find((l: any) => l.key === "from.image");
    const res = await api("DELETE", `/repository/${NAME}/manifest/${digest}/labels/${image.id}`, { token: olga });
    expectQuayError(res, 400, "invalid_request", "Cannot delete immutable label");
    expect(
      (await api("GET", `/repository/${NAME}/manifest/${digest}/labels/${image.id}`, { token: olga })).status,
    ).toBe(200);
  });

  it("answers 404 for an unknown manifest or label, and for a label of another manifest", async () => {
    const other = await push(NAME, "v2");
    const label = (await add(NAME, other.digest, { key: "mine", value: "v", media_type: null })).json.label;
    expectQuayError(await add(NAME, MISSING, { key: "k", value: "v", media_type: null }), 404, "not_found");
    expectQuayError(
      await api("GET", `/repository/${NAME}/manifest/${MISSING}/labels`, { token: olga }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("GET", `/repository/${NAME}/manifest/${digest}/labels/${label.id}`, { token: olga }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("DELETE", `/repository/${NAME}/manifest/${digest}/labels/${label.id}`, { token: olga }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("GET", `/repository/${NAME}/manifest/${digest}/labels/${crypto.randomUUID()}`, { token: olga }),
      404,
      "not_found",
    );
    expect(
      (await api("GET", `/repository/${NAME}/manifest/${other.digest}/labels/${label.id}`, { token: olga })).status,
    ).toBe(200);
  });

  it("lets readers read but not add or delete (403), and hides the repository from outsiders (404)", async () => {
    const label = (await add(NAME, digest, { key: "kept", value: "v", media_type: null })).json.label;
    const before = await storedLabels(digest);
    expectQuayError(
      await add(NAME, digest, { key: "k", value: "v", media_type: null }, rita),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("DELETE", `/repository/${NAME}/manifest/${digest}/labels/${label.id}`, { token: rita }),
      403,
      "insufficient_scope",
    );
    // The same refusal for a repository that does not exist.
    expectQuayError(
      await add("olga/nowhere", digest, { key: "k", value: "v", media_type: null }, rita),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await add(NAME, digest, { key: "k", value: "v", media_type: null }, await tokenFor("olga", ["repo:read"])),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("GET", `/repository/${NAME}/manifest/${digest}/labels`, { token: otto }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("GET", `/repository/${NAME}/manifest/${digest}/labels/${label.id}`, { token: otto }),
      404,
      "not_found",
    );
    expectQuayError(await api("GET", `/repository/${NAME}/manifest/${digest}/labels`), 404, "not_found");
    expect(await storedLabels(digest)).toBe(before);
  });

  it("bounds a manifest's labels at 1000", async () => {
    const target = await push(NAME, "crowded");
    const repository = (await findRepository(db(), NAME))!;
    const manifest = (await db().select().from(manifests).where(eq(manifests.digest, target.digest)).all()).find(
      (m) => m.repositoryId === repository.id,
    )!;
    const rows = Array.from({ length: 999 }, (_, i) => ({
      id: crypto.randomUUID(),
      manifestId: manifest.id,
      key: `k${i}`,
      value: "v",
      sourceType: "api" as const,
    }));
    const d = db();
    const inserts = [];
    for (let i = 0; i < rows.length; i += 14) inserts.push(d.insert(manifestLabels).values(rows.slice(i, i + 14)));
    await d.batch(inserts as [(typeof inserts)[0], ...typeof inserts]);
    expect((await add(NAME, target.digest, { key: "last", value: "v", media_type: null })).status).toBe(201);
    expectQuayError(
      await add(NAME, target.digest, { key: "over", value: "v", media_type: null }),
      400,
      "invalid_request",
      /at most 1000 labels/,
    );
  });
});
