/**
 * containerd's `ctr` (Debian's containerd, started by the test with a private configuration:
 * helpers/daemons.ts) against the running registry: it pulls an OCI index with all its platforms
 * by tag and by digest, pushes it to another repository byte for byte, and is refused without
 * the right credentials.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { login, registryHost, skopeoCopy, skopeoInspectRaw } from "./helpers/clients";
import { Containerd } from "./helpers/daemons";
import { buildMultiArchLayout, sha256, type BuiltIndex } from "./helpers/oci-layout";
import type { Credentials } from "./helpers/registry-auth";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
const host = registryHost(base);
const run = randomBytes(3).toString("hex");
let containerd: Containerd;
let tmp: string;
let owner: Credentials;
let built: BuiltIndex;
const source = `e2e/ctr-index-${run}`;

beforeAll(async () => {
  const wharf = await connectWharf(base, inject("wharfStateDir"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-ctr-"));
  owner = await wharf.credentialsFor("e2e");
  // The index arrives by skopeo, so what ctr pulls is known byte for byte.
  await login(host, owner, path.join(tmp, "auth.json"));
  built = await buildMultiArchLayout(path.join(tmp, "layout"), "multi");
  await skopeoCopy(`oci:${path.join(tmp, "layout")}:multi`, `docker://${host}/${source}:multi`, { all: true });
  containerd = await Containerd.start();
});
afterAll(async () => {
  await containerd?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const user = (credentials: Credentials) => `${credentials.username}:${credentials.password}`;

/** `ctr images pull` of every platform over plain HTTP, unpacked with the native snapshotter. */
const pull = (ref: string, credentials?: Credentials) =>
  containerd.ctr([
    "images",
    "pull",
    "--plain-http",
    "--all-platforms",
    "--snapshotter",
    "native",
    ...(credentials ? ["--user", user(credentials)] : []),
    ref,
  ]);

/** The digest `ctr images ls` shows for `ref`. */
async function listedDigest(ref: string): Promise<string | undefined> {
  const listing = (await containerd.ctr(["images", "ls"])).stdout.toString("utf8");
  return listing
    .split("\n")
    .find((line) => line.startsWith(`${ref} `))
    ?.match(/sha256:[0-9a-f]{64}/)?.[0];
}

describe("ctr", () => {
  it("pulls an OCI index with every platform, by tag and by digest", async () => {
    const ref = `${host}/${source}:multi`;
    await pull(ref, owner);
    expect(await listedDigest(ref)).toBe(built.index.digest);
    const byDigest = `${host}/${source}@${built.index.digest}`;
    await pull(byDigest, owner);
    expect(await listedDigest(byDigest)).toBe(built.index.digest);
    // Every child and blob came down: ctr's content store holds each, verified by digest.
    const content = (await containerd.ctr(["content", "ls", "--quiet"])).stdout.toString("utf8");
    for (const image of built.images) {
      for (const digest of [image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)])
        expect(content).toContain(digest);
    }
  });

  it("pushes the index to another repository unchanged, children and blobs included", async () => {
    const target = `e2e/ctr-pushed-${run}`;
    await containerd.ctr([
      "images",
      "push",
      "--plain-http",
      "--user",
      user(owner),
      `${host}/${target}:multi`,
      `${host}/${source}:multi`,
    ]);
    expect(sha256(await skopeoInspectRaw(`docker://${host}/${target}:multi`))).toBe(built.index.digest);
    for (const image of built.images) {
      expect(sha256(await skopeoInspectRaw(`docker://${host}/${target}@${image.manifest.digest}`))).toBe(
        image.manifest.digest,
      );
    }
    const copy = path.join(tmp, "copy");
    await skopeoCopy(`docker://${host}/${target}:multi`, `oci:${copy}:multi`, { all: true });
  });

  it("is refused a private index without credentials or with a wrong password, and a push without them", async () => {
    await expect(pull(`${host}/${source}:multi`)).rejects.toThrow(/pull access denied.*insufficient_scope/);
    await expect(pull(`${host}/${source}:multi`, { username: owner.username, password: "wrong" })).rejects.toThrow(
      /401 Unauthorized/,
    );
    await expect(
      containerd.ctr([
        "images",
        "push",
        "--plain-http",
        "--user",
        `${owner.username}:wrong`,
        `${host}/e2e/ctr-refused-${run}:1`,
        `${host}/${source}:multi`,
      ]),
    ).rejects.toThrow(/401 Unauthorized/);
    await expect(skopeoInspectRaw(`docker://${host}/e2e/ctr-refused-${run}:1`)).rejects.toThrow(
      /manifest unknown|name unknown|not found/i,
    );
  });
});
