// CPU profile of a running Wharf, per workerd isolate, to see where request time goes: our Worker
// or the local simulators (D1, R2, Durable Objects) that share workerd's thread with it.
//
//   WHARF_INSPECTOR_PORT=9229 npm start        # in one shell
//   npx tsx bench/profile.ts 9229 15           # then drive load during the 15 s it samples
//
// Prints, per isolate, the sampled busy time and the functions with the most self time.
export {};
interface Target {
  id: string;
  title: string;
  webSocketDebuggerUrl: string;
}
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [portArg, secondsArg, topArg] = process.argv.slice(2);
const port = Number(portArg ?? 9229);
const seconds = Number(secondsArg ?? 10);
const top = Number(topArg ?? 12);

function session(url: string) {
  const ws = new WebSocket(url);
  let next = 1;
  const pending = new Map<number, (value: unknown) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error(`cannot open ${url}`)));
  });
  const send = async (method: string, params: object = {}): Promise<unknown> => {
    await opened;
    const id = next++;
    ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve) => pending.set(id, resolve));
  };
  return { send, close: () => ws.close() };
}

function summarize(title: string, profile: Profile): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = byId.get(profile.samples[i]!)!.callFrame;
    const micros = profile.timeDeltas[i] ?? 0;
    if (frame.functionName === "(idle)" || frame.functionName === "(program)") continue;
    busy += micros;
    const file = frame.url.split("/").slice(-2).join("/");
    const key = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + micros);
  }
  console.log(`\n## ${title}: ${(busy / 1e6).toFixed(2)} s sampled busy in ${seconds} s`);
  for (const [key, micros] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${(micros / 1e3).toFixed(0).padStart(8)} ms  ${((100 * micros) / Math.max(busy, 1)).toFixed(1).padStart(5)}%  ${key}`,
    );
  }
}

const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Target[];
const sessions = targets.map((target) => ({ target, inspector: session(target.webSocketDebuggerUrl) }));
for (const { inspector } of sessions) {
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: 200 });
  await inspector.send("Profiler.start");
}
console.log(`sampling ${sessions.length} isolate(s) for ${seconds} s: ${targets.map((t) => t.title).join(", ")}`);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
for (const { target, inspector } of sessions) {
  const { profile } = (await inspector.send("Profiler.stop")) as { profile: Profile };
  summarize(target.title, profile);
  inspector.close();
}
