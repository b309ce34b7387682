/** Registry operations over raw HTTP, and the two ways of timing reads: sequential and autocannon. */
import autocannon from "autocannon";
import { randomBytes } from "node:crypto";
import { MediaTypes, sha256 } from "../../test/e2e/helpers/oci-layout";
import type { RegistryLogin } from "../../test/e2e/helpers/registry-auth";
import type { Outcome, Sample, Sizes } from "./workload";

// Registries that want Docker token auth (Wharf), by origin; the reference runs without auth.
const logins = new Map<string, RegistryLogin>();

export function useLogin(login: RegistryLogin): void {
  logins.set(login.origin, login);
}

/**
 * The Authorization header a logged-in client sends to `url` (none for registries without auth):
 * the namespace owner's token for a repository, the owner of `as` for `_catalog`.
 */
export async function authHeaders(url: string, as?: string, actions?: string): Promise<Record<string, string>> {
  const login = logins.get(new URL(url).origin);
  return login ? { Authorization: await login.authorization(url, as, actions) } : {};
}

/** Sends one request, reads the whole answer, and throws unless the status is `expect`. */
export async function call(
  method: string,
  url: string,
  expect: number,
  init: { headers?: Record<string, string>; body?: Uint8Array; as?: string } = {},
) {
  const headers = { ...(await authHeaders(url, init.as)), ...init.headers };
  const res = await fetch(url, { method, headers, body: init.body });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== expect)
    throw new Error(`${method} ${url}: ${res.status}, wanted ${expect}: ${body.toString().slice(0, 300)}`);
  return { headers: res.headers, body };
}

/** Pushes `bytes` as a blob of `repo` (POST, then PUT ?digest=: every registry supports this pair). */
export async function pushBlob(base: string, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const started = await call("POST", `${base}/v2/${repo}/blobs/uploads/`, 202);
  const location = new URL(started.headers.get("Location")!, base);
  location.searchParams.set("digest", digest);
  await call("PUT", location.href, 201, { body: bytes, headers: { "Content-Type": "application/octet-stream" } });
  return digest;
}

/** A small image of fresh random bytes: one config, zero or one layer, and its manifest. */
export function tinyImage(withLayer = true) {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", nonce: randomBytes(8).toString("hex") }),
  );
  const layer = randomBytes(1024);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.manifest,
      config: { mediaType: MediaTypes.config, digest: sha256(config), size: config.length },
      layers: withLayer ? [{ mediaType: MediaTypes.layer, digest: sha256(layer), size: layer.length }] : [],
    }),
  );
  return {
    config,
    layer: withLayer ? layer : null,
    manifest,
    manifestDigest: sha256(manifest),
    layerDigest: sha256(layer),
  };
}
export type TinyImage = ReturnType<typeof tinyImage>;

export async function pushManifest(base: string, repo: string, reference: string, manifest: Uint8Array): Promise<void> {
  await call("PUT", `${base}/v2/${repo}/manifests/${reference}`, 201, {
    body: manifest,
    headers: { "Content-Type": MediaTypes.manifest },
  });
}

/** Pushes an image's blobs and then its manifest under `tag`. */
export async function pushImage(base: string, repo: string, tag: string, image: TinyImage): Promise<void> {
  await pushBlob(base, repo, image.config);
  if (image.layer) await pushBlob(base, repo, image.layer);
  await pushManifest(base, repo, tag, image.manifest);
}

/** Runs `task(0..count-1)` with at most `limit` in flight; the first failure stops it. */
export async function pool(limit: number, count: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      await task(next++).catch((err) => {
        failed = true;
        throw err;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

export const seconds = (sinceMs: number) => (performance.now() - sinceMs) / 1000;

/** Per-request times (ms) of sequential GETs, for `maxRequests` or `maxSeconds`, at least 5. */
export async function sequentialTimes(
  url: string,
  maxRequests: number,
  maxSeconds: number,
  headers: Record<string, string> = {},
) {
  headers = { ...(await authHeaders(url)), ...headers };
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxRequests && (times.length < 5 || seconds(start) < maxSeconds)) {
    const t = performance.now();
    await call("GET", url, 200, { headers });
    times.push(performance.now() - t);
  }
  return times;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface CannonResult {
  samples: Sample[];
  requests: number;
  non2xx: number;
  problems: string[];
}

/**
 * One autocannon run. Latency percentiles come from each response's own time: autocannon's
 * histogram has 1 ms resolution, too coarse for sub-millisecond answers.
 */
export async function cannon(
  label: string,
  url: string,
  connections: number,
  duration: number,
  options: { method?: "GET" | "HEAD"; headers?: Record<string, string> } = {},
): Promise<CannonResult> {
  const times: number[] = [];
  const config: autocannon.Options = {
    url,
    connections,
    duration,
    method: options.method ?? "GET",
    // A puller's token (pull alone, as `docker pull` asks): a token with push reads D1's primary
    // and never the cached pull facts (src/registry/pull-cache.ts), which is not what a pull pays.
    headers: { ...(await authHeaders(url, undefined, "pull")), ...options.headers },
    // autocannon's parser does not know a HEAD answer has no body and would wait for
    // Content-Length bytes; report "skip the body" from the headers callback, as Node's parser does.
    setupClient: options.method === "HEAD" ? skipBodies : undefined,
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(config, (err, res) => (err ? reject(err) : resolve(res)));
    instance.on("response", (_client, _status, _bytes, ms) => times.push(ms));
  });
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? NaN;
  const problems: string[] = [];
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0)
    problems.push(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  if (result.requests.total === 0) problems.push(`${label}: no request completed`);
  return {
    requests: result.requests.total,
    non2xx: result.non2xx,
    problems,
    samples: [
      {
        figure: `${label}: throughput`,
        unit: "req/s",
        value: result.requests.total / result.duration,
        better: "higher",
      },
      { figure: `${label}: p50`, unit: "ms", value: pct(50), better: "lower" },
      { figure: `${label}: p99`, unit: "ms", value: pct(99), better: "lower" },
    ],
  };
}

/** Collects a run's samples and autocannon results into one Outcome, with one non-2xx total. */
export function tally() {
  const samples: Sample[] = [];
  const problems: string[] = [];
  let requests = 0;
  let non2xx = 0;
  return {
    samples,
    /** Requests sent outside autocannon, so that CPU per request counts them too. */
    count(n: number) {
      requests += n;
    },
    add(result: CannonResult) {
      samples.push(...result.samples);
      problems.push(...result.problems);
      requests += result.requests;
      non2xx += result.non2xx;
    },
    outcome(): Outcome {
      const total: Sample = {
        figure: "non-2xx answers, all autocannon runs",
        unit: "count",
        value: non2xx,
        better: "lower",
      };
      return { samples: [...samples, total], requests, problems };
    },
  };
}

function skipBodies(client: any): void {
  const parser = client.parser;
  // The handler key of http-parser-js; autocannon assigns its handler after setupClient runs.
  const key = parser.constructor.kOnHeadersComplete;
  let handler: (info: unknown) => void = () => {};
  Object.defineProperty(parser, key, {
    get: () => (info: unknown) => {
      handler(info);
      return 1;
    },
    set: (fn) => {
      handler = fn;
    },
  });
}

export type Tally = ReturnType<typeof tally>;

/**
 * One page of a listing (tags/list, _catalog): checked once against `expect` (the names it
 * must hold), then timed sequentially (median) and under autocannon at c=16.
 */
export async function timeListing(
  runs: Tally,
  label: string,
  url: string,
  expect: (names: string[]) => boolean,
  sizes: Sizes,
  as?: string,
): Promise<string[]> {
  const headers = await authHeaders(url, as);
  const page = JSON.parse((await call("GET", url, 200, { headers })).body.toString()) as {
    tags?: string[];
    repositories?: string[];
  };
  const names = page.tags ?? page.repositories ?? [];
  if (!expect(names))
    throw new Error(`${label}: unexpected page ${JSON.stringify(names.slice(0, 3))}… (${names.length} names)`);
  const times = await sequentialTimes(url, sizes.sequentialRequests, sizes.sequentialSeconds, headers);
  runs.count(times.length + 1);
  runs.samples.push({ figure: `${label}: sequential, median`, unit: "ms", value: median(times), better: "lower" });
  runs.add(await cannon(`${label}, c=16`, url, 16, sizes.cannonSeconds, { headers }));
  return names;
}

/** `prefix` + `i` zero-padded to `width`: lexical order is numeric order. */
export const numbered = (prefix: string, i: number, width: number) => `${prefix}${String(i).padStart(width, "0")}`;
