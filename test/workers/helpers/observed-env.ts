/**
 * The test env with bindings that record what the Worker asks of them: the SQL of every D1
 * statement prepared, every R2 call, every Durable Object stub asked for, and every queue send
 * (recorded, not sent). Requests made with it (worker.fetch(request, observed.env, ctx)) show
 * what one request costs.
 */
import { env } from "cloudflare:workers";

export interface Observed {
  env: Env;
  /** The SQL of each statement prepared on D1, in order. */
  d1: string[];
  /** Each R2 call by method name (`get`, `head`, `put`, `list`, `delete`, …), in order. */
  r2: string[];
  /** Each Durable Object namespace call (`REPOSITORY.idFromName`, …), in order. */
  durableObjects: string[];
  /** The bodies of every message sent to EVENTS (send and sendBatch), and the calls made. */
  queued: unknown[];
  queueCalls: ("send" | "sendBatch")[];
  /** Forgets what was recorded so far. */
  reset(): void;
}

/** A proxy that records the name of every method called on `target`, passing the call through. */
function recording<T extends object>(target: T, record: (method: string) => void): T {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        record(String(property));
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}

export function observedEnv(base: Env = env): Observed {
  const observed: Observed = {
    env: base,
    d1: [],
    r2: [],
    durableObjects: [],
    queued: [],
    queueCalls: [],
    reset() {
      observed.d1.length = 0;
      observed.r2.length = 0;
      observed.durableObjects.length = 0;
      observed.queued.length = 0;
      observed.queueCalls.length = 0;
    },
  };
  const DB = new Proxy(base.DB, {
    get(target, property) {
      if (property === "prepare")
        return (query: string) => {
          observed.d1.push(query);
          return target.prepare(query);
        };
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const BLOBS = recording(base.BLOBS, (method) => observed.r2.push(method));
  const namespaces = Object.fromEntries(
    (["REPOSITORY", "UPLOAD_SESSION", "LOGIN_LIMITER"] as const).map((name) => [
      name,
      recording(base[name], (method) => observed.durableObjects.push(`${name}.${method}`)),
    ]),
  );
  const EVENTS = {
    async send(body: unknown) {
      observed.queueCalls.push("send");
      observed.queued.push(body);
    },
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      observed.queueCalls.push("sendBatch");
      for (const message of messages) observed.queued.push(message.body);
    },
  } as unknown as Queue;
  observed.env = { ...base, DB, BLOBS, EVENTS, ...namespaces } as Env;
  return observed;
}

/** Whether a D1 statement only reads. */
export function isRead(sql: string): boolean {
  return /^\s*(select|with)\b/i.test(sql);
}
