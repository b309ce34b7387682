/**
 * T2 of the cached pull facts (src/registry/pull-cache.ts says what is kept and why it is safe):
 * the Cache API, shared by the isolates of one data centre, and doing nothing on *.workers.dev.
 * Keys are synthetic URLs under a `.invalid` host (RFC 6761: never a real host, so no request can
 * collide) that also name the registry's own host, so two registries sharing a zone's cache never
 * answer each other's pulls. Entries carry their read time: the Cache API's max-age keeps the
 * wall clock, the reader checks the Worker's.
 */
import { clock } from "../lib/clock";
import { hex } from "../lib/encoding";

const EDGE_CACHE = "wharf-pull-facts";
const EDGE_ORIGIN = "https://pull-facts.wharf.invalid/v1";

export type FactKind = "link" | "manifest";

export function edgeUrl(deployment: string, kind: FactKind, name: string, digest: string): string {
  const parts = [deployment, kind, name, digest].map(encodeURIComponent);
  return `${EDGE_ORIGIN}/${parts.join("/")}`;
}

/** A fact as another isolate kept it, with the time its D1 read began. */
export async function readEdge<V>(url: string): Promise<{ value: V; readAt: number } | undefined> {
  const hit = await (await caches.open(EDGE_CACHE)).match(url);
  if (!hit) return undefined;
  const body = (await hit.json().catch(() => null)) as { readAt?: unknown; value?: V } | null;
  if (!body || typeof body.readAt !== "number" || body.value === undefined) return undefined;
  return { value: body.value, readAt: body.readAt };
}

/** Kept for what is left of FACT_TTL since the read began (the reader checks that time too). */
export async function writeEdge(url: string, value: unknown, readAt: number, ttlMs: number): Promise<void> {
  const maxAge = Math.max(1, Math.floor((ttlMs - (clock.now() - readAt)) / 1000));
  const response = new Response(JSON.stringify({ readAt, value }), {
    headers: { "Content-Type": "application/json", "Cache-Control": `max-age=${maxAge}` },
  });
  await (await caches.open(EDGE_CACHE)).put(url, response);
}

/** Bytes under a digest never change: the entry only ever ends by age (FACT_TTL) or eviction. */
export function bytesUrl(deployment: string, digest: string): string {
  return `${EDGE_ORIGIN}/${encodeURIComponent(deployment)}/bytes/${encodeURIComponent(digest)}`;
}

/**
 * The bytes, only when they hash to `digest`: a pull must never serve other bytes, whatever else
 * may have written into the zone's cache (a manifest is at most 4 MiB; SHA-256 is native).
 */
export async function readEdgeBytes(url: string, digest: string): Promise<Uint8Array | undefined> {
  const hit = await (await caches.open(EDGE_CACHE)).match(url);
  if (!hit) return undefined;
  const bytes = new Uint8Array(await hit.arrayBuffer());
  const hash = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
  return `sha256:${hash}` === digest ? bytes : undefined;
}

export async function writeEdgeBytes(url: string, bytes: Uint8Array, ttlMs: number): Promise<void> {
  const response = new Response(bytes, {
    headers: { "Content-Type": "application/octet-stream", "Cache-Control": `max-age=${Math.floor(ttlMs / 1000)}` },
  });
  await (await caches.open(EDGE_CACHE)).put(url, response);
}

export async function deleteEdge(urls: string[]): Promise<void> {
  if (urls.length === 0) return;
  const cache = await caches.open(EDGE_CACHE);
  await Promise.all(urls.map((url) => cache.delete(url).catch(() => false)));
}
