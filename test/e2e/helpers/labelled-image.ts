/**
 * OCI layouts of images whose config carries labels (image-spec config.md `config.Labels`, what a
 * Dockerfile's `LABEL` writes), for the tests of what Wharf reads from a pushed image: Quay's
 * manifest labels (source `manifest`) and `quay.expires-after`. Several images can share one
 * layout, each under its own tag, so one `skopeo copy` per tag pushes them.
 */
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { LayoutWriter, MediaTypes, sha256, tarFiles, type BuiltImage } from "./oci-layout";

export interface LabelledImageSpec {
  /** The tag it gets in the layout's index.json. */
  tag: string;
  /** The config's `config.Labels`; none when absent. */
  labels?: Record<string, string>;
  /** How many gzip layers of random content (default 2). */
  layers?: number;
}

/** One image: random-content layers, a config with matching diff_ids, history and `labels`. */
export async function writeLabelledImage(layout: LayoutWriter, spec: LabelledImageSpec): Promise<BuiltImage> {
  const layers = [];
  const diffIds: string[] = [];
  const files: Record<string, Uint8Array>[] = [];
  for (let i = 0; i < (spec.layers ?? 2); i++) {
    const layerFiles = {
      [`${spec.tag}/layer${i}-${randomBytes(4).toString("hex")}.bin`]: randomBytes(3000 + i * 5000),
    };
    const tar = tarFiles(layerFiles);
    diffIds.push(sha256(tar));
    files.push(layerFiles);
    layers.push(await layout.blob(gzipSync(tar), MediaTypes.layer));
  }
  const config = await layout.json(
    {
      created: "2024-05-14T14:48:51Z",
      architecture: "amd64",
      os: "linux",
      config: {
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        ...(spec.labels ? { Labels: spec.labels } : {}),
      },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map((_, i) => ({
        created: "2024-05-14T14:48:51Z",
        created_by: `/bin/sh -c #(nop) ADD layer ${i}`,
      })),
    },
    MediaTypes.config,
  );
  const manifest = await layout.json(
    { schemaVersion: 2, mediaType: MediaTypes.manifest, config, layers },
    MediaTypes.manifest,
  );
  return { manifest, config, layers, files };
}

/** A layout at `dir` holding each image of `specs` under its tag; the built images by tag. */
export async function buildLabelledLayout(dir: string, specs: LabelledImageSpec[]): Promise<Map<string, BuiltImage>> {
  const layout = await new LayoutWriter(dir).init();
  const built = new Map<string, BuiltImage>();
  for (const spec of specs) {
    const image = await writeLabelledImage(layout, spec);
    await layout.tag(image.manifest, spec.tag);
    built.set(spec.tag, image);
  }
  return built;
}
