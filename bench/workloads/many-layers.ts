/**
 * Workload 3: push and pull of an image of many small layers with skopeo: per-blob overhead
 * (upload sessions, existence checks, manifest validation) rather than bandwidth. A fresh image
 * each round, for the same reason as workload 1.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { registryHost, skopeoCopy } from "../../test/e2e/helpers/clients";
import { buildImageLayout } from "../../test/e2e/helpers/oci-layout";
import { track } from "../lib/measure";
import type { Context, Target, Workload } from "../lib/workload";

const LAYER_BYTES = 16 * 1024;

export default function manyLayers({ sizes, tmp }: Context): Workload {
  const layoutDir = (round: number) => path.join(tmp, `layout-${round}`);
  return {
    title: `skopeo push and pull of an image of ${sizes.layers} layers of ${LAYER_BYTES / 1024} KiB`,
    async beforeRound(round) {
      await rm(layoutDir(round - 1), { recursive: true, force: true });
      await buildImageLayout(layoutDir(round), "1", { layers: sizes.layers, layerSize: () => LAYER_BYTES });
    },
    async run(target: Target, round: number) {
      const ref = `docker://${registryHost(target.url)}/bench/layers-${round}:1`;
      const pulled = path.join(tmp, `pulled-${target.side}`);
      const push = await track(target.pid, () => skopeoCopy(`oci:${layoutDir(round)}:1`, ref));
      const pull = await track(target.pid, () => skopeoCopy(ref, `oci:${pulled}:1`));
      await rm(pulled, { recursive: true, force: true });
      return {
        samples: [
          { figure: "push", unit: "s", value: push.cost.seconds, better: "lower" },
          { figure: "pull", unit: "s", value: pull.cost.seconds, better: "lower" },
          { figure: "push: server CPU", unit: "s", value: push.cost.cpuSeconds, better: "lower" },
          { figure: "pull: server CPU", unit: "s", value: pull.cost.cpuSeconds, better: "lower" },
        ],
      };
    },
  };
}
