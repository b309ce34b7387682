/** What a server spends on a piece of work: CPU seconds and peak memory of its whole process tree. */
import { execFileSync } from "node:child_process";
import { treeUsage } from "../../test/e2e/helpers/memory";

const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

export interface Cost {
  seconds: number;
  cpuSeconds: number;
  /** Bytes, sampled every 200 ms and at both ends. */
  peakRss: number;
  peakWorkerdRss: number;
}

export async function track<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cost: Cost }> {
  const before = await treeUsage(pid);
  let peakRss = before.rss;
  let peakWorkerdRss = before.workerdRss;
  const sample = async () => {
    const now = await treeUsage(pid);
    peakRss = Math.max(peakRss, now.rss);
    peakWorkerdRss = Math.max(peakWorkerdRss, now.workerdRss);
    return now;
  };
  let running = true;
  const sampler = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, 200));
      if (running) await sample();
    }
  })();
  const start = performance.now();
  try {
    const result = await work();
    const seconds = (performance.now() - start) / 1000;
    running = false;
    await sampler;
    const after = await sample();
    return { result, cost: { seconds, cpuSeconds: (after.cpuTicks - before.cpuTicks) / ticksPerSecond, peakRss, peakWorkerdRss } };
  } finally {
    running = false;
  }
}
