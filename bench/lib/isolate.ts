/**
 * The memory of Wharf's own V8 isolate (the Worker and its Durable Objects), read through workerd's
 * inspector. Production caps an isolate at 128 MB; locally workerd's RSS also holds the D1, R2 and
 * Durable Object simulators, so the process figure alone cannot say whether the Worker fits.
 */
interface HeapUsage {
  totalSize: number;
  backingStorageSize?: number;
}

export interface IsolateProbe {
  /** V8 heap reserved plus ArrayBuffer backing stores, in bytes. */
  bytes(): Promise<number>;
  close(): void;
}

/** Connects to the isolate of the worker named `worker` on workerd's inspector at `port`. */
export async function probeIsolate(port: number, worker: string): Promise<IsolateProbe> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
    id: string;
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.find((t) => t.id === `core:user:${worker}`);
  if (!target) throw new Error(`no isolate core:user:${worker} among ${targets.map((t) => t.id).join(", ")}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error(`cannot open ${target.webSocketDebuggerUrl}`)));
  });
  let next = 1;
  const waiting = new Map<number, (usage: HeapUsage) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: HeapUsage };
    if (message.id !== undefined && message.result) waiting.get(message.id)?.(message.result);
    if (message.id !== undefined) waiting.delete(message.id);
  });
  return {
    async bytes() {
      const id = next++;
      const usage = await new Promise<HeapUsage>((resolve) => {
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ id, method: "Runtime.getHeapUsage" }));
      });
      return usage.totalSize + (usage.backingStorageSize ?? 0);
    },
    close: () => ws.close(),
  };
}
