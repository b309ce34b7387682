/**
 * The figures of a phase that production pays for: the Worker isolate's CPU (what Cloudflare bills
 * and caps) and the D1 statements it sent, apart from the CPU the local simulators spend beside it.
 */
import type { Cost } from "./measure";
import type { Sample } from "./workload";

const GiB = 1024 ** 3;

/**
 * Rows for one phase of Wharf: per GiB when `per.bytes` is given, else per request. `label`
 * names the phase ("pull: ", "manifest GET by tag, c=16: ", "" for a whole round).
 */
export function productionSamples(label: string, cost: Cost, per: { bytes?: number; requests?: number }): Sample[] {
  const samples: Sample[] = [];
  const lower = (figure: string, unit: string, value: number) =>
    samples.push({ figure: `${label}${figure}`, unit, value, better: "lower" });
  // Seconds per GiB, or milliseconds per request.
  const unit = per.bytes ? "s/GiB" : per.requests ? "ms/request" : undefined;
  const scale = per.bytes ? GiB / per.bytes : per.requests ? 1000 / per.requests : 0;
  const cpu = cost.isolateCpu;
  if (cpu && unit) {
    const isolate = cost.workerdCpuSeconds * cpu.share;
    // What production bills: the time workerd's thread spent in the Worker's isolate (bench/lib/cpu-profile.ts).
    lower("Worker isolate CPU, sampled in the isolate", unit, cpu.sampledSeconds * scale);
    lower("Worker isolate CPU", unit, isolate * scale);
    lower("Worker isolate CPU, Wharf's bundle", unit, isolate * cpu.bundleShare * scale);
    lower("Worker isolate CPU, workerd built-ins, native calls and GC", unit, isolate * (1 - cpu.bundleShare) * scale);
    // What the rest of the process tree spent meanwhile: the D1, R2, Durable Object and Queue
    // simulators, workerd's own I/O, Miniflare's Node.js process. Production pays none of it as Worker CPU.
    lower("server CPU outside the Worker isolate (simulators, I/O)", unit, (cost.cpuSeconds - isolate) * scale);
  }
  if (cost.d1Queries !== undefined) {
    if (per.requests) lower("D1 queries per request", "count", cost.d1Queries / per.requests);
    else lower("D1 queries", "count", cost.d1Queries);
  }
  return samples;
}

/** The note every report with these rows carries: how they are measured. */
export const PRODUCTION_NOTE =
  "Worker isolate CPU (rows so named; Wharf only), from V8 CPU profiles taken together of every isolate a registry request reaches (the Worker with its Durable Objects, sampled every 1 ms; the D1, R2, Durable Object and Queue simulators, every 10 ms), through workerd's inspector. \"Sampled in the isolate\" is the Worker's samples times 1 ms: V8 samples an isolate only while workerd's thread is in it, so this is the time spent in the Worker's JavaScript, the native calls it makes (crypto, stream writes, R2's copies of a part), GC and workerd's C++ under the isolate's lock, which is what production bills; the simulators and workerd's I/O outside any isolate are not in it. The plain \"Worker isolate CPU\" rows are workerd's CPU (utime+stime) over a phase times the Worker's share of all isolates' busy time: when most of workerd's CPU is outside every isolate (a large push), that share hands the Worker part of the simulators' I/O, so it reads higher and swings with them. The Worker's part is split by each sampled function's URL into Wharf's bundle and workerd (built-in modules, native calls such as crypto and streams, GC). Profiles are taken in passes of their own after the timed rounds (\"profiled pass\" rows, and workload 4's per-endpoint rows), never during a timed row. \"Outside the Worker isolate\" is the server's process-tree CPU less that: the local simulators, workerd's I/O and Miniflare's Node.js, which production does not bill as Worker CPU. D1 queries: statements the Worker prepared on a request's path (BENCH_COUNT_D1, src/db/query-counter.ts); Durable Objects' own statements are not counted.";
