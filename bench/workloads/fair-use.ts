/**
 * Workload 10: fair use (issue #19). Two tenants on one Wharf: the quiet one's manifest GETs are
 * timed alone, then while a noisy one hammers its own namespace with autocannon, first on the
 * bench's Wharf (no budget: the noisy tenant is served), then on a Wharf of its own started with a
 * namespace request budget (FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE), where the noisy tenant is
 * mostly refused (429). The quiet tenant uses a namespace per phase and round, so its own budget
 * is never what limits it. Server CPU and memory are the budgeted Wharf's.
 */
import { MediaTypes } from "../../test/e2e/helpers/oci-layout";
import { type RunningServer, startWharf } from "../../test/e2e/helpers/server";
import { cannon, median, pushImage, sequentialTimes, tinyImage, useLogin } from "../lib/registry";
import type { Context, Sample, Sizes, Target, Workload } from "../lib/workload";

const BUDGET = 120;
const NOISY_CONNECTIONS = 16;
const ACCEPT = { Accept: MediaTypes.manifest };

const p99 = (times: number[]) => [...times].sort((a, b) => a - b)[Math.floor(0.99 * (times.length - 1))] ?? NaN;
const latency = (label: string, times: number[]): Sample[] => [
  { figure: `${label}: p50`, unit: "ms", value: median(times), better: "lower" },
  { figure: `${label}: p99`, unit: "ms", value: p99(times), better: "lower" },
];

/** The quiet tenant's sequential GETs while the noisy one runs autocannon on its own namespace. */
async function besideNoisy(base: string, noisyTenant: string, quietTenant: string, sizes: Sizes) {
  const noisyRun = cannon(
    "noisy tenant",
    manifestUrl(base, noisyTenant),
    NOISY_CONNECTIONS,
    Math.max(3, sizes.cannonSeconds),
    { headers: ACCEPT },
  );
  // Long enough for a limited noisy tenant to spend its burst and be refused from then on.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const quiet = await sequentialTimes(
    manifestUrl(base, quietTenant),
    sizes.sequentialRequests,
    sizes.sequentialSeconds,
    ACCEPT,
  );
  return { quiet, noisy: await noisyRun };
}

const manifestUrl = (base: string, tenant: string) => `${base}/v2/${tenant}/app/manifests/1`;

export default function fairUse({ sizes, wharf }: Context): Workload {
  let server: RunningServer | null = null;
  const image = tinyImage();
  return {
    title: `fair use: a quiet tenant's manifest GETs alone and beside a noisy tenant limited to ${BUDGET} requests a minute (c=${NOISY_CONNECTIONS})`,
    wharfOnly: true,
    async prepare() {
      server = await startWharf({ env: { FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE: String(BUDGET) } });
      useLogin(server.login);
      return [{ side: "wharf", url: server.url, pid: server.pid }];
    },
    async seed(target: Target) {
      const quiet = Array.from({ length: sizes.rounds }, (_, i) => [`quietalone${i + 1}`, `quietbeside${i + 1}`]);
      for (const tenant of ["noisy", ...quiet.flat()]) await pushImage(target.url, `${tenant}/app`, "1", image);
      for (const tenant of ["fairnoisy", "fairquiet"]) await pushImage(wharf!.url, `${tenant}/app`, "1", image);
      return { samples: [] };
    },
    async run(target: Target, round: number) {
      const n = sizes.sequentialRequests;
      const alone = await sequentialTimes(
        manifestUrl(target.url, `quietalone${round}`),
        n,
        sizes.sequentialSeconds,
        ACCEPT,
      );
      const served = await besideNoisy(wharf!.url, "fairnoisy", "fairquiet", sizes);
      const limited = await besideNoisy(target.url, "noisy", `quietbeside${round}`, sizes);
      const problems = limited.noisy.non2xx === 0 ? ["the noisy tenant was never refused: no budget applied"] : [];
      if (served.noisy.non2xx > 0)
        problems.push(`the unlimited noisy tenant got ${served.noisy.non2xx} non-2xx answers`);
      return {
        samples: [
          ...latency("quiet tenant alone, sequential manifest GET", alone),
          ...latency("quiet tenant beside the noisy one served (no budget)", served.quiet),
          ...latency("quiet tenant beside the noisy one limited (429)", limited.quiet),
          ...served.noisy.samples.map((s) => ({ ...s, figure: `${s.figure}, served` })),
          ...limited.noisy.samples.map((s) => ({ ...s, figure: `${s.figure}, limited` })),
          {
            figure: "noisy tenant: answers refused (429)",
            unit: "count",
            value: limited.noisy.non2xx,
            better: "higher",
          },
        ],
        requests: alone.length + limited.quiet.length + limited.noisy.requests,
        problems,
        notes: [
          "Workload 10: the served phase runs on the bench's Wharf (no budget), the limited phase on a Wharf of its own started with the budget; the quiet tenant's GETs are all 200 (any other answer fails the run).",
        ],
      };
    },
    async cleanup() {
      await server?.stop();
    },
  };
}
