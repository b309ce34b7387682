/**
 * Workload 1: push and pull of a single-layer image with skopeo (OCI layout → registry →
 * OCI layout). Each round builds a fresh image: skopeo skips blobs a registry already has (and
 * mounts blobs it has seen in another repository of it), which would measure nothing.
 */
import { createHash, randomFillSync } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { registryHost, skopeoCopy } from "../../test/e2e/helpers/clients";
import { LayoutWriter, MediaTypes, type Descriptor } from "../../test/e2e/helpers/oci-layout";
import { track } from "../lib/measure";
import { productionSamples } from "../lib/production-cost";
import type { Context, Target, Workload } from "../lib/workload";

const GiB = 1024 ** 3;

export default function skopeoImage({ sizes, tmp }: Context): Workload {
  const size = sizes.imageBytes;
  const layoutDir = (round: number) => path.join(tmp, `layout-${round}`);
  const timeout = { timeoutMs: 1_800_000 };
  /** Pushes the layout to `repo` and pulls it back, each tracked (and profiled when `profile`). */
  const pushAndPull = async (target: Target, layout: string, repo: string, profile: boolean) => {
    const ref = `docker://${registryHost(target.url)}/${repo}:1`;
    const pulled = path.join(tmp, `pulled-${target.side}`);
    const push = await track(target.pid, () => skopeoCopy(`oci:${layout}:1`, ref, timeout), target.isolate, {
      profile,
    });
    const pull = await track(target.pid, () => skopeoCopy(ref, `oci:${pulled}:1`, timeout), target.isolate, {
      profile,
    });
    await rm(pulled, { recursive: true, force: true });
    return { push, pull };
  };
  return {
    title: `skopeo push and pull of a ${label(size)} single-layer image`,
    async beforeRound(round) {
      await rm(layoutDir(round - 1), { recursive: true, force: true });
      await writeImage(layoutDir(round), size);
    },
    async run(target: Target, round: number) {
      const { push, pull } = await pushAndPull(target, layoutDir(round), `bench/image-${round}`, false);
      return {
        samples: [
          { figure: "push", unit: "MB/s", value: size / 1e6 / push.cost.seconds, better: "higher" },
          { figure: "pull", unit: "MB/s", value: size / 1e6 / pull.cost.seconds, better: "higher" },
          { figure: "push: server CPU", unit: "s/GiB", value: push.cost.cpuSeconds / (size / GiB), better: "lower" },
          { figure: "pull: server CPU", unit: "s/GiB", value: pull.cost.cpuSeconds / (size / GiB), better: "lower" },
          ...productionSamples("push: ", push.cost, { bytes: size }),
          ...productionSamples("pull: ", pull.cost, { bytes: size }),
        ],
      };
    },
    // Wharf only: a smaller image of its own, pushed and pulled with the Worker isolate profiled.
    async afterRun(target: Target, round: number) {
      if (!target.isolate) return { samples: [] };
      const layout = path.join(tmp, `profiled-${round}`);
      await writeImage(layout, sizes.profiledBytes);
      const { push, pull } = await pushAndPull(target, layout, `bench/image-profiled-${round}`, true);
      await rm(layout, { recursive: true, force: true });
      const prefix = `profiled pass, ${label(sizes.profiledBytes)}, `;
      const per = { bytes: sizes.profiledBytes };
      return {
        samples: [
          ...productionSamples(`${prefix}push: `, push.cost, per),
          ...productionSamples(`${prefix}pull: `, pull.cost, per),
        ],
      };
    },
  };
}

/** An OCI layout of a single-layer image of `size` random bytes, tagged `1`. */
async function writeImage(dir: string, size: number): Promise<void> {
  const layout = await new LayoutWriter(dir).init();
  const layer = await writeLayer(layout.dir, size);
  const config = await layout.json(
    { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layer.diffId] } },
    MediaTypes.config,
  );
  const manifest = await layout.json(
    { schemaVersion: 2, mediaType: MediaTypes.manifest, config, layers: [layer.descriptor] },
    MediaTypes.manifest,
  );
  await layout.tag(manifest, "1");
}

export function label(bytes: number): string {
  return bytes >= GiB ? `${bytes / GiB} GiB` : `${bytes / 1024 ** 2} MiB`;
}

/**
 * A gzip layer of `size` random bytes at compression level 0 (stored blocks), so that writing it
 * is fast and skopeo sees a compressed layer it passes through as is. The bytes are not a tar:
 * neither skopeo's copy nor a registry unpacks layers.
 */
async function writeLayer(dir: string, size: number): Promise<{ descriptor: Descriptor; diffId: string }> {
  const raw = createHash("sha256");
  const gz = createHash("sha256");
  let gzSize = 0;
  const file = path.join(dir, "blobs", "sha256", "incoming");
  await pipeline(
    async function* () {
      for (let done = 0; done < size; done += 4 * 1024 * 1024) {
        const chunk = randomFillSync(Buffer.alloc(Math.min(4 * 1024 * 1024, size - done)));
        raw.update(chunk);
        yield chunk;
      }
    },
    createGzip({ level: 0 }),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        gz.update(chunk);
        gzSize += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(file),
  );
  const digest = gz.digest("hex");
  await rename(file, path.join(dir, "blobs", "sha256", digest));
  return {
    descriptor: { mediaType: MediaTypes.layer, digest: `sha256:${digest}`, size: gzSize },
    diffId: `sha256:${raw.digest("hex")}`,
  };
}
