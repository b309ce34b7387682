/**
 * The test env with bindings that record what the Worker asks of them: the SQL of every D1
 * statement prepared (on the binding or on a session it opened), every D1 session opened and with
 * what constraint or bookmark, every R2 call, every Durable Object stub asked for (the metrics'
 * and fair use's included), and every queue send (recorded, not sent). Requests made with it (worker.fetch(request, observed.env, ctx)) show
 * what one request costs.
 */
import { env } from "cloudflare:workers";

export interface Observed {
  env: Env;
  /** The SQL of each statement prepared on D1 (binding or session), in order. */
  d1: string[];
  /**
   * The same for the shards' bindings (`DB_SHARD_<n>` and their sessions: src/db/shards.ts),
   * each prefixed `s<n>: `; `d1` stays `DB`'s alone.
   */
  shardD1: string[];
  /** The size of each D1 batch sent (its statements are in `d1` too), in order. */
  d1Batches: number[];
  /** The argument of each `DB.withSession` call (`first-primary`, `first-unconstrained`, a bookmark). */
  sessions: (string | undefined)[];
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
    shardD1: [],
    d1Batches: [],
    sessions: [],
    r2: [],
    durableObjects: [],
    queued: [],
    queueCalls: [],
    reset() {
      observed.d1.length = 0;
      observed.shardD1.length = 0;
      observed.d1Batches.length = 0;
      observed.sessions.length = 0;
      observed.r2.length = 0;
      observed.durableObjects.length = 0;
      observed.queued.length = 0;
      observed.queueCalls.length = 0;
    },
  };
  // D1 binding and sessions alike: each statement prepared and each batch sent is recorded.
  function countingD1<T extends D1Database | D1DatabaseSession>(d1: T, shard = 0): T {
    return new Proxy(d1, {
      get(target, property) {
        if (property === "prepare")
          return (query: string) => {
            if (shard === 0) observed.d1.push(query);
            else observed.shardD1.push(`s${shard}: ${query}`);
            return target.prepare(query);
          };
        if (property === "batch")
          return (statements: D1PreparedStatement[]) => {
            if (shard === 0) observed.d1Batches.push(statements.length);
            return target.batch(statements);
          };
        if (property === "withSession")
          return (constraint?: string) => {
            if (shard === 0) observed.sessions.push(constraint);
            return countingD1((target as D1Database).withSession(constraint), shard);
          };
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }
  const DB = countingD1(base.DB);
  const shards = Object.fromEntries(
    Object.entries(base)
      .filter(([name]) => /^DB_SHARD_\d+$/.test(name))
      .map(([name, binding]) => [name, countingD1(binding as D1Database, Number(name.slice("DB_SHARD_".length)))]),
  );
  const BLOBS = recording(base.BLOBS, (method) => observed.r2.push(method));
  const namespaces = Object.fromEntries(
    (["REPOSITORY", "UPLOAD_SESSION", "LOGIN_LIMITER", "METRICS", "FAIR_USE"] as const).map((name) => [
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
  observed.env = { ...base, DB, ...shards, BLOBS, EVENTS, ...namespaces } as Env;
  return observed;
}

/** Whether a D1 statement only reads. */
export function isRead(sql: string): boolean {
  return /^\s*(select|with)\b/i.test(sql);
}
