/**
 * A dev-only count of the D1 statements the Worker prepares, for the bench's "D1 queries per
 * request" (bench/lib/isolate.ts). On only with BENCH_COUNT_D1=true (`npm start` takes it from its
 * environment): Miniflare's D1 simulator counts nothing, and what production pays per pull is
 * these round trips to D1's primary region (or a replica).
 *
 * The count is never served: no route, no header, no metric. It lives on the isolate's global
 * object, where only workerd's inspector (which production does not expose) reads it, by
 * `Runtime.evaluate` of {@link COUNTER_GLOBAL}.
 */

/** The global the bench reads through the inspector. */
export const COUNTER_GLOBAL = "__wharfBenchD1Queries";

type Counted = { [COUNTER_GLOBAL]?: number };

const count = () => {
  const global = globalThis as Counted;
  global[COUNTER_GLOBAL] = (global[COUNTER_GLOBAL] ?? 0) + 1;
};

// Drizzle prepares one statement per query it runs, and a batch is made of prepared statements,
// so counting `prepare` counts statements run (as test/workers/helpers/observed-env.ts does).
// Methods are bound to the real binding: workerd's D1 objects keep their state out of reach of a Proxy.
function counting<T extends object>(target: T): T {
  return new Proxy(target, {
    get(inner, property) {
      const value = Reflect.get(inner, property);
      if (property === "prepare")
        return (query: string) => {
          count();
          return (value as (q: string) => unknown).call(inner, query);
        };
      // A D1 session (the Sessions API) prepares statements of its own: counted the same way.
      if (property === "withSession")
        return (...args: unknown[]) => counting((value as (...a: unknown[]) => object).apply(inner, args));
      if (property === "exec")
        return (query: string) => {
          count();
          return (value as (q: string) => unknown).call(inner, query);
        };
      return typeof value === "function" ? value.bind(inner) : value;
    },
  });
}

// One counting env per env object and one counting binding per binding: the drizzle client
// (src/db/client.ts) is cached per binding, and the configuration (src/config.ts) per env.
const envs = new WeakMap<object, object>();

/** `env` with its DB binding counting every statement prepared on it. */
export function countD1Queries<E extends { DB: D1Database }>(env: E): E {
  let counted = envs.get(env) as E | undefined;
  if (!counted) {
    counted = { ...env, DB: counting(env.DB) };
    envs.set(env, counted);
  }
  return counted;
}
