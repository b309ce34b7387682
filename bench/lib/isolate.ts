/**
 * Wharf's own V8 isolate (the Worker and its Durable Objects), read through workerd's inspector:
 * its memory, its CPU (a sampling profile over a phase) and, with BENCH_COUNT_D1, the D1
 * statements it prepared (src/db/query-counter.ts). Production caps an isolate at 128 MB and bills
 * the Worker's CPU; locally workerd's process also holds the D1, R2 and Durable Object simulators,
 * so the process figures alone cannot say what the Worker itself spends.
 */
import { isolateShare, splitProfile, type CpuProfile, type IsolateCpu, type IsolateSamples } from "./cpu-profile";

interface HeapUsage {
  totalSize: number;
  backingStorageSize?: number;
}

/** The global src/db/query-counter.ts counts in (its COUNTER_GLOBAL). */
const D1_COUNTER = "__wharfBenchD1Queries";

/**
 * 10 ms between samples. Each isolate's profiler signals workerd's one thread at that rate:
 * measured here, profiling ~25 isolates at V8's default 1 ms added 60% to workerd's CPU over a
 * 64 MiB push and pull, so much that it would inflate the very CPU it shares out. Phases are
 * seconds long (hundreds of samples). The request rates of workload 4 are timed unprofiled, and
 * profiled in a pass of their own.
 */
export const SAMPLING_INTERVAL_US = 10_000;

/**
 * The Worker's own isolate is sampled every 1 ms: one profiler more at that rate costs little, and
 * its CPU is read from its sample count (bench/lib/cpu-profile.ts), which at 10 ms left a 256 MiB
 * push with ~30 samples.
 */
export const WORKER_SAMPLING_INTERVAL_US = 1_000;

/**
 * Isolates no registry request reaches (the UI's assets worker, Miniflare's own control and
 * e-mail workers, R2's public-bucket server): not profiled, each profiler costs the thread.
 */
const IDLE_ISOLATES = /^(assets:|core:user:wharf-ui$|email:|MINIFLARE_DEV_CONTROL$|r2:public$)/;

export interface ProfileOptions {
  intervalMicros?: number;
  othersIntervalMicros?: number;
  top?: number;
}

export interface IsolateProbe {
  /** V8 heap reserved plus ArrayBuffer backing stores, in bytes. */
  bytes(): Promise<number>;
  /** D1 statements the Worker prepared so far: always 0 unless Wharf runs with BENCH_COUNT_D1=true. */
  d1Queries(): Promise<number>;
  /**
   * Starts CPU profiles of every isolate; `stop` ends them and returns the Worker's share, split by
   * whose code ran. `intervalMicros` (the Worker's, default {@link WORKER_SAMPLING_INTERVAL_US}),
   * `othersIntervalMicros` (default {@link SAMPLING_INTERVAL_US}) and `top` (functions listed,
   * default 8) are for closer looks (bench/push-profile.ts).
   */
  profile(options?: ProfileOptions): Promise<{ stop(): Promise<IsolateCpu> }>;
  close(): void;
}

/** One inspector connection: commands answered by id, events handed to `onEvent`. */
async function inspect(url: string, onEvent: (method: string, params: any) => void = () => {}) {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error(`cannot open ${url}`)));
  });
  let next = 1;
  const waiting = new Map<number, { resolve: (result: any) => void; reject: (err: Error) => void }>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as {
      id?: number;
      method?: string;
      params?: any;
      result?: unknown;
      error?: { message: string };
    };
    if (message.method) onEvent(message.method, message.params);
    if (message.id === undefined) return;
    const waiter = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error) waiter?.reject(new Error(`inspector: ${message.error.message}`));
    else waiter?.resolve(message.result);
  });
  const send = <T>(method: string, params: object = {}): Promise<T> => {
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  };
  return { send, close: () => ws.close() };
}
type Inspector = Awaited<ReturnType<typeof inspect>>;

async function startProfile(
  inspector: Inspector,
  interval: number,
  topCount: number,
): Promise<() => Promise<IsolateSamples>> {
  await inspector.send("Profiler.setSamplingInterval", { interval });
  await inspector.send("Profiler.start");
  return async () => splitProfile((await inspector.send<{ profile: CpuProfile }>("Profiler.stop")).profile, topCount);
}

/**
 * Connects to the isolate of the worker named `worker` on workerd's inspector at `port`, and to
 * every other isolate there (the simulators'), which CPU profiles need beside it.
 */
export async function probeIsolate(port: number, worker: string): Promise<IsolateProbe> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
    id: string;
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.find((t) => t.id === `core:user:${worker}`);
  if (!target) throw new Error(`no isolate core:user:${worker} among ${targets.map((t) => t.id).join(", ")}`);
  let workerContext: string | undefined;
  const main = await inspect(target.webSocketDebuggerUrl, (method, params) => {
    // workerd has no default context for Runtime.evaluate: the Worker's is named in this event.
    if (method === "Runtime.executionContextCreated" && params?.context?.name === "Worker")
      workerContext = params.context.uniqueId;
  });
  const profiled = targets.filter((t) => t !== target && !IDLE_ISOLATES.test(t.id));
  const others = await Promise.all(profiled.map((t) => inspect(t.webSocketDebuggerUrl)));
  for (const inspector of [main, ...others]) await inspector.send("Profiler.enable");
  await main.send("Runtime.enable");
  let profiling = false;
  return {
    async bytes() {
      const usage = await main.send<HeapUsage>("Runtime.getHeapUsage");
      return usage.totalSize + (usage.backingStorageSize ?? 0);
    },
    async d1Queries() {
      const { result } = await main.send<{ result: { type: string; value?: unknown } }>("Runtime.evaluate", {
        expression: `globalThis.${D1_COUNTER} ?? 0`,
        uniqueContextId: workerContext,
        returnByValue: true,
      });
      if (typeof result.value !== "number") throw new Error(`inspector: ${D1_COUNTER} is ${result.type}`);
      return result.value;
    },
    async profile({
      intervalMicros = WORKER_SAMPLING_INTERVAL_US,
      othersIntervalMicros = SAMPLING_INTERVAL_US,
      top = 8,
    }: ProfileOptions = {}) {
      // One profile at a time per isolate: V8 would fold a second into the first.
      if (profiling) throw new Error("the isolate is already being profiled");
      profiling = true;
      const stops = await Promise.all([
        startProfile(main, intervalMicros, top),
        ...others.map((i) => startProfile(i, othersIntervalMicros, top)),
      ]);
      let stopped: Promise<IsolateCpu> | undefined;
      // Idempotent: a caller may stop it again after a failure.
      const stop = async () => {
        try {
          const [mine, ...rest] = await Promise.all(stops.map((s) => s()));
          return isolateShare(mine!, rest, { workerMicros: intervalMicros, othersMicros: othersIntervalMicros });
        } finally {
          profiling = false;
        }
      };
      return { stop: () => (stopped ??= stop()) };
    },
    close: () => {
      for (const inspector of [main, ...others]) inspector.close();
    },
  };
}
