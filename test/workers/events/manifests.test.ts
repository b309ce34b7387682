/**
 * Manifest, blob and label events (docs/events.md): `push_repo` (by tag and by digest),
 * `delete_manifest`, `delete_blob`, `manifest_label_add`, `manifest_label_delete`. Each action
 * through its real route publishes exactly one event of its kind with the documented fields, actor
 * and client address; a refused action publishes none.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findUser } from "../../../src/identity/users";
import { findRepository } from "../../../src/registry/repositories";
import { api, initializeAdmin } from "../helpers/api";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { recordEvents } from "../helpers/events";
import {
  bytesOf,
  errorCode,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
  pushBlob,
  pushImage,
  request,
  sha256,
  imageManifest,
} from "../helpers/registry";

const IP = "2001:db8:5::7";
const fromIp = { "CF-Connecting-IP": IP };
let olga: string;
let olgaId: number;

beforeAll(async () => {
  await makeUser(await initializeAdmin(), "olga");
  olga = await tokenFor("olga");
  olgaId = (await findUser(db(), "olga"))!.id;
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function place(name: string) {
  const repository = (await findRepository(db(), name))!;
  return { namespace: "olga", repository: { id: repository.id, name } };
}

const put = (name: string, reference: string, body: string, mediaType = OCI_MANIFEST) =>
  request("PUT", `/v2/${name}/manifests/${reference}`, {
    body,
    headers: { "Content-Type": mediaType, ...fromIp },
  });

describe("push_repo", () => {
  it("comes from a manifest PUT by tag, naming the pusher, the digest, the media type and the tag", async () => {
    const manifest = await imageManifest("olga/app");
    const recorder = recordEvents();
    const res = await put("olga/app", "v1", manifest);
    expect(res.status).toBe(201);
    expect(await recorder.published("push_repo")).toEqual([
      {
        id: expect.any(String),
        kind: "push_repo",
        at: expect.any(Number),
        ...(await place("olga/app")),
        actor: { kind: "user", name: "olga", id: olgaId },
        ip: IP,
        data: { digest: await sha256(manifest), mediaType: OCI_MANIFEST, tag: "v1" },
      },
    ]);
    // Pushed again to the same tag: still a push (Quay logs push_repo), one event.
    expect((await put("olga/app", "v1", manifest)).status).toBe(201);
    expect(await recorder.published("push_repo")).toHaveLength(2);
  });

  it("comes from a manifest PUT by digest with no tag", async () => {
    const child = await pushImage("olga/app", "child");
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: bytesOf(child.manifest).byteLength }],
    });
    const digest = await sha256(index);
    const recorder = recordEvents();
    expect((await put("olga/app", digest, index, OCI_INDEX)).status).toBe(201);
    expect(await recorder.published()).toEqual([
      expect.objectContaining({ kind: "push_repo", ip: IP, data: { digest, mediaType: OCI_INDEX, tag: null } }),
    ]);
  });

  it("is not emitted for a push that is refused", async () => {
    const recorder = recordEvents();
    const unknownBlob = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: `sha256:${"1".repeat(64)}`, size: 2 },
      layers: [],
    });
    const refused = await put("olga/app", "broken", unknownBlob);
    expect([refused.status, await errorCode(refused)]).toEqual([400, "MANIFEST_BLOB_UNKNOWN"]);
    const invalid = await put("olga/app", "broken", "{ not json");
    expect(invalid.status).toBe(400);
    expect(await recorder.published()).toEqual([]);
  });
});

describe("delete_manifest", () => {
  it("comes from DELETE /v2/<name>/manifests/<digest>, listing the tags it ended", async () => {
    const image = await pushImage("olga/doomed", "a");
    await api("PUT", "/repository/olga/doomed/tag/b", { token: olga, body: { manifest_digest: image.digest } });
    const recorder = recordEvents();
    const res = await request("DELETE", `/v2/olga/doomed/manifests/${image.digest}`, { headers: fromIp });
    expect(res.status).toBe(202);
    const again = await request("DELETE", `/v2/olga/doomed/manifests/${image.digest}`);
    expect([again.status, await errorCode(again)]).toEqual([404, "MANIFEST_UNKNOWN"]);
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "delete_manifest",
        ...(await place("olga/doomed")),
        actor: { kind: "user", name: "olga", id: olgaId },
        ip: IP,
        data: { digest: image.digest, tags: ["a", "b"] },
      }),
    ]);
  });
});

describe("delete_blob", () => {
  it("comes from DELETE /v2/<name>/blobs/<digest> of a blob no manifest needs; a refused delete emits nothing", async () => {
    const loose = await pushBlob("olga/app", `loose ${crypto.randomUUID()}`);
    const image = await pushImage("olga/app", "kept");
    const recorder = recordEvents();
    const needed = await request("DELETE", `/v2/olga/app/blobs/${image.config}`);
    expect([needed.status, await errorCode(needed)]).toEqual([405, "UNSUPPORTED"]);
    const res = await request("DELETE", `/v2/olga/app/blobs/${loose}`, { headers: fromIp });
    expect(res.status).toBe(202);
    const again = await request("DELETE", `/v2/olga/app/blobs/${loose}`);
    expect([again.status, await errorCode(again)]).toEqual([404, "BLOB_UNKNOWN"]);
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "delete_blob",
        ...(await place("olga/app")),
        actor: { kind: "user", name: "olga", id: olgaId },
        ip: IP,
        data: { digest: loose },
      }),
    ]);
  });
});

describe("labels", () => {
  it("manifest_label_add and manifest_label_delete come from the API; refusals emit nothing", async () => {
    const manifest = await imageManifest("olga/labelled", { "from.image": "yes" });
    expect((await put("olga/labelled", "v1", manifest)).status).toBe(201);
    const digest = await sha256(manifest);
    const labels = `/repository/olga/labelled/manifest/${digest}/labels`;
    const recorder = recordEvents();
    const added = await api("POST", labels, {
      token: olga,
      headers: fromIp,
      body: { key: "team", value: "ci", media_type: null },
    });
    expect(added.status).toBe(201);
    const reserved = await api("POST", labels, {
      token: olga,
      body: { key: "io.quay.x", value: "1", media_type: null },
    });
    expect(reserved.status).toBe(400);
    const label = { id: added.json.label.id, key: "team", value: "ci", mediaType: "text/plain" };
    const byToken = { kind: "token", name: "olga", id: olgaId, token: "oauth" };
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "manifest_label_add",
        ...(await place("olga/labelled")),
        actor: byToken,
        ip: IP,
        data: { digest, label },
      }),
    ]);

    const fromImage = (await api("GET", `${labels}?filter=from.`, { token: olga })).json.labels[0];
    expect((await api("DELETE", `${labels}/${fromImage.id}`, { token: olga })).status).toBe(400);
    expect((await api("DELETE", `${labels}/${label.id}`, { token: olga, headers: fromIp })).status).toBe(204);
    expect((await api("DELETE", `${labels}/${label.id}`, { token: olga })).status).toBe(404);
    expect((await recorder.published()).slice(1)).toEqual([
      expect.objectContaining({ kind: "manifest_label_delete", actor: byToken, ip: IP, data: { digest, label } }),
    ]);
  });
});
