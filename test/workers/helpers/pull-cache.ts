/**
 * Requests for the cached pull facts' tests (src/registry/pull-cache.ts): through the Worker with
 * observed bindings (./observed-env.ts), reporting what each request asked of D1 and R2.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../../../src/index";
import { factTtlMs } from "../../../src/registry/pull-cache";
import type { Observed } from "./observed-env";
import { OCI_MANIFEST, pushImage, registryToken, request } from "./registry";

export const FACT_TTL = factTtlMs(env);
export const accept = { Accept: OCI_MANIFEST };

/** A registry token granting `actions` on `name`. */
export const tokenFor = (name: string, actions: string[] = ["pull"]) =>
  registryToken([{ type: "repository", name, actions }], "tester");

/**
 * The D1 statements a request made for itself: fair use's overrides table is re-read in
 * `waitUntil` once per OVERRIDES_TTL_MS per isolate (src/fairuse/overrides.ts), and the directory
 * row saying where a namespace's core is once per DIRECTORY_CACHE_MS per isolate
 * (src/db/core-shards.ts), whichever request happens to come then; the tests move the clock past
 * both, so those reads are left out.
 */
const ownQueries = (d1: string[]) =>
  d1.filter((q) => !q.includes('"fair_use_overrides"') && !/\bnamespace_shards\b/.test(q));

/**
 * One request through the Worker with observed bindings; the body read to its end. `settle` waits
 * for its `waitUntil` work (the Cache API writes), which for a manifest GET includes the pull
 * count's batching (up to 10 s, src/registry/pull-counts.ts).
 */
export async function call(
  observed: Observed,
  method: string,
  path: string,
  token: string,
  headers = {},
  settle = false,
) {
  observed.reset();
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://registry.test${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...headers },
    }) as Parameters<typeof worker.fetch>[0],
    observed.env,
    ctx,
  );
  const body = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(body);
  if (settle) await waitOnExecutionContext(ctx);
  const code = res.status >= 400 && text ? (JSON.parse(text).errors?.[0]?.code ?? null) : null;
  return { status: res.status, code, body, d1: ownQueries(observed.d1), r2: [...observed.r2] };
}

/** A token from GET /v2/auth, as a client gets one: Basic credentials or anonymous. */
export async function authToken(scope: string, authorization?: string): Promise<string> {
  const res = await request("GET", `/v2/auth?service=registry.test&scope=${scope}`, {
    token: null,
    headers: authorization ? { Authorization: authorization } : {},
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

let serial = 0;
/** A fresh repository in `namespace` with one image: its manifest digest, layer and config. */
export async function image(namespace: string) {
  const name = `${namespace}/pc-${++serial}-${crypto.randomUUID().slice(0, 6)}`;
  const pushed = await pushImage(name, "v1");
  return { name, manifest: pushed.digest, layer: pushed.layers[0]!, config: pushed.config };
}
