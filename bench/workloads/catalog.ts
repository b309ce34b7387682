/**
 * Workload 6: _catalog pages of 100 over many repositories, first page and last page. Seeding
 * pushes a config blob and a manifest (no layers) into each repository, 32 in flight, timed.
 * The names sort after every other workload's repositories, so the last page is known.
 */
import { numbered, pool, pushImage, seconds, tally, timeListing, tinyImage } from "../lib/registry";
import { growth } from "../lib/d1-size";
import type { Context, Target, Workload } from "../lib/workload";

const IN_FLIGHT = 32;
const NAMESPACE = "zz-catalog";
const repo = (i: number) => numbered(`${NAMESPACE}/r`, i, 5);

export default function catalog({ sizes, wharf }: Context): Workload {
  const n = sizes.repositories;
  const image = tinyImage(false);
  return {
    title: `_catalog, pages of 100, over ${n.toLocaleString("en-US")} repositories`,
    async seed(target: Target) {
      // What a repository of one image costs Wharf's D1: its growth over the seeding (untimed).
      const measure = target.side === "wharf" ? wharf?.d1Size : undefined;
      const before = await measure?.();
      const start = performance.now();
      await pool(IN_FLIGHT, n, (i) => pushImage(target.url, repo(i), "1", image));
      const elapsed = seconds(start);
      if (before && measure)
        wharf!.recordGrowth({
          unit: "repository with one image (manifest, one tag; no layer, and the same config blob in every repository)",
          count: n,
          growth: growth(before, await measure()),
        });
      return {
        samples: [
          {
            figure: `seed ${n.toLocaleString("en-US")} repositories (${IN_FLIGHT} in flight)`,
            unit: "s",
            value: elapsed,
            better: "lower",
          },
        ],
      };
    },
    async run(target: Target) {
      const runs = tally();
      const url = `${target.url}/v2/_catalog?n=100`;
      // Wharf lists what the caller can see: ask as the owner of the catalog's namespace.
      await timeListing(runs, "first page", url, (names) => names.length === 100, sizes, NAMESPACE);
      const last = (names: string[]) => names.length === 100 && names[0] === repo(n - 100) && names[99] === repo(n - 1);
      await timeListing(runs, "last page", `${url}&last=${encodeURIComponent(repo(n - 101))}`, last, sizes, NAMESPACE);
      return runs.outcome();
    },
  };
}
