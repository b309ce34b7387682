/**
 * Quay's JSON, field for field (issue #14), for repositories, tags, manifests, labels, stars, the
 * registry's own descriptions (errors, capabilities) and the refusals scripts read. Each case lists
 * Quay's keys and types beside the Quay file and function they come from; the accounts side
 * (users, organizations, teams, robots, permissions, tokens, applications) is in
 * quay-shapes-accounts.test.ts. Both print the count of Quay's fields Wharf matches.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { AVATAR, expectQuayShape, floatText, reportQuayShapes } from "../helpers/quay-shape";
import {
  BASE,
  bytesOf,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  registryToken,
  request,
  sha256,
} from "../helpers/registry";

reportQuayShapes("quay-shapes.test.ts");

const REPO = "olga/shapes";
let olga: string;
let image: { digest: string; text: string; layerSizes: number[] };
let index: string;
let presentChild: string;
let goneChild: string;

const pushToken = () =>
  registryToken([{ type: "repository", name: REPO, actions: ["pull", "push", "delete"] }], "olga");

/** An image whose config history has an empty step between its two layers. */
async function pushImage(tag: string) {
  const token = await pushToken();
  const seed = crypto.randomUUID();
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    history: [
      { created: "2024-07-11T05:49:04Z", created_by: "ADD rootfs" },
      { created: "2024-07-11T05:49:05Z", created_by: "ENV A=1", empty_layer: true },
      { created: "2024-07-11T05:49:06Z", created_by: "COPY app /app" },
    ],
    seed,
  });
  const blobs = [config, `first layer ${seed}`, `second layer, a little longer ${seed}`];
  for (const blob of blobs) {
    const res = await request("POST", `/v2/${REPO}/blobs/uploads/?digest=${await sha256(blob)}`, {
      token,
      body: bytesOf(blob),
    });
    expect(res.status).toBe(201);
  }
  const layers = await Promise.all(
    blobs.slice(1).map(async (b) => ({ mediaType: OCI_LAYER, digest: await sha256(b), size: bytesOf(b).byteLength })),
  );
  const text = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: await sha256(config), size: bytesOf(config).byteLength },
    layers,
  });
  const res = await request("PUT", `/v2/${REPO}/manifests/${tag}`, {
    token,
    body: text,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  expect(res.status).toBe(201);
  return { digest: res.headers.get("Docker-Content-Digest")!, text, layerSizes: layers.map((l) => l.size) };
}

beforeAll(async () => {
  const admin = await initializeAdmin();
  await makeUser(admin, "olga");
  olga = await tokenFor("olga");
  image = await pushImage("v1");
  presentChild = (await pushImage("arm")).digest;
  goneChild = (await pushImage("gone")).digest;
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [presentChild, goneChild].map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: 500 })),
  });
  const put = await request("PUT", `/v2/${REPO}/manifests/multi`, {
    token: await pushToken(),
    body,
    headers: { "Content-Type": OCI_INDEX },
  });
  expect(put.status).toBe(201);
  index = put.headers.get("Docker-Content-Digest")!;
  // A child deleted by digest: the index now names a manifest the repository no longer holds.
  const gone = await request("DELETE", `/v2/${REPO}/manifests/${goneChild}`, { token: await pushToken() });
  expect(gone.status).toBe(202);
  expect((await api("DELETE", `/repository/${REPO}/tag/arm`, { token: olga })).status).toBe(204);
  expect(
    (await api("POST", "/user/starred", { token: olga, body: { namespace: "olga", repository: "shapes" } })).status,
  ).toBe(201);
});

describe("repositories (endpoints/api/repository.py)", () => {
  it("GET /repository/{repository}: ImageRepositoryRepository.to_dict, can_write and can_admin", async () => {
    const res = await api("GET", `/repository/${REPO}`, { token: olga });
    const repo = expectQuayShape("repository_models_interface.py ImageRepositoryRepository", res.json, {
      namespace: "string",
      name: "string",
      kind: "string",
      description: "string|null",
      is_public: "bool",
      is_organization: "bool",
      is_starred: "bool",
      status_token: "string",
      trust_enabled: "bool",
      tag_expiration_s: "int",
      is_free_account: "bool",
      state: "string",
      tags: "object",
      can_write: "bool",
      can_admin: "bool",
    });
    // repository_models_interface.py Tag.to_dict: `size` is the tag's manifest_layers_size.
    const tag = { name: "string", size: "int|null", last_modified: "string", manifest_digest: "string" } as const;
    expectQuayShape("repository_models_interface.py Tag (image)", repo.tags.v1, {
      ...tag,
      size: (v) => v === image.layerSizes[0]! + image.layerSizes[1]!,
    });
    expectQuayShape("repository_models_interface.py Tag (list)", repo.tags.multi, { ...tag, size: "null" });
  });

  it("GET /repository: RepositoryBaseElement.to_dict, popularity written as Python's float", async () => {
    const raw = await request("GET", "/api/v1/repository?namespace=olga&last_modified=true&popularity=true", {
      headers: { Authorization: `Bearer ${olga}` },
    });
    const text = await raw.text();
    const page = expectQuayShape("repository.py RepositoryList.get", JSON.parse(text), { repositories: "array" }, [
      "next_page",
    ]);
    expectQuayShape("repository_models_interface.py RepositoryBaseElement", page.repositories[0], {
      namespace: "string",
      name: "string",
      description: "string|null",
      is_public: "bool",
      kind: "string",
      state: "string",
      // namespacequota.py get_repo_quota_for_view, with FEATURE_QUOTA_MANAGEMENT.
      quota_report: "object",
      last_modified: "int|null",
      popularity: () => floatText(text, "popularity"),
      is_starred: "bool",
    });
  });

  it("starred: user.py StarredRepositoryList (get's repo_view, post's answer)", async () => {
    const list = await api("GET", "/user/starred", { token: olga });
    const page = expectQuayShape("user.py StarredRepositoryList.get", list.json, { repositories: "array" }, [
      "next_page",
    ]);
    expectQuayShape("user.py StarredRepositoryList.get repo_view", page.repositories[0], {
      namespace: "string",
      name: "string",
      description: "string|null",
      is_public: "bool",
    });
    const star = await api("POST", "/user/starred", { token: olga, body: { namespace: "olga", repository: "shapes" } });
    expectQuayShape("user.py StarredRepositoryList.post", star.json, { namespace: "string", repository: "string" });
  });
});

describe("tags (endpoints/api/tag.py)", () => {
  // tag.py _tag_dict, with FEATURE_IMMUTABLE_TAGS's `immutable`.
  const TAG = {
    name: "string",
    reversion: "bool",
    start_ts: "int",
    manifest_digest: "string",
    is_manifest_list: "bool",
    size: "int|null",
    last_modified: "string",
    immutable: "bool",
  } as const;
  const rows = async () => (await api("GET", `/repository/${REPO}/tag/`, { token: olga })).json;

  it("ListRepositoryTags.get: tags, page, has_additional", async () => {
    expectQuayShape("tag.py ListRepositoryTags.get", await rows(), {
      tags: "array",
      page: "int",
      has_additional: "bool",
    });
  });

  it("an image's row: size is its layers' compressed size, the config not counted", async () => {
    const row = (await rows()).tags.find((t: { name: string }) => t.name === "v1");
    expectQuayShape("tag.py _tag_dict (image)", row, {
      ...TAG,
      size: (v) => v === image.layerSizes[0]! + image.layerSizes[1]!,
    });
  });

  it("an ended row adds end_ts and expiration", async () => {
    const row = (await rows()).tags.find((t: { name: string }) => t.name === "arm");
    expectQuayShape("tag.py _tag_dict (ended)", row, { ...TAG, end_ts: "int", expiration: "string" });
  });

  it("a manifest list's row: size null, and the sparse-manifest fields computed from the children held", async () => {
    const row = (await rows()).tags.find((t: { name: string }) => t.name === "multi");
    expectQuayShape("tag.py _tag_dict (manifest list)", row, {
      ...TAG,
      size: "null",
      is_sparse: (v) => v === true,
      child_manifest_count: (v) => v === 2,
      present_child_count: (v) => v === 1,
      child_manifests_presence: (v) => {
        const presence = v as Record<string, boolean>;
        return Object.keys(presence).length === 2 && presence[presentChild] === true && presence[goneChild] === false;
      },
    });
  });
});

describe("manifests and labels (endpoints/api/manifest.py)", () => {
  // manifest.py _layer_dict.
  const LAYER = {
    index: "int",
    compressed_size: "int",
    is_remote: "bool",
    urls: "array|null",
    command: "array|null",
    comment: "string|null",
    author: "string|null",
    blob_digest: "string",
    created_datetime: "string|null",
  } as const;

  it("_manifest_dict of an image: one layer per history step, an empty step as Quay's empty layer", async () => {
    const res = await api("GET", `/repository/${REPO}/manifest/${image.digest}`, { token: olga });
    const manifest = expectQuayShape("manifest.py _manifest_dict (image)", res.json, {
      digest: "string",
      is_manifest_list: "bool",
      manifest_data: "string",
      config_media_type: "string|null",
      layers_compressed_size: (v) => v === image.layerSizes[0]! + image.layerSizes[1]!,
      layers: (v) => Array.isArray(v) && v.length === 3,
    });
    for (const layer of manifest.layers) expectQuayShape("manifest.py _layer_dict", layer, LAYER);
    expect(manifest.layers[1]).toMatchObject({
      index: 1,
      compressed_size: 32,
      blob_digest: "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
      command: ["ENV A=1"],
    });
  });

  it("_manifest_dict of an index: layers_compressed_size 0, layers null", async () => {
    const res = await api("GET", `/repository/${REPO}/manifest/${index}`, { token: olga });
    expectQuayShape("manifest.py _manifest_dict (list)", res.json, {
      digest: "string",
      is_manifest_list: (v) => v === true,
      manifest_data: "string",
      config_media_type: "null",
      layers_compressed_size: (v) => v === 0,
      layers: "null",
    });
  });

  it("labels: _label_dict, in `labels` and under `label`", async () => {
    const path = `/repository/${REPO}/manifest/${image.digest}/labels`;
    const created = await api("POST", path, {
      token: olga,
      body: { key: "team", value: "shapes", media_type: "text/plain" },
    });
    const LABEL = {
      id: "string",
      key: "string",
      value: "string",
      source_type: "string",
      media_type: "string",
    } as const;
    const wrapped = expectQuayShape("manifest.py RepositoryManifestLabels.post", created.json, { label: "object" });
    expectQuayShape("manifest.py _label_dict", wrapped.label, LABEL);
    const list = expectQuayShape(
      "manifest.py RepositoryManifestLabels.get",
      (await api("GET", path, { token: olga })).json,
      {
        labels: "array",
      },
    );
    expectQuayShape("manifest.py _label_dict (listed)", list.labels[0], LABEL);
    const one = await api("GET", `${path}/${wrapped.label.id}`, { token: olga });
    expectQuayShape("manifest.py ManageRepositoryManifestLabel.get", one.json, LABEL);
  });
});

describe("the registry's own descriptions", () => {
  it("GET /error/{error_type}: error.py error_view for every type the error mapper can answer", async () => {
    const { API_ERRORS } = await import("../../../src/routes/api/errors");
    for (const errorType of Object.keys(API_ERRORS)) {
      const res = await api("GET", `/error/${errorType}`);
      expect(res.status).toBe(200);
      expectQuayShape(`error.py error_view (${errorType})`, res.json, {
        type: (v) => v === `${BASE}/api/v1/error/${errorType}`,
        title: (v) => v === errorType,
        description: (v) => typeof v === "string" && v.length > 0,
      });
    }
    const quayOnly = await api("GET", "/error/exceeds_license");
    expect(quayOnly.json.description).toBe("The action was refused because the current license does not allow it.");
  });

  it("every error type a refusal names in `type` is described there; an unknown type is Quay's 404", async () => {
    const refusal = await api("GET", "/user/");
    const described = await request("GET", new URL(refusal.json.type).pathname);
    expect(described.status).toBe(200);
    const unknown = await api("GET", "/error/no_such_error");
    expect(unknown.status).toBe(404);
    expectQuayShape("exception.py ApiException.to_dict (NotFound)", unknown.json, {
      detail: "string",
      error_message: "string",
      error_type: (v) => v === "not_found",
      title: "string",
      type: "string",
      status: (v) => v === 404,
    });
  });

  it("GET /registry/capabilities: capabilities.py RegistryCapabilities.get, read from what Wharf does", async () => {
    const res = await api("GET", "/registry/capabilities");
    const body = expectQuayShape("capabilities.py RegistryCapabilities.get", res.json, {
      sparse_manifests: "object",
      mirror_architectures: "array",
    });
    expectQuayShape("capabilities.py sparse_manifests", body.sparse_manifests, {
      // Wharf refuses an index whose children are missing (MANIFEST_BLOB_UNKNOWN): no sparse indexes.
      supported: (v) => v === false,
      required_architectures: "array",
      optional_architectures_allowed: (v) => v === false,
    });
    const child = `sha256:${"1".repeat(64)}`;
    const sparse = await request("PUT", `/v2/${REPO}/manifests/sparse`, {
      token: await pushToken(),
      body: JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: child, size: 1 }],
      }),
      headers: { "Content-Type": OCI_INDEX },
    });
    expect(sparse.status).toBe(400);
  });
});

describe("refusals in Quay's words", () => {
  it("a bad tag name: Flask's abort(400, TAG_ERROR), a bare message", async () => {
    const res = await api("PUT", `/repository/${REPO}/tag/-bad`, { token: olga, body: { manifest_digest: index } });
    expect(res.status).toBe(400);
    expectQuayShape("tag.py RepositoryTag.put abort(400, TAG_ERROR)", res.json, {
      message: (v) =>
        v === 'Invalid tag: must match [A-Za-z0-9_.-], NOT start with "." or "-", and can contain 1-128 characters',
    });
  });

  it("a missing body member: jsonschema's \"'x' is a required property\"", async () => {
    const res = await api("POST", "/repository", { token: olga, body: { visibility: "private", description: "" } });
    expect(res.status).toBe(400);
    expect(res.json.error_message).toBe("'repository' is a required property");
  });

  it('a token without the scope: Quay\'s Unauthorized(), 403 "Unauthorized"', async () => {
    const res = await api("GET", `/repository/${REPO}`, { token: await tokenFor("olga", ["user:read"]) });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ error_type: "insufficient_scope", error_message: "Unauthorized" });
  });

  it("the anonymous user: user.py User.get's InvalidToken with session_required", async () => {
    const res = await api("GET", "/user/");
    expect(res.status).toBe(401);
    expectQuayShape("user.py User.get InvalidToken(payload={session_required: False})", res.json, {
      session_required: (v) => v === false,
      detail: "string",
      error_message: (v) => v === "Requires authentication",
      error_type: (v) => v === "invalid_token",
      title: "string",
      type: "string",
      status: (v) => v === 401,
    });
  });

  it("avatars: avatars.py get_data", async () => {
    const res = await api("GET", "/user/", { token: olga });
    expectQuayShape("avatars.py get_data", res.json.avatar, AVATAR);
  });
});
