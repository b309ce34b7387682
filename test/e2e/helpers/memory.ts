/**
 * Samples the resident memory of the registry's workerd processes (the Worker and its Durable
 * Objects run there) by reading /proc, so a test can show memory does not grow with blob size.
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

/** RSS in bytes of every workerd process below `rootPid`. */
export async function workerdRss(rootPid: number): Promise<number> {
  const tree = await children();
  const pending = [rootPid];
  let total = 0;
  while (pending.length > 0) {
    const pid = pending.pop()!;
    pending.push(...(tree.get(pid) ?? []));
    const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
    if (!/^Name:\s+workerd/m.test(status)) continue;
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (rss) total += Number(rss[1]) * 1024;
  }
  return total;
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
