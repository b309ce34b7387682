/**
 * Quotas with real clients (issue #16), against `npm start` run with DEFAULT_SYSTEM_REJECT_QUOTA_BYTES
 * (the Reject limit of every namespace without a quota of its own): skopeo is refused a push over
 * the limit and shows Quay's `denied: Quota has been exceeded on namespace`; ten skopeo pushes at
 * once into one namespace near the limit never pass it, and the usage left is exactly the distinct
 * bytes of the images accepted.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, registryHost, skopeoCopy } from "./helpers/clients";
import { type Descriptor, LayoutWriter, MediaTypes, sha256, tarFiles } from "./helpers/oci-layout";
import { type RunningServer, startWharf } from "./helpers/server";

const execFileAsync = promisify(execFile);

/** Every namespace's Reject limit in this registry. */
const LIMIT = 600_000;
const NAMESPACE = "quotae2e";

let server: RunningServer;
let work: string;

beforeAll(async () => {
  server = await startWharf({ env: { DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: String(LIMIT) } });
  work = await mkdtemp(path.join(os.tmpdir(), "wharf-quota-"));
  await login(registryHost(server.url), await server.credentialsFor(NAMESPACE), path.join(work, "auth.json"), "skopeo");
}, 180_000);

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A gzip layer of one file of `size` random bytes (random bytes do not compress). */
function layer(size: number): Buffer {
  return gzipSync(tarFiles({ [`data-${randomBytes(4).toString("hex")}.bin`]: randomBytes(size) }));
}

interface Layout {
  dir: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

/** An OCI layout in `dir` of one image over `layers` (already gzipped), tagged `latest`. */
async function imageLayout(dir: string, layers: Buffer[]): Promise<Layout> {
  const layout = await new LayoutWriter(dir).init();
  const descriptors = await Promise.all(layers.map((bytes) => layout.blob(bytes, MediaTypes.layer)));
  const config = await layout.json(
    {
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: descriptors.map((d) => d.digest) },
      comment: dir,
    },
    MediaTypes.config,
  );
  const manifest = await layout.json(
    { schemaVersion: 2, mediaType: MediaTypes.manifest, config, layers: descriptors },
    MediaTypes.manifest,
  );
  await layout.tag(manifest, "latest");
  return { dir, manifest, config, layers: descriptors };
}

/** The namespace's usage as the registry stores it (`users.storage_bytes`), read from its D1 file. */
async function storedUsage(namespace: string): Promise<number> {
  const d1 = path.join(server.stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  for (const file of await readdir(d1)) {
    if (!file.endsWith(".sqlite")) continue;
    const query = `select storage_bytes from users where username = '${namespace}'`;
    try {
      const { stdout } = await execFileAsync("sqlite3", ["-readonly", path.join(d1, file), query]);
      if (stdout.trim() !== "") return Number(stdout.trim());
    } catch {
      // Not the registry's database (no users table).
    }
  }
  throw new Error(`no usage found for ${namespace}`);
}

const destination = (repository: string) => `docker://${registryHost(server.url)}/${NAMESPACE}/${repository}:latest`;

describe("quota", () => {
  it("skopeo is refused a push past the Reject limit with Quay's message, and nothing is counted", async () => {
    const image = await imageLayout(path.join(work, "too-big"), [layer(LIMIT + 1000)]);
    const push = skopeoCopy(`oci:${image.dir}:latest`, destination("too-big"));
    await expect(push).rejects.toThrow(/denied: Quota has been exceeded on namespace/);
    expect(await storedUsage(NAMESPACE)).toBe(0);
  }, 120_000);

  it("ten pushes at once near the limit never pass it, and the usage is the distinct bytes accepted", async () => {
    const base = layer(200_000);
    const images: Layout[] = [];
    for (let i = 0; i < 10; i++) images.push(await imageLayout(path.join(work, `r${i}`), [base, layer(90_000 + i)]));
    const pushes = await Promise.allSettled(
      images.map((image, i) => skopeoCopy(`oci:${image.dir}:latest`, destination(`r${i}`), { timeoutMs: 300_000 })),
    );
    const accepted = images.filter((_, i) => pushes[i]!.status === "fulfilled");
    for (const [i, outcome] of pushes.entries()) {
      if (outcome.status === "rejected") {
        expect(String(outcome.reason), `r${i}`).toMatch(/denied: Quota has been exceeded on namespace/);
      }
    }
    // The base layer and four images' own bytes fit under the limit; a fifth would pass it, so the
    // first four manifests committed are taken and every later one is refused.
    expect(accepted.length).toBe(4);
    const own = (image: Layout) => image.layers[1]!.size + image.config.size + image.manifest.size;
    const exact = base.byteLength + accepted.reduce((sum, image) => sum + own(image), 0);
    const usage = await storedUsage(NAMESPACE);
    expect(usage).toBeLessThanOrEqual(LIMIT);
    expect(usage).toBe(exact);
    expect(sha256(base)).toBe(images[0]!.layers[0]!.digest);
  }, 400_000);
});
