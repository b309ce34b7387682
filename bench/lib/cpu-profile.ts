/** A V8 CPU profile of the Worker's isolate, summed into busy time and whose code spent it. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface IsolateSamples {
  /** Busy samples: all but "(idle)" and "(program)". */
  busy: number;
  /** Of which in the Worker bundle's own JavaScript (Wharf and the libraries bundled with it). */
  bundle: number;
  /** The sampler's actual period, µs (the median time between samples). */
  tickMicros: number;
  /** The functions with the most self time: "name file:line", µs. */
  top: [string, number][];
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
  for (const id of profile.samples) {
    const frame = byId.get(id)!;
    // "(idle)": the isolate waits; "(program)": entered, but in none of its JavaScript.
    if (frame.functionName === "(idle)" || frame.functionName === "(program)") continue;
    busy++;
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
    bundle,
    tickMicros,
    top,
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
 * The Worker isolate's share of workerd's CPU over a phase, from profiles of every isolate taken
 * together. A sampled duration is not CPU time on a busy machine (the thread waits for a core
 * while the clock runs: measured here, the Worker's sampled busy time exceeded the whole server's
 * CPU time twofold), but the proportions between isolates sampled under the same load hold; the
 * share times workerd's measured CPU (utime+stime) is the Worker's CPU.
 */
export interface IsolateCpu {
  /** Of all isolates' busy samples, the Worker's (0..1). */
  share: number;
  /** Of the Worker's busy samples, those in Wharf's bundle (0..1); the rest are workerd's built-ins, native calls and GC. */
  bundleShare: number;
  tickMicros: number;
  top: [string, number][];
}

export function isolateShare(worker: IsolateSamples, others: IsolateSamples[]): IsolateCpu {
  // Counts, not durations: every sampler ticks under the same load, and an isolate entered
  // rarely has a median delta of seconds, which would make each of its few samples weigh that.
  const all = others.reduce((sum, o) => sum + o.busy, worker.busy);
  return {
    share: all > 0 ? worker.busy / all : 0,
    bundleShare: worker.busy > 0 ? worker.bundle / worker.busy : 0,
    tickMicros: worker.tickMicros,
    top: worker.top,
  };
}
