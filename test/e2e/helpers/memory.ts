/**
 * Samples the resident memory of the registry's workerd processes (the Worker and its Durable
 * Objects run there) by reading /proc, so a test can show memory does not grow with blob size;
 * the benchmarks (bench/) also read a whole server's process tree: memory and CPU time.
 */
import { readdir, readFile } from "node:fs/promises";

async function children(): Promise<Map<number, number[]>> {
  const tree = new Map<number, number[]>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Field 4 (after the parenthesised command, which may contain spaces) is the parent pid.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!tree.has(ppid)) tree.set(ppid, []);
    tree.get(ppid)!.push(Number(entry));
  }
  return tree;
}

export interface TreeUsage {
  /** Summed VmRSS in bytes of `rootPid` and every process below it. */
  rss: number;
  /** The same over the workerd processes only. */
  workerdRss: number;
  /** utime + stime + cutime + cstime of every process in the tree, in clock ticks. */
  cpuTicks: number;
  /** The command name of each process in the tree. */
  names: string[];
}

/** Memory and CPU of `rootPid` and its whole process tree, read from /proc. */
export async function treeUsage(rootPid: number): Promise<TreeUsage> {
  const tree = await children();
  const pending = [rootPid];
  const usage: TreeUsage = { rss: 0, workerdRss: 0, cpuTicks: 0, names: [] };
  while (pending.length > 0) {
    const pid = pending.pop()!;
    pending.push(...(tree.get(pid) ?? []));
    const [status, stat] = await Promise.all([
      readFile(`/proc/${pid}/status`, "utf8").catch(() => ""),
      readFile(`/proc/${pid}/stat`, "utf8").catch(() => ""),
    ]);
    const name = /^Name:\s+(.*)$/m.exec(status);
    if (name) usage.names.push(name[1]!);
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const bytes = rss ? Number(rss[1]) * 1024 : 0;
    usage.rss += bytes;
    if (/^Name:\s+workerd/m.test(status)) usage.workerdRss += bytes;
    // Fields 14-17 (utime, stime, cutime, cstime); the cutime/cstime of reaped children keep
    // the sum steady when a child exits.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    for (let i = 11; i <= 14; i++) usage.cpuTicks += Number(fields[i] ?? 0) || 0;
  }
  return usage;
}

/** RSS in bytes of every workerd process below `rootPid`. */
export async function workerdRss(rootPid: number): Promise<number> {
  return (await treeUsage(rootPid)).workerdRss;
}

/** Runs `work` while sampling every 200 ms; returns its result with the baseline and peak RSS. */
export async function measurePeak<T>(rootPid: number, work: () => Promise<T>) {
  const baseline = await workerdRss(rootPid);
  let peak = baseline;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await workerdRss(rootPid));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    const result = await work();
    return { result, baseline, peak };
  } finally {
    running = false;
    await sampler;
  }
}
