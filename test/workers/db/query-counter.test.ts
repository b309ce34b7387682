/**
 * The bench's dev-only D1 statement count (src/db/query-counter.ts): every statement prepared on
 * the binding or on a session of it counts once; off unless BENCH_COUNT_D1=true, and never served.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { COUNTER_GLOBAL, countD1Queries } from "../../../src/db/query-counter";
import { BASE, OCI_MANIFEST, pushImage, registryToken, uniqueName } from "../helpers/registry";

const counted = () => (globalThis as Record<string, unknown>)[COUNTER_GLOBAL] as number | undefined;

async function manifestGet(bindings: Env, name: string, digest: string) {
  const token = await registryToken([{ type: "repository", name, actions: ["pull"] }], "tester");
  const res = await worker.fetch(
    new Request(`${BASE}/v2/${name}/manifests/${digest}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: OCI_MANIFEST },
    }) as Parameters<typeof worker.fetch>[0],
    bindings,
    createExecutionContext(),
  );
  await res.arrayBuffer();
  return res;
}

describe("D1 statement counter", () => {
  it("counts each statement prepared, batched, run through exec or a session", async () => {
    const DB = countD1Queries(env).DB;
    const start = counted() ?? 0;
    expect(await DB.prepare("select 1 as one").first("one")).toBe(1);
    expect(counted()).toBe(start + 1);
    await DB.batch([DB.prepare("select 1"), DB.prepare("select 2")]);
    expect(counted()).toBe(start + 3);
    await DB.exec("select 1");
    expect(counted()).toBe(start + 4);
    const session = DB.withSession("first-primary");
    await session.prepare("select 1").first();
    expect(counted()).toBe(start + 5);
    // The bare binding is untouched.
    await env.DB.prepare("select 1").first();
    expect(counted()).toBe(start + 5);
  });

  it("wraps each env once, so per-binding caches hold", () => {
    expect(countD1Queries(env)).toBe(countD1Queries(env));
    expect(countD1Queries(env).DB).toBe(countD1Queries(env).DB);
    expect(countD1Queries(env).BLOBS).toBe(env.BLOBS);
  });

  it("counts a request's statements only with BENCH_COUNT_D1=true, and puts nothing on the answer", async () => {
    const name = uniqueName("count");
    await pushImage(name, "1");
    const off = counted() ?? 0;
    // By tag: a pull by digest can be a cached fact, with no statement at all (src/registry/pull-cache.ts).
    const plain = await manifestGet(env, name, "1");
    expect(plain.status).toBe(200);
    expect(counted() ?? 0).toBe(off);
    const on = await manifestGet({ ...env, BENCH_COUNT_D1: "true" } as unknown as Env, name, "1");
    expect(on.status).toBe(200);
    expect(counted() ?? 0).toBeGreaterThan(off);
    expect([...on.headers.keys()]).toEqual([...plain.headers.keys()]);
  });
});
