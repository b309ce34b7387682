/** A V8 CPU profile of the Worker's isolate, summed into busy time and whose code spent it. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface IsolateSamples {
  /** Busy samples: all but "(idle)" and "(program)". */
  busy: number;
  /** All samples, busy or not. */
  total: number;
  /** "(program)": the isolate entered but running none of its JavaScript (workerd's own C++ under its lock). */
  program: number;
  /** "(garbage collector)", part of `busy`. */
  gc: number;
  /** Of which in the Worker bundle's own JavaScript (Wharf and the libraries bundled with it). */
  bundle: number;
  /** The sampler's actual period, µs (the median time between samples). */
  tickMicros: number;
  /** The functions with the most self time: "name file:line", µs. */
  top: [string, number][];
  /** The profile itself (for a closer look in DevTools: bench/push-profile.ts --save). */
  profile: CpuProfile;
}

/**
 * Busy samples are counted, not their time deltas summed. V8 records a sample only while the
 * isolate is entered: workerd runs the D1, R2, Durable Object and Queue simulators' isolates on
 * the same thread, and the time spent there lands in the delta of the Worker's next sample, as
 * does the time the thread waited for a core on a busy machine. The sampler's real period is the
 * median delta (measured here at a 1 ms interval with the load average at 6-9: 2-9 ms).
 */
export function splitProfile(profile: CpuProfile, topCount = 8): IsolateSamples {
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const deltas = [...profile.timeDeltas].sort((a, b) => a - b);
  const tickMicros = deltas[deltas.length >> 1] ?? 0;
  const self = new Map<string, number>();
  let busy = 0;
  let bundle = 0;
  let program = 0;
  let gc = 0;
  for (const id of profile.samples) {
    const frame = byId.get(id)!;
    // "(idle)": the isolate waits; "(program)": entered, but in none of its JavaScript.
    if (frame.functionName === "(program)") program++;
    if (frame.functionName === "(idle)" || frame.functionName === "(program)") continue;
    busy++;
    if (frame.functionName === "(garbage collector)") gc++;
    if (isBundle(frame.url)) bundle++;
    const file = frame.url.split("/").slice(-1)[0] || "(native)";
    const key = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const top = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topCount)
    .map(([key, n]) => [key, n * tickMicros] as [string, number]);
  return {
    busy,
    total: profile.samples.length,
    program,
    gc,
    bundle,
    tickMicros,
    top,
    profile,
  };
}

/**
 * The Worker's own modules: the bundle `npm start` wrote (`bundle/index.js`). workerd's built-ins
 * carry a scheme (`node:buffer`, `node-internal:…`, `cloudflare-internal:d1-api`, `miniflare:shared`);
 * native functions have no URL.
 */
function isBundle(url: string): boolean {
  return url !== "" && !/^[\w-]+:(?!\/\/)/.test(url);
}

/**
 * The Worker isolate's CPU over a phase, from profiles of every isolate taken together, two ways:
 *
 * - `sampledSeconds`: the Worker's own samples (busy and "(program)") times its sampling interval,
 *   the time workerd's thread spent with the Worker's isolate entered: its JavaScript, the native
 *   calls it makes (crypto, stream writes, the copies R2's binding makes), GC, and workerd's C++
 *   under the isolate's lock. V8 records a sample only while the isolate is entered, so the local
 *   simulators' isolates and workerd's own I/O outside any isolate are not in it. This is what
 *   production bills as the Worker's CPU. (Measured on 256 MiB and 1 GiB streamed pushes: all
 *   isolates' entered samples came to 13-60% of workerd's CPU; the rest was outside any isolate.)
 * - `share`: the Worker's part of all isolates' busy samples, which the report multiplies by
 *   workerd's measured CPU. When most of workerd's CPU is spent outside every isolate (a large
 *   push: the bytes moving between the Worker, the R2 simulator and the disk), this hands the
 *   Worker part of that I/O in proportion to its busy samples, and carries the simulators' swings:
 *   measured on streamed pushes, 3.4-6.0 s/GiB against 1.1-1.6 sampled (256 MiB), 5.2-5.5 against
 *   1.0 (1 GiB). It stays in the report as the figure earlier reports gave.
 *
 * Counts weigh by each profile's interval (the Worker is sampled more often than the rest).
 */
export interface IsolateCpu {
  /** Of all isolates' busy time (samples × interval), the Worker's (0..1). */
  share: number;
  /** The Worker's busy and "(program)" samples times its interval, in seconds. */
  sampledSeconds: number;
  /** Of the Worker's busy samples, those in Wharf's bundle (0..1); the rest are workerd's built-ins, native calls and GC. */
  bundleShare: number;
  tickMicros: number;
  top: [string, number][];
  /** The Worker's own sample counts, and every other isolate's busy samples summed. */
  worker: IsolateSamples;
  othersBusy: number;
  /** Every other isolate's busy and "(program)" samples summed: the time the thread spent in one of them. */
  othersEntered: number;
}

export function isolateShare(
  worker: IsolateSamples,
  others: IsolateSamples[],
  intervals: { workerMicros: number; othersMicros: number },
): IsolateCpu {
  // Counts times the interval, not durations: every sampler ticks under the same load, and an
  // isolate entered rarely has a median delta of seconds, which would make each of its few samples weigh that.
  const othersBusy = others.reduce((sum, o) => sum + o.busy, 0);
  const mine = worker.busy * intervals.workerMicros;
  const all = mine + othersBusy * intervals.othersMicros;
  return {
    share: all > 0 ? mine / all : 0,
    sampledSeconds: ((worker.busy + worker.program) * intervals.workerMicros) / 1e6,
    bundleShare: worker.busy > 0 ? worker.bundle / worker.busy : 0,
    tickMicros: worker.tickMicros,
    top: worker.top,
    worker,
    othersBusy,
    othersEntered: others.reduce((sum, o) => sum + o.busy + o.program, 0),
  };
}
