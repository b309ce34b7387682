/**
 * A tag's life with real clients at both ends (issue #6, "End to end"): skopeo pushes, the tag API
 * (Quay `endpoints/api/tag.py`) adds a second tag, moves it, deletes tags and restores them from
 * the time machine, and podman pulls the restored image, which is byte for byte what was pushed.
 * Then Quay's `quay.expires-after` label: an image whose config says `2h` gets a tag that ends two
 * hours after the push.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { login, Podman, registryHost, skopeo, skopeoCopy, skopeoInspectRaw } from "./helpers/clients";
import { buildLabelledLayout } from "./helpers/labelled-image";
import { reachableDigests, readLayout, sha256, type BuiltImage } from "./helpers/oci-layout";
import { QUAY_DATE, runSuffix } from "./helpers/seed-commands";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
const host = registryHost(base);
const run = runSuffix();
const org = `lifecycle${run}`;
const repo = `${org}/app`;
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let tmp: string;
let layout: string;
let images: Map<string, BuiltImage>;
/** The two images pushed as `1` and `2`: A and B. */
let a: BuiltImage;
let b: BuiltImage;

/** An /api/v1 call as the organization's admin: its status and JSON (null when empty). */
async function call(method: string, pathname: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/api/v1${pathname}`, {
    method,
    headers: {
      Authorization: `Bearer ${wharf.adminToken}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** The repository's tag history rows (Quay's `GET …/tag/`), newest first. */
async function history(query: string): Promise<any[]> {
  const { status, json } = await call("GET", `/repository/${repo}/tag/${query}`);
  expect(status).toBe(200);
  return json.tags;
}

/** The digest of the manifest the registry serves for `tag`, as skopeo fetches it. */
async function servedDigest(tag: string): Promise<string> {
  return sha256(await skopeoInspectRaw(`docker://${host}/${repo}:${tag}`));
}

/** The repository's tags as `skopeo list-tags` sees them (/v2/…/tags/list: alive tags only). */
async function clientTags(): Promise<string[]> {
  const out = await skopeo(["list-tags", "--tls-verify=false", `docker://${host}/${repo}`]);
  return (JSON.parse(out.stdout.toString("utf8")).Tags as string[]).sort();
}

/** Quay's `format_date` of a unix time. */
const quayDateOf = (seconds: number) => new Date(seconds * 1000).toUTCString().replace("GMT", "-0000");

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-lifecycle-"));
  layout = path.join(tmp, "layout");
  images = await buildLabelledLayout(layout, [
    { tag: "one", layers: 3 },
    { tag: "two", layers: 2 },
    { tag: "temp", labels: { "quay.expires-after": "2h", "com.example.stage": "ci" } },
  ]);
  a = images.get("one")!;
  b = images.get("two")!;
  await apiCall(base, wharf.adminToken, "POST", "/organization/", { name: org });
  // The organization's admin pushes and pulls, logged in with its OAuth token as Quay allows.
  await login(host, { username: "$oauthtoken", password: wharf.adminToken }, path.join(tmp, "auth.json"));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("a tag's life: pushed, tagged and moved, deleted, restored, pulled", () => {
  it("pushes with skopeo, then adds a second tag and moves it through the API", async () => {
    await skopeoCopy(`oci:${layout}:one`, `docker://${host}/${repo}:1`);
    await skopeoCopy(`oci:${layout}:two`, `docker://${host}/${repo}:2`);
    expect(await servedDigest("1")).toBe(a.manifest.digest);
    expect(await servedDigest("2")).toBe(b.manifest.digest);

    // A second tag on A: Quay's 201 "Updated".
    expect(await call("PUT", `/repository/${repo}/tag/stable`, { manifest_digest: a.manifest.digest })).toEqual({
      status: 201,
      json: "Updated",
    });
    expect(await servedDigest("stable")).toBe(a.manifest.digest);
    // Moved to B: clients see B at once.
    expect(await call("PUT", `/repository/${repo}/tag/stable`, { manifest_digest: b.manifest.digest })).toEqual({
      status: 201,
      json: "Updated",
    });
    expect(await servedDigest("stable")).toBe(b.manifest.digest);
    expect(await clientTags()).toEqual(["1", "2", "stable"]);

    // The move is history: the row on A ended when the row on B began.
    const [onB, onA] = await history("?specificTag=stable");
    expect([onB.manifest_digest, onB.reversion, onB.end_ts]).toEqual([b.manifest.digest, false, undefined]);
    expect([onA.manifest_digest, onA.reversion, onA.end_ts]).toEqual([a.manifest.digest, false, onB.start_ts]);
    expect(onA.expiration).toBe(quayDateOf(onA.end_ts));

    // Refused: a manifest the repository does not hold.
    expect(
      (await call("PUT", `/repository/${repo}/tag/stable`, { manifest_digest: `sha256:${"0".repeat(64)}` })).status,
    ).toBe(404);
    expect(await servedDigest("stable")).toBe(b.manifest.digest);
  });

  it("deletes tags through the API: gone for clients, kept in the history", async () => {
    expect(await call("DELETE", `/repository/${repo}/tag/stable`)).toEqual({ status: 204, json: null });
    expect(await call("DELETE", `/repository/${repo}/tag/1`)).toEqual({ status: 204, json: null });
    await expect(servedDigest("stable")).rejects.toThrow(/manifest unknown/i);
    await expect(servedDigest("1")).rejects.toThrow(/manifest unknown/i);
    expect(await clientTags()).toEqual(["2"]);
    // The image itself is still served by digest: only the tag ended.
    expect(sha256(await skopeoInspectRaw(`docker://${host}/${repo}@${a.manifest.digest}`))).toBe(a.manifest.digest);

    const [ended] = await history("?specificTag=1");
    expect(ended).toMatchObject({ name: "1", manifest_digest: a.manifest.digest, reversion: false });
    expect(ended.end_ts).toBeGreaterThanOrEqual(ended.start_ts);
    expect(ended.expiration).toMatch(QUAY_DATE);
    expect((await history("?onlyActiveTags=true")).map((row) => row.name)).toEqual(["2"]);

    // Refused: a tag that is already dead is not found.
    expect((await call("DELETE", `/repository/${repo}/tag/1`)).status).toBe(404);
  });

  it("restores both from the time machine: 1 to its image, stable to the image it had before the move", async () => {
    expect(await call("POST", `/repository/${repo}/tag/1/restore`, { manifest_digest: a.manifest.digest })).toEqual({
      status: 200,
      json: {},
    });
    expect(
      await call("POST", `/repository/${repo}/tag/stable/restore`, { manifest_digest: a.manifest.digest }),
    ).toEqual({ status: 200, json: {} });
    expect(await servedDigest("1")).toBe(a.manifest.digest);
    expect(await servedDigest("stable")).toBe(a.manifest.digest);
    expect(await clientTags()).toEqual(["1", "2", "stable"]);

    // Each restore is a new reversion row; the old rows stay as they ended.
    const rows = await history("?specificTag=stable");
    expect(rows.map((r) => [r.manifest_digest, r.reversion, r.end_ts === undefined])).toEqual([
      [a.manifest.digest, true, true],
      [b.manifest.digest, false, false],
      [a.manifest.digest, false, false],
    ]);
    expect((await history("?specificTag=1")).map((r) => [r.reversion, r.end_ts === undefined])).toEqual([
      [true, true],
      [false, false],
    ]);

    // Refused: a manifest the repository never held.
    expect(
      (await call("POST", `/repository/${repo}/tag/2/restore`, { manifest_digest: `sha256:${"0".repeat(64)}` })).status,
    ).toBe(404);
    expect(await servedDigest("2")).toBe(b.manifest.digest);
  });

  it("serves the restored tags byte-identical to what was pushed (skopeo)", async () => {
    const source = await readLayout(layout);
    for (const tag of ["stable", "1"]) {
      const dst = await mkdtemp(path.join(tmp, `pulled-${tag}-`));
      await skopeoCopy(`docker://${host}/${repo}:${tag}`, `oci:${dst}:${tag}`);
      const pulled = await readLayout(dst);
      expect(pulled.refs.get(tag)?.digest).toBe(a.manifest.digest);
      const digests = await reachableDigests(pulled, a.manifest.digest);
      expect(digests).toEqual([a.manifest.digest, a.config.digest, ...a.layers.map((l) => l.digest)].sort());
      for (const digest of digests) {
        expect(pulled.blobs.get(digest), `${tag}: blob ${digest} verifies`).toBe(digest);
        expect(
          (await pulled.read(digest)).equals(await source.read(digest)),
          `${tag}: blob ${digest} byte-identical`,
        ).toBe(true);
      }
    }
  });

  it("pulls the restored tag with podman: the pushed manifest, config and layer bytes", async () => {
    const podman = await Podman.create();
    try {
      const ref = `${host}/${repo}:stable`;
      const id = await podman.pull(ref);
      // A podman image id is its config's digest; the digest it records is the manifest's.
      expect(`sha256:${id}`).toBe(a.config.digest);
      expect(await podman.text(["image", "inspect", "--format", "{{.Digest}}", ref])).toBe(a.manifest.digest);

      // podman save writes the stored image back out: the config verbatim, each layer recompressed,
      // so layers are compared uncompressed, against the pushed tar and the config's diff_ids.
      const saved = path.join(tmp, "saved");
      await podman.run(["save", "--format", "oci-dir", "-o", saved, ref]);
      const out = await readLayout(saved);
      const [descriptor] = [...out.refs.values()];
      const manifest = await out.readJson(descriptor!.digest);
      expect(manifest.config.digest).toBe(a.config.digest);
      const source = await readLayout(layout);
      expect((await out.read(a.config.digest)).equals(await source.read(a.config.digest))).toBe(true);
      const diffIds = (await source.readJson(a.config.digest)).rootfs.diff_ids as string[];
      expect(manifest.layers).toHaveLength(a.layers.length);
      for (const [i, layer] of (manifest.layers as Array<{ digest: string }>).entries()) {
        const savedTar = uncompressed(await out.read(layer.digest));
        const pushedTar = uncompressed(await source.read(a.layers[i]!.digest));
        expect(sha256(savedTar), `layer ${i} diff_id`).toBe(diffIds[i]);
        expect(savedTar.equals(pushedTar), `layer ${i} byte-identical`).toBe(true);
      }
      // Nothing else came along: exactly one manifest, one config and A's layers.
      expect((await readdir(path.join(saved, "blobs", "sha256"))).length).toBe(2 + a.layers.length);
    } finally {
      await podman.dispose();
    }
  });
});

describe("quay.expires-after", () => {
  it("ends a tag pushed with the image label quay.expires-after=2h two hours after the push", async () => {
    const temp = images.get("temp")!;
    const before = Math.floor(Date.now() / 1000);
    await skopeoCopy(`oci:${layout}:temp`, `docker://${host}/${repo}:temp`);
    const after = Math.ceil(Date.now() / 1000);

    const [row] = await history("?specificTag=temp");
    expect(row).toMatchObject({ name: "temp", manifest_digest: temp.manifest.digest, reversion: false });
    expect(row.end_ts - 2 * 3600).toBeGreaterThanOrEqual(before);
    expect(row.end_ts - 2 * 3600).toBeLessThanOrEqual(after);
    expect(row.expiration).toBe(quayDateOf(row.end_ts));
    // Until then it is an alive tag like any other.
    expect(await servedDigest("temp")).toBe(temp.manifest.digest);
    expect((await history("?onlyActiveTags=true&specificTag=temp")).map((r) => r.manifest_digest)).toEqual([
      temp.manifest.digest,
    ]);
    // An image without the label gets no expiration.
    expect((await history("?specificTag=2"))[0].end_ts).toBeUndefined();

    // The label is also one of the manifest's labels, from the image (source `manifest`).
    const { status, json } = await call("GET", `/repository/${repo}/manifest/${temp.manifest.digest}/labels`);
    expect(status).toBe(200);
    expect(json.labels.map((l: any) => [l.key, l.value, l.source_type, l.media_type]).sort()).toEqual([
      ["com.example.stage", "ci", "manifest", "text/plain"],
      ["quay.expires-after", "2h", "manifest", "text/plain"],
    ]);
  });
});

function uncompressed(blob: Buffer): Buffer {
  return blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
}
