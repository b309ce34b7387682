/** What a server spends on a piece of work: CPU seconds and peak memory of its whole process tree. */
import { execFileSync } from "node:child_process";
import { treeUsage } from "../../test/e2e/helpers/memory";
import type { IsolateProbe } from "./isolate";

const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

export interface Cost {
  seconds: number;
  cpuSeconds: number;
  /** Bytes, sampled every 200 ms and at both ends. */
  peakRss: number;
  peakWorkerdRss: number;
  /** workerd's RSS when the work started: the "idle" that peak memory is compared with. */
  startWorkerdRss: number;
  /** Bytes of the Worker's own isolate (V8 heap + ArrayBuffers), when an {@link IsolateProbe} is given. */
  peakIsolate?: number;
}

export async function track<T>(
  pid: number,
  work: () => Promise<T>,
  isolate?: IsolateProbe,
): Promise<{ result: T; cost: Cost }> {
  const before = await treeUsage(pid);
  let peakRss = before.rss;
  let peakWorkerdRss = before.workerdRss;
  let peakIsolate = isolate ? await isolate.bytes() : undefined;
  const sample = async () => {
    const now = await treeUsage(pid);
    peakRss = Math.max(peakRss, now.rss);
    peakWorkerdRss = Math.max(peakWorkerdRss, now.workerdRss);
    if (isolate) peakIsolate = Math.max(peakIsolate ?? 0, await isolate.bytes());
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
    return {
      result,
      cost: {
        seconds,
        cpuSeconds: (after.cpuTicks - before.cpuTicks) / ticksPerSecond,
        peakRss,
        peakWorkerdRss,
        startWorkerdRss: before.workerdRss,
        peakIsolate,
      },
    };
  } finally {
    running = false;
  }
}
