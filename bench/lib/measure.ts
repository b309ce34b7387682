/** What a server spends on a piece of work: CPU seconds and peak memory of its whole process tree. */
import { execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { treeUsage } from "../../test/e2e/helpers/memory";
import type { IsolateCpu } from "./cpu-profile";
import type { IsolateProbe, ProfileOptions } from "./isolate";

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
  /** D1 statements the Worker prepared during the work (with an {@link IsolateProbe}). */
  d1Queries?: number;
  /** The Worker isolate's share of workerd's CPU during the work (with an {@link IsolateProbe} and `profile`). */
  isolateCpu?: IsolateCpu;
  /** CPU seconds of the workerd processes alone (the Worker, its Durable Objects, the simulators). */
  workerdCpuSeconds: number;
}

export async function track<T>(
  pid: number,
  work: () => Promise<T>,
  isolate?: IsolateProbe,
  options: { profile?: boolean | ProfileOptions } = {},
): Promise<{ result: T; cost: Cost }> {
  const d1Before = isolate ? await isolate.d1Queries() : undefined;
  const { profile } = options;
  const profiler = isolate && profile ? await isolate.profile(profile === true ? {} : profile) : undefined;
  const before = await treeUsage(pid);
  const workerdBefore = await workerdCpuTicks(pid);
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
    const workerdAfter = await workerdCpuTicks(pid);
    const isolateCpu = await profiler?.stop();
    const d1After = isolate ? await isolate.d1Queries() : undefined;
    return {
      result,
      cost: {
        seconds,
        cpuSeconds: (after.cpuTicks - before.cpuTicks) / ticksPerSecond,
        workerdCpuSeconds: (workerdAfter - workerdBefore) / ticksPerSecond,
        peakRss,
        peakWorkerdRss,
        startWorkerdRss: before.workerdRss,
        peakIsolate,
        d1Queries: d1After !== undefined && d1Before !== undefined ? d1After - d1Before : undefined,
        isolateCpu,
      },
    };
  } finally {
    running = false;
    // A failed run still ends its profile, so the next phase can start one.
    await profiler?.stop().catch(() => undefined);
  }
}

/** utime+stime of the workerd processes below `rootPid`, in clock ticks. */
async function workerdCpuTicks(rootPid: number): Promise<number> {
  const stats = new Map<number, { ppid: number; name: string; ticks: number }>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (!stat) continue;
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 4 (ppid) and 14-15 (utime, stime), counted from the pid.
    stats.set(Number(entry), { ppid: Number(fields[1]), name, ticks: Number(fields[11]) + Number(fields[12]) });
  }
  const below = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = stats.get(p)?.ppid ?? 0, hops++) if (p === rootPid) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, s] of stats) if (s.name === "workerd" && below(pid)) ticks += s.ticks;
  return ticks;
}
