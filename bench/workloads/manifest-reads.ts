/**
 * Workload 4: the requests every pull starts with (manifest GET by tag, by digest, blob HEAD),
 * under autocannon at several concurrencies: request rate and latency of small answers. Then,
 * against Wharf, each again at c=16 with its Worker isolate profiled: what a request costs in
 * production (Worker CPU, D1 statements). That pass is apart so the profiler slows no timed row.
 */
import { MediaTypes } from "../../test/e2e/helpers/oci-layout";
import { track } from "../lib/measure";
import { productionSamples } from "../lib/production-cost";
import { call, cannon, pushImage, tally, tinyImage } from "../lib/registry";
import type { Context, Sample, Target, Workload } from "../lib/workload";

const REPO = "bench/reads";
const CONCURRENCY = [1, 16, 64];
const PROFILED_CONCURRENCY = 16;
const ACCEPT = { Accept: MediaTypes.manifest };

export default function manifestReads({ sizes }: Context): Workload {
  const image = tinyImage();
  const endpoints = (base: string) =>
    [
      { name: "manifest GET by tag", url: `${base}/v2/${REPO}/manifests/1`, method: "GET", headers: ACCEPT },
      {
        name: "manifest GET by digest",
        url: `${base}/v2/${REPO}/manifests/${image.manifestDigest}`,
        method: "GET",
        headers: ACCEPT,
      },
      { name: "blob HEAD", url: `${base}/v2/${REPO}/blobs/${image.layerDigest}`, method: "HEAD", headers: {} },
    ] as const;
  return {
    title: `manifest GET (by tag, by digest) and blob HEAD at concurrency ${CONCURRENCY.join(", ")}`,
    async seed(target: Target) {
      await pushImage(target.url, REPO, "1", image);
      // Each answer once by hand, so a wrong answer fails here with its body, not as a count.
      for (const e of endpoints(target.url)) await call(e.method, e.url, 200, { headers: e.headers });
      return { samples: [] };
    },
    async run(target: Target) {
      const runs = tally();
      for (const e of endpoints(target.url)) {
        for (const c of CONCURRENCY) {
          runs.add(
            await cannon(`${e.name}, c=${c}`, e.url, c, sizes.cannonSeconds, { method: e.method, headers: e.headers }),
          );
        }
      }
      return runs.outcome();
    },
    async afterRun(target: Target) {
      const outcome = { samples: [] as Sample[], problems: [] as string[] };
      for (const e of target.isolate ? endpoints(target.url) : []) {
        const label = `${e.name}, c=${PROFILED_CONCURRENCY}, profiled`;
        const options = { method: e.method, headers: e.headers };
        const profiled = await track(
          target.pid,
          () => cannon(label, e.url, PROFILED_CONCURRENCY, sizes.cannonSeconds, options),
          target.isolate,
          { profile: true },
        );
        outcome.problems.push(...profiled.result.problems);
        outcome.samples.push(
          ...productionSamples(`${e.name}: `, profiled.cost, { requests: profiled.result.requests }),
        );
        // The process tree's CPU per request in this pass, beside the isolate's share of it.
        outcome.samples.push({
          figure: `${e.name}: server CPU, profiled pass`,
          unit: "ms/request",
          value: (profiled.cost.cpuSeconds * 1000) / profiled.result.requests,
          better: "lower",
        });
      }
      return outcome;
    },
  };
}
