/**
 * Workload 5: tags/list pages of 100 from repositories of many tags, first page and last page
 * (`last=` the tag before the final 100), so a listing that scans from the start shows up.
 * Seeding pushes one manifest once and PUTs it under every tag name, 32 in flight, and is timed:
 * it is the cost of many tag writes.
 */
import { numbered, pool, pushImage, pushManifest, seconds, tally, timeListing, tinyImage } from "../lib/registry";
import { growth } from "../lib/d1-size";
import type { Context, Target, Workload } from "../lib/workload";

const IN_FLIGHT = 32;
const WHOLE_LIST_NOTE =
  "the reference ignored `n` and `last` on tags/list (distribution 2.8 does): each of its answers was the whole list, unsorted, so its 'pages' hold every tag.";
const tag = (i: number) => numbered("t", i, 6);
const count = (n: number) => n.toLocaleString("en-US");

export default function tagsList({ sizes, wharf }: Context): Workload {
  const image = tinyImage();
  const repo = (n: number) => `bench/tags-${n}`;
  return {
    title: `tags/list, pages of 100, in repositories of ${sizes.tagCounts.map(count).join(" and ")} tags`,
    async seed(target: Target) {
      const samples = [];
      for (const n of sizes.tagCounts) {
        // What a tag costs Wharf's D1: its growth over the largest repository's seeding (untimed).
        const measure = target.side === "wharf" && n === Math.max(...sizes.tagCounts) ? wharf?.d1Size : undefined;
        const before = await measure?.();
        const start = performance.now();
        await pushImage(target.url, repo(n), tag(0), image);
        await pool(IN_FLIGHT, n - 1, (i) => pushManifest(target.url, repo(n), tag(i + 1), image.manifest));
        samples.push({
          figure: `seed ${count(n)} tags (${IN_FLIGHT} PUTs in flight)`,
          unit: "s",
          value: seconds(start),
          better: "lower" as const,
        });
        if (before && measure)
          wharf!.recordGrowth({
            unit: "tag (one PUT of a pushed manifest)",
            count: n,
            growth: growth(before, await measure()),
          });
      }
      return { samples };
    },
    async run(target: Target) {
      const runs = tally();
      let wholeList = false;
      for (const n of sizes.tagCounts) {
        const url = `${target.url}/v2/${repo(n)}/tags/list?n=100`;
        // Distribution 2.8 answers every tags/list with all the tags, unsorted: allowed for it only.
        const all = (names: string[]) => {
          if (target.side !== "reference" || names.length !== n) return false;
          wholeList = true;
          return true;
        };
        const first = (names: string[]) =>
          all(names) || (names.length === 100 && names[0] === tag(0) && names[99] === tag(99));
        const last = (names: string[]) =>
          all(names) || (names.length === 100 && names[0] === tag(n - 100) && names[99] === tag(n - 1));
        await timeListing(runs, `${count(n)} tags, first page`, url, first, sizes);
        await timeListing(runs, `${count(n)} tags, last page`, `${url}&last=${tag(n - 101)}`, last, sizes);
      }
      return { ...runs.outcome(), notes: wholeList ? [WHOLE_LIST_NOTE] : [] };
    },
  };
}
